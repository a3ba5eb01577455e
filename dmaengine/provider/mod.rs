// SPDX-License-Identifier: GPL-2.0

//! DMA-engine providers: a [`Provider`] vtable, virtual channels ([`VirtChan`])
//! and a device [`Registration`] whose drop unregisters.
//!
//! # To implement a provider:
//!
//! 1. Describe a descriptor ([`Provider::Desc`]: addresses and length, or
//!    your hardware's program), the engine state the channel lock
//!    protects ([`Provider::Engine`]: what the hardware is doing), and the
//!    per-channel data outside the lock ([`Provider::ChanData`]: registers,
//!    work items).
//! 2. Declare what the hardware can do: the `prep_*` methods you
//!    implement set the capabilities; [`Provider::DIRECTIONS`],
//!    [`Provider::ADDR_WIDTHS`], [`Provider::MAX_BURST`] and
//!    [`Provider::RESIDUE_GRANULARITY`] are what `dma_get_slave_caps()`
//!    reports.
//!    For a peripheral's channels, the framework checks the client's
//!    `dmaengine_slave_config()` against those constants and keeps it:
//!    [`Provider::prep_slave_sg`] and [`Provider::prep_cyclic`] get the
//!    device side of their direction ([`DevSide`]), and are not called
//!    for a direction you did not declare or the client did not configure,
//!    nor with an empty list entry or a period that does not divide the
//!    buffer.
//! 3. `prep_*`: check the request and return the descriptor; never touch
//!    the hardware (a prepared descriptor may never be submitted).
//! 4. `issue_pending`: call [`Inner::issue_pending`] and, if the engine is
//!    idle, [`Inner::start_next`] and start the hardware on it.
//! 5. Your interrupt handler: under [`VirtChan::lock`],
//!    [`Inner::complete_active`] (or `complete_active_with` for a failed
//!    transfer), start the next, then [`VirtChan::schedule_callbacks`].
//! 6. `terminate_all` (any context, must not sleep): stop the hardware; if
//!    it may still finish a transaction, call
//!    [`VirtChan::engine_stopping`] and, once it reports stopped,
//!    [`VirtChan::engine_stopped`] (`unsafe`: your word that it no longer
//!    touches memory).  The framework terminates the queue after you.
//! 7. `synchronize` (may sleep): wait for your interrupt handler
//!    (`synchronize_irq()`).  The framework then waits for the stop you
//!    announced, for the callbacks, and frees the terminated descriptors.
//! 8. In probe: request your interrupts, then [`Registration::new`] (or
//!    [`Registration::new_with_setup`], to hand the channels to those
//!    handlers before dmaengine sees them) with your module (`THIS_MODULE`:
//!    each channel a client holds pins it); keep the registration in your
//!    driver data: dropping it unregisters and stops every channel.
//!
//! A whole provider, with a client that terminates from its own callback:
//! `samples/rust/rust_dma_engine.rs`; a driver for real hardware, the ARM
//! PL330's: `drivers/dma/pl330_rust/`.
//!
//! ```ignore
//! struct MyDma;
//!
//! #[vtable]
//! impl Provider for MyDma {
//!     type Desc = Xfer; // your descriptor
//!     type Engine = Engine; // e.g. enum { Idle, Running, Stopping }
//!     type ChanData = MyRegs;
//!
//!     fn prep_memcpy(
//!         _: VirtChanRef<'_, Self>,
//!         dst: DmaAddress,
//!         src: DmaAddress,
//!         len: usize,
//!     ) -> Result<Xfer> {
//!         if len == 0 {
//!             return Err(EINVAL);
//!         }
//!         Ok(Xfer { dst, src, len })
//!     }
//!
//!     fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
//!         if g.issue_pending() && g.engine == Engine::Idle {
//!             if let Some(d) = g.start_next() {
//!                 chan.data().start(&d.data); // program the hardware
//!                 g.engine = Engine::Running;
//!             }
//!         }
//!     }
//!
//!     fn tx_status(_: VirtChanRef<'_, Self>, g: &Inner<Self>, cookie: Cookie) -> TxStatus {
//!         let residue = g.queue().find(cookie).map_or(0, |d| d.data.len);
//!         TxStatus { status: Status::InProgress, residue, in_flight_bytes: 0 }
//!     }
//!
//!     fn terminate_all(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) -> Result {
//!         if g.engine == Engine::Running {
//!             chan.data().stop(); // the hardware finishes its burst
//!             chan.engine_stopping();
//!             g.engine = Engine::Stopping;
//!         }
//!         Ok(())
//!     }
//! }
//! ```
//!
//! # How it works
//!
//! A driver implements [`Provider`]; this module supplies every C callback as
//! a small trampoline that recovers the Rust channel and calls the trait
//! method, as `rust/kernel/block/mq` does for blk-mq.  Each channel carries
//! the machinery of `drivers/dma/virt-dma.c`:
//!
//! - a [`DescQueue`](super::queue::DescQueue) and the driver's engine
//!   state, together in one [`Inner`] behind the channel's lock: the lists
//!   cannot be touched without it;
//! - a tasklet or a BH work item ([`Dispatch`]) that invokes completion
//!   callbacks, one descriptor at a time and *without* the channel lock, so
//!   that a callback may call `dmaengine_terminate_async()` on its own
//!   channel;
//! - the driver's per-channel data, pinned, so that it may embed the kernel
//!   objects its hardware needs (work items, timers), which find their
//!   channel again through [`VirtChan::data_container_of`];
//! - a [`Completion`](kernel::sync::Completion) that the
//!   driver re-arms in `terminate_all` while its engine may still touch memory
//!   ([`VirtChan::engine_stopping`]) and completes when the engine has really
//!   stopped ([`VirtChan::engine_stopped`], `unsafe`: it is the driver's word
//!   about its hardware).  The framework's `device_synchronize` always waits
//!   for it, then for callbacks, so a driver cannot skip the wait in safe code.
//!
//! # Contexts and lock order
//!
//! | callback | context | may sleep |
//! |---|---|---|
//! | `prep_*`, `tx_submit`, `issue_pending`, `tx_status` | any, incl. hard IRQ and callbacks | no |
//! | `pause`, `resume`, `terminate_all` | any, incl. hard IRQ and callbacks | no |
//! | `slave_config` | any | no |
//! | `synchronize`, `alloc/free_chan_resources` | process | yes |
//! | callbacks (tasklet or BH work, see [`Dispatch`]) | softirq, channel lock *not* held | no |
//!
//! The framework knows nothing of the driver's hardware: its interrupt
//! handler, its registers, or, for a software engine, its worker.  Lock
//! order: channel lock, then the completion's internal lock.  No other
//! lock is taken under the channel lock, and callbacks run with no lock of
//! ours held.
//!
//! C header: [`include/linux/dmaengine.h`](srctree/include/linux/dmaengine.h)
//!
//! Reference: <https://docs.kernel.org/driver-api/dmaengine/provider.html>

