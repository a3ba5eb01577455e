// SPDX-License-Identifier: GPL-2.0

//! The correct use of the client API.  scripts/gate/misuse builds it as is
//! (it must compile: the positive control) and once per line of `cases`,
//! with that line's misuse inserted at its marker (it must then fail with
//! the stated error).

#[path = "../../dmaengine/mod.rs"]
pub mod dmaengine;

use core::sync::atomic::{
    AtomicU32,
    Ordering, //
};
use dmaengine::{
    client::{
        Callback,
        CallbackCtl,
        Channel,
        DmaBuf,
        Op, //
    },
    Cap,
};
use kernel::prelude::*;

module! {
    type: Misuse,
    name: "misuse",
    authors: ["rust-dmaengine developers"],
    description: "Compile-time check of the dmaengine client API",
    license: "GPL",
}

struct Counter {
    n: AtomicU32,
}

impl Callback for Counter {
    fn done(&self, _index: usize, ctl: &CallbackCtl<'_>) {
        self.n.fetch_add(1, Ordering::Relaxed);
        let _ = ctl.terminate_async();
        // MISUSE-CALLBACK
    }
}

// MISUSE-TOP

struct Misuse;

impl kernel::Module for Misuse {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut ch = Channel::request(Cap::Memcpy, None, None)?;
        let mut bufs = KVec::new();
        bufs.push(DmaBuf::new(64)?, GFP_KERNEL)?;
        bufs.push(DmaBuf::new(64)?, GFP_KERNEL)?;
        let op = Op::Memcpy {
            dst: 1,
            src: 0,
            offset: 0,
            len: 64,
        };
        let state = Counter {
            n: AtomicU32::new(0),
        };
        let flight = ch.submit(bufs, &[op], state)?;
        let terminated = flight.terminate_async().map_err(|(e, _)| e)?;
        // MISUSE-PROCESS
        let finished = terminated.synchronize();
        pr_info!("{} callbacks\n", finished.state.n.load(Ordering::Relaxed));
        Ok(Misuse)
    }
}
