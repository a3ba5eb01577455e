// SPDX-License-Identifier: GPL-2.0

//! The correct use of the provider API.  scripts/gate/misuse builds it as
//! is (it must compile: the positive control) and once per line of `cases`
//! whose marker is `provider.rs:...`, with that line's misuse inserted (it
//! must then fail with the stated error).  Each misuse is one of the holes
//! that the soundness review found in safe code.

#[path = "../../dmaengine/mod.rs"]
pub mod dmaengine;
#[path = "../../soft/mod.rs"]
pub mod soft;

use dmaengine::{
    provider::{
        Inner,
        Provider,
        TxStatus, //
        VirtChan,
        VirtChanRef,
    },
    queue::{
        Cookie,
        ItemState,
        QueueItem, //
    },
    DmaAddress,
    Status, //
};
use kernel::{
    list::{
        impl_list_arc_safe,
        impl_list_item,
        ListLinks, //
    },
    prelude::*,
};
use soft::EngineRange;

module! {
    type: Misuse,
    name: "misuse",
    authors: ["rust-dmaengine developers"],
    description: "Compile-time check of the dmaengine provider API",
    license: "GPL",
}

struct Copy1 {
    dst: EngineRange,
    src: EngineRange,
}

struct Engine;

#[vtable]
impl Provider for Engine {
    type Desc = Copy1;
    type Engine = ();
    type ChanData = ();

    fn prep_memcpy(
        chan: VirtChanRef<'_, Self>,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
    ) -> Result<Copy1> {
        // SAFETY: The arguments of this prep call; the engine of this
        // example never runs.
        let dst = unsafe { soft::engine_range(&chan, dst, len) }?;
        // SAFETY: As above.
        let src = unsafe { soft::engine_range(&chan, src, len) }?;
        // MISUSE-PREP
        Ok(Copy1 { dst, src })
    }

    fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
        let _ = chan;
        g.issue_pending();
        // MISUSE-LOCKED
    }

    fn tx_status(_chan: VirtChanRef<'_, Self>, _inner: &Inner<Self>, _cookie: Cookie) -> TxStatus {
        TxStatus {
            status: Status::InProgress,
            residue: 0,
            in_flight_bytes: 0,
        }
    }

    fn terminate_all(chan: VirtChanRef<'_, Self>, _inner: &mut Inner<Self>) -> Result {
        chan.engine_stopping();
        // MISUSE-TERMINATE
        Ok(())
    }
}

/// A stray item: not a descriptor of any channel.
#[pin_data]
struct Stray {
    #[pin]
    links: ListLinks,
    st: ItemState,
}

impl_list_arc_safe! {
    impl ListArcSafe<0> for Stray { untracked; }
}
impl_list_item! {
    impl ListItem<0> for Stray { using ListLinks { self.links }; }
}

// SAFETY: `st` is the item's own field, the same on every call.
unsafe impl QueueItem for Stray {
    fn queue_state(&self) -> &ItemState {
        &self.st
    }
}

/// Another item type, for the case that implements `QueueItem` safely.
#[pin_data]
struct Stray2 {
    #[pin]
    links: ListLinks,
}

impl_list_arc_safe! {
    impl ListArcSafe<0> for Stray2 { untracked; }
}
impl_list_item! {
    impl ListItem<0> for Stray2 { using ListLinks { self.links }; }
}

// MISUSE-ITEM

struct Misuse;

impl kernel::Module for Misuse {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Misuse)
    }
}