use super::{
    queue::Cookie,
    Direction,
    DmaAddress,
    ResidueGranularity,
    Status, //
};
use kernel::{
    prelude::*,
    sync::ArcBorrow, //
};

mod chan;
mod desc;
mod inner;
mod ops;
mod registration;

pub use chan::{
    ChanGuard,
    VirtChan, //
};
pub use desc::Desc;
pub use inner::Inner;
pub use registration::Registration;

/// Descriptors a channel keeps, once called back, for later preps
/// (`VirtChan::recycle`): a client's deep queue of up to this many
/// transfers allocates none once it has run.  pl330.c's pool grows
/// without a bound; this one is bounded, and freed when the client lets go
/// of the channel.
const SPARES: usize = 32;

// For providers, with the rest of what they implement.
pub use super::{
    DevSide,
    SlaveConfig, //
};

/// A borrowed reference to a channel that lives in an [`Arc`](kernel::sync::Arc):
/// what every [`Provider`] method gets.  It derefs to the [`VirtChan`], and
/// turns into an `Arc` for work that outlives the call (a work item that
/// runs the engine, say).
pub type VirtChanRef<'a, P> = ArcBorrow<'a, VirtChan<P>>;

/// One entry of a slave transfer's scatter-gather list, as the client
/// mapped it: the memory side of the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SgEntry {
    /// Bus address of the entry (`sg_dma_address()`).
    pub addr: DmaAddress,
    /// Its length in bytes (`sg_dma_len()`), never 0.
    pub len: u32,
}

