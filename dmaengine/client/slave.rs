// SPDX-License-Identifier: GPL-2.0

//! What a client of a peripheral's channel configures: the device side of
//! its slave and cyclic transfers.

use super::Channel;
use crate::dmaengine::{
    bindings,
    SlaveConfig, //
};
use kernel::prelude::*;

impl Channel {
    /// Configures the device side of the channel's slave and cyclic
    /// transfers (`dmaengine_slave_config()`), for the transfers prepared
    /// after it.  The provider refuses, with `EINVAL`, what its hardware
    /// cannot do.
    pub fn slave_config(&self, cfg: &SlaveConfig) -> Result {
        let mut raw = bindings::dma_slave_config::from(cfg);
        // SAFETY: By the type invariant the channel is held; `raw` is valid
        // for the call, which copies what it keeps.
        kernel::error::to_result(unsafe { bindings::dmaengine_slave_config(self.raw(), &mut raw) })
    }
}
