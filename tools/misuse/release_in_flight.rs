// SPDX-License-Identifier: GPL-2.0

//! Misuse: releases the channel while a transfer is in flight.
//!
//! Built by scripts/gate-misuse, which requires the build to fail with the
//! error code on the EXPECT line (or to succeed for EXPECT: ok).

// EXPECT: E0505

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

    }
}

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
        let terminated = flight.terminate_async();
        drop(ch);
        let finished = terminated.synchronize();
        pr_info!("{} callbacks\n", finished.state.n.load(Ordering::Relaxed));
        Ok(Misuse)
    }
}