/// How a device's channels dispatch completion callbacks, chosen at
/// registration ([`Registration::with_dispatch`]).
///
/// Either way callbacks run in softirq context, on the CPU that scheduled
/// the dispatch (the engine's "interrupt"), never in the submitter's
/// context, one at a time per channel, and `synchronize` waits for them.
/// A tasklet costs less per dispatch; a BH work item goes through the
/// workqueue core, which tasklets are being retired for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dispatch {
    /// A tasklet, as `virt-dma` and most upstream DMA drivers use: the
    /// design's default.
    #[default]
    Tasklet,
    /// A work item on the BH workqueue, `system_bh_wq`.
    Bh,
}

impl Dispatch {
    /// The name of each choice, as a module parameter spells it.
    pub const NAMES: &'static str = "tasklet, bh";

    /// Parses `tasklet` or `bh`.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"tasklet" => Some(Self::Tasklet),
            b"bh" => Some(Self::Bh),
            _ => None,
        }
    }

    /// The name, as [`Dispatch::from_name`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tasklet => "tasklet",
            Self::Bh => "bh",
        }
    }
}

/// What `tx_status` reports.
#[derive(Clone, Copy, Debug)]
pub struct TxStatus {
    /// The state of the transaction.
    pub status: Status,
    /// Bytes not yet transferred.
    pub residue: u32,
    /// Of those, bytes the engine has read but not yet written (held in
    /// its FIFO), where the driver knows it; 0 otherwise.
    pub in_flight_bytes: u32,
}

/// The operations of a DMA-engine provider.
///
/// Every method gets the channel it is called for.  The context each may be
/// called in is listed in the [module documentation](self).
#[vtable]
pub trait Provider: Sized + Send + Sync + 'static {
    /// The driver's part of each descriptor (addresses, length, progress).
    type Desc: Send + Sync;
    /// Engine state, kept under the channel lock together with the queue.
    type Engine: Send + Unpin;
    /// Per-channel data outside the lock (configuration, the channel's
    /// hardware), pinned inside the channel.
    type ChanData: Send + Sync;

    /// The directions its transfers take (`dma_device.directions`, which
    /// `dma_get_slave_caps()` reports): memory to memory for a driver
    /// with only memcpy or memset, the device directions only where it
    /// has slave or cyclic transfers.
    const DIRECTIONS: &'static [Direction] = &[Direction::MemToMem];
    /// The device bus widths in bytes (1, 2, 4, 8...) its slave
    /// configuration accepts (`src_addr_widths`, `dst_addr_widths`); none
    /// for a driver without slave transfers.
    const ADDR_WIDTHS: &'static [u32] = &[];
    /// The largest burst, in words, of a slave transfer (`max_burst`; 0:
    /// not stated).
    const MAX_BURST: u32 = 0;
    /// How finely `tx_status` reports the residue of a transfer in
    /// progress.
    const RESIDUE_GRANULARITY: ResidueGranularity = ResidueGranularity::Descriptor;

    /// Prepares a memory-to-memory copy.
    fn prep_memcpy(
        _chan: VirtChanRef<'_, Self>,
        _dst: DmaAddress,
        _src: DmaAddress,
        _len: usize,
    ) -> Result<Self::Desc> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Prepares filling `len` bytes at `dst` with `value`.
    fn prep_memset(
        _chan: VirtChanRef<'_, Self>,
        _dst: DmaAddress,
        _value: u8,
        _len: usize,
    ) -> Result<Self::Desc> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Prepares a cyclic transfer over `buf`, with a callback per period,
    /// between memory and the device FIFO `dev`.
    ///
    /// The framework checked the request first: `dir` is a device direction
    /// the driver declared, `period_len` is not 0 and divides `buf_len`, and
    /// `dev` is complete (see [`DevSide`]).
    fn prep_cyclic(
        _chan: VirtChanRef<'_, Self>,
        _buf: DmaAddress,
        _buf_len: usize,
        _period_len: usize,
        _dir: Direction,
        _dev: DevSide,
    ) -> Result<Self::Desc> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Prepares a slave transfer between the memory of `sgl` and the device
    /// FIFO `dev` (`device_prep_slave_sg`).
    ///
    /// The framework checked the request first: `dir` is a device direction
    /// the driver declared, `sgl` is not empty and has no empty entry, and
    /// `dev` is complete (see [`DevSide`]).  `sgl` is a copy of the client's
    /// list, which the descriptor may keep: it holds bus addresses, which
    /// only the hardware dereferences, and the client keeps the memory
    /// mapped until the transfer is terminated and synchronized.
    fn prep_slave_sg(
        _chan: VirtChanRef<'_, Self>,
        _sgl: KVec<SgEntry>,
        _dir: Direction,
        _dev: DevSide,
    ) -> Result<Self::Desc> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Applies a slave configuration, which the framework checked against
    /// [`Provider::DIRECTIONS`], [`Provider::ADDR_WIDTHS`] and
    /// [`Provider::MAX_BURST`] and keeps for the channel's `prep_*` (they
    /// get its [`DevSide`]).  For a driver that must check more, or program
    /// its hardware at once.
    fn slave_config(_chan: VirtChanRef<'_, Self>, _cfg: &SlaveConfig) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Starts the engine on issued descriptors, if it is idle.
    ///
    /// Called under the channel lock, which the framework takes once for
    /// its own check (the device is not going away) and this, as a C
    /// driver's `device_issue_pending` takes `vc.lock` once.
    fn issue_pending(chan: VirtChanRef<'_, Self>, inner: &mut Inner<Self>);

    /// The status and residue of `cookie`, which is not complete yet.
    ///
    /// Called under the channel lock, which the framework takes once for
    /// the cookie check and this; complete cookies never get here (like
    /// `dma_cookie_status()` first in a C driver's `device_tx_status`).
    fn tx_status(chan: VirtChanRef<'_, Self>, inner: &Inner<Self>, cookie: Cookie) -> TxStatus;

    /// Pauses the channel between bursts.
    fn pause(_chan: VirtChanRef<'_, Self>) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Resumes a paused channel.
    fn resume(_chan: VirtChanRef<'_, Self>) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Stops the engine, under the channel lock.  Must not sleep; may
    /// return before the engine has stopped, after calling
    /// [`VirtChan::engine_stopping`] if it may still touch memory.
    ///
    /// The framework then moves every descriptor that is not done to
    /// `terminated` and forgets pending cyclic periods, so no callback of
    /// them runs.
    fn terminate_all(chan: VirtChanRef<'_, Self>, inner: &mut Inner<Self>) -> Result;

    /// The driver's part of `device_synchronize`, called first, in process
    /// context (may sleep): wait until its interrupt handler is not running
    /// (`synchronize_irq()` in a C driver) and whatever else its hardware
    /// needs.  The framework then waits for [`VirtChan::engine_stopped`]
    /// and for the callbacks, and frees the terminated descriptors; none of
    /// that can be skipped.
    fn synchronize(_chan: VirtChanRef<'_, Self>) {}

    /// The index of the channel that a device-tree request names: the
    /// cells `args` after the controller's phandle in a client's
    /// `dmas = <&dma ...>`, for a controller with `#dma-cells` of their
    /// number.  The default takes one cell, the channel's index; a driver
    /// whose cells name a request line instead picks a channel for it here
    /// (of `nr_chans`).  An `Err` refuses the request, with a message.
    ///
    /// Called, in process context, only for a device with a device-tree
    /// node, which the registration registers as a DMA controller.
    fn of_xlate(args: &[u32], nr_chans: u32) -> Result<u32> {
        match args {
            [index] if *index < nr_chans => Ok(*index),
            _ => Err(EINVAL),
        }
    }

    /// Whether `chan`, the channel [`Provider::of_xlate`] picked for a
    /// device-tree request (`args`, its cells), may serve it: a driver
    /// whose channels are not alike (some with a peripheral request line,
    /// some without) refuses here, with a message that names the request
    /// and says why, before the channel is taken for the client.
    ///
    /// Called in process context, as [`Provider::of_xlate`].
    fn of_check(_chan: VirtChanRef<'_, Self>, _args: &[u32]) -> Result {
        Ok(())
    }

    /// Called when a client takes the channel.
    fn alloc_chan_resources(_chan: VirtChanRef<'_, Self>) -> Result {
        Ok(())
    }

    /// Called when the client releases the channel, after the abstraction
    /// has terminated, synchronized and freed every descriptor.
    fn free_chan_resources(_chan: VirtChanRef<'_, Self>) {}
}
