// SPDX-License-Identifier: GPL-2.0

//! A software engine's channel plumbing: its work item (the "hardware")
//! and its irq_work (the "interrupt line").
//!
//! C header: [`include/linux/irq_work.h`](srctree/include/linux/irq_work.h)

use super::{
    bindings,
    engine,
    Ctl,
    SoftEngine, //
};
use crate::dmaengine::provider::{
    Inner,
    VirtChan, //
};
use core::ptr::{
    self,
    NonNull, //
};
use kernel::{
    prelude::*,
    sync::ArcBorrow,
    types::Opaque,
    workqueue::{
        self,
        HasWork,
        RawWorkItem,
        Work,
        WorkItem,
        WorkItemPointer, //
    },
};

/// The per-channel data of a [`SoftEngine`]: its work item, its interrupt
/// and the driver's state.
///
/// # Invariants
///
/// `irq` was set up by `init_irq_work` with `irq_trampoline::<P>`; a
/// `SoftChan<P>` only ever lives as the `data` of a `VirtChan<P>` (it is
/// made by [`SoftChan::new`], whose initialiser the framework runs in place).
///
/// Neither the work item nor the interrupt holds a reference to the
/// channel, as a `work_struct` and an IRQ handler embedded in a C driver's
/// channel do not: both are queued only through [`kick`] and [`raise_irq`],
/// under the lock of that very channel (they check that the locked state
/// they are shown is the channel's own), and neither does anything once the
/// channel is dead.  Channels are made by `Registration` alone, which holds
/// a reference to each until its drop marked them dead and then called
/// `Provider::synchronize` ([`synchronize`]: the work has returned, the
/// interrupt handler has run): a reference a driver kept longer can only
/// drop the channel after that, when neither can be pending.  The
/// `SoftChan`'s drop waits for both once more.
#[pin_data(PinnedDrop)]
pub struct SoftChan<P: SoftEngine> {
    #[pin]
    work: Work<VirtChan<P>>,
    #[pin]
    irq: Opaque<bindings::irq_work>,
    /// The engine's configuration and status registers.
    pub ctl: Ctl,
}

// SAFETY: The work item and the irq_work are internally synchronised;
// `C` is `Send`.
unsafe impl<P: SoftEngine> Send for SoftChan<P> {}
// SAFETY: As above; `C` is `Sync`.
unsafe impl<P: SoftEngine> Sync for SoftChan<P> {}

impl<P: SoftEngine> SoftChan<P> {
    /// The initialiser of a channel's data, to return from the
    /// `chan_init` of `Registration::new`.
    pub fn new(ctl: Ctl) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            work <- kernel::new_work!("rust_dmaengine::SoftChan::work"),
            // SAFETY: `slot` is valid for writes; `init_irq_work` initialises
            // it completely.
            irq <- Opaque::ffi_init(|slot| unsafe {
                bindings::rde_init_irq_work(slot, Some(irq_trampoline::<P>))
            }),
            ctl,
        })
    }
}

#[pinned_drop]
impl<P: SoftEngine> PinnedDrop for SoftChan<P> {
    fn drop(self: Pin<&mut Self>) {
        // Neither is pending by now (type invariant); make sure.
        // SAFETY: `work` was set up in `new` by `new_work!`.
        unsafe { bindings::cancel_work_sync(Work::raw_get(&self.work)) };
        // SAFETY: `irq` was set up in `new` (type invariant).
        unsafe { bindings::irq_work_sync(self.irq.get()) };
    }
}

// SAFETY: `raw_get_work` and `work_container_of` go from a channel to the
// `work` field of its `SoftChan` data and back: `VirtChan::raw_data` and
// `VirtChan::data_container_of` are inverses, and so are the field
// projection and `container_of!` on `work`.
unsafe impl<P: SoftEngine> HasWork<VirtChan<P>> for VirtChan<P> {
    /// # Safety
    ///
    /// As for [`HasWork::raw_get_work`].
    unsafe fn raw_get_work(ptr: *mut Self) -> *mut Work<VirtChan<P>> {
        // SAFETY: The caller promises that `ptr` is a valid channel; its
        // data is a `SoftChan` (`SoftEngine` bound).
        unsafe { ptr::addr_of!((*VirtChan::raw_data(ptr)).work).cast_mut() }
    }

    /// # Safety
    ///
    /// As for [`HasWork::work_container_of`].
    unsafe fn work_container_of(ptr: *mut Work<VirtChan<P>>) -> *mut Self {
        // SAFETY: The caller promises that `ptr` is the `work` field of the
        // `SoftChan` data of a channel.
        unsafe {
            let data = kernel::container_of!(ptr, SoftChan<P>, work);
            VirtChan::data_container_of(data).cast_mut()
        }
    }
}

impl<P: SoftEngine> WorkItem for VirtChan<P> {
    type Pointer = EngineWork<P>;

    fn run(this: EngineWork<P>) {
        // SAFETY: `this` came from `EngineWork::run`, which runs only while
        // the channel lives (`SoftChan`'s type invariant).
        engine::run::<P>(unsafe { ArcBorrow::from_raw(this.0.as_ptr()) });
    }
}

/// The engine's work item as the workqueue holds it: a borrowed channel,
/// not a reference count.  The kernel crate's `Arc<T>` work pointer would
/// take and drop a reference on every kick (Documentation/testing.rst
/// has the cost); a C driver's embedded
/// `work_struct` takes none either.  What keeps the channel alive until
/// the work has run is [`SoftChan`]'s type invariant.
///
/// Only [`kick`] makes one.
pub struct EngineWork<P: SoftEngine>(NonNull<VirtChan<P>>);

// SAFETY: An `EngineWork` is a pointer to a `VirtChan<P>`, which is `Sync`;
// the engine's handler runs on any worker.
unsafe impl<P: SoftEngine> Send for EngineWork<P> {}

// SAFETY: `__enqueue` passes the `work` field of the channel's `SoftChan`,
// which `SoftChan::new` initialised with `EngineWork::<P>::run` (through
// `new_work!` and `WorkItem for VirtChan<P>`); the channel, and so that
// field, stays valid until the work has run (`SoftChan`'s type invariant).
unsafe impl<P: SoftEngine> RawWorkItem<0> for EngineWork<P> {
    type EnqueueOutput = ();

    /// # Safety
    ///
    /// As for [`RawWorkItem::__enqueue`].
    unsafe fn __enqueue<F>(self, queue_work_on: F) -> Self::EnqueueOutput
    where
        F: FnOnce(*mut bindings::work_struct) -> bool,
    {
        // SAFETY: `self.0` is a live channel (made by `kick` from one).
        let work = unsafe { VirtChan::raw_get_work(self.0.as_ptr()) };
        // SAFETY: `work` is the initialised `work` field of that channel.
        // Already queued (`false`): the pending run serves this kick too.
        let _ = queue_work_on(unsafe { Work::raw_get(work) });
    }
}

// SAFETY: The only `work_struct` that `__enqueue` passes was initialised
// with this `run` (above).
unsafe impl<P: SoftEngine> WorkItemPointer<0> for EngineWork<P> {
    /// # Safety
    ///
    /// As for [`WorkItemPointer::run`].
    unsafe extern "C" fn run(ptr: *mut bindings::work_struct) {
        // CAST: `Work<T>` is `repr(transparent)` over `work_struct`.
        let ptr = ptr.cast::<Work<VirtChan<P>>>();
        // SAFETY: `ptr` is the `work` field of a channel's `SoftChan`
        // (`__enqueue`), and the channel is alive (`SoftChan`'s type
        // invariant).
        let chan = unsafe { VirtChan::work_container_of(ptr) };
        // SAFETY: As above, `chan` is valid and non-null.
        <VirtChan<P> as WorkItem>::run(EngineWork(unsafe { NonNull::new_unchecked(chan) }));
    }
}

/// The irq_work handler: the engine's "interrupt".
///
/// # Safety
///
/// Called by the irq_work core with the `irq` of a `SoftChan<P>`.
unsafe extern "C" fn irq_trampoline<P: SoftEngine>(w: *mut bindings::irq_work) {
    // CAST: `Opaque<T>` is `repr(transparent)` over `T`.
    let w = w.cast::<Opaque<bindings::irq_work>>();
    // SAFETY: `w` is the `irq` of the `SoftChan` data of a channel (type
    // invariant), which is alive: the `SoftChan`'s drop syncs the irq_work
    // before the channel's memory goes.
    let chan = unsafe {
        let data = kernel::container_of!(w, SoftChan<P>, irq);
        ArcBorrow::from_raw(VirtChan::<P>::data_container_of(data))
    };
    engine::irq::<P>(chan);
}

/// Queues the engine's work (the simulated hardware) of the channel
/// whose state `inner` is.  A kick while it is already queued is absorbed.
/// `inner` is the proof that the channel lock is held, and names the
/// channel (so that no other channel's death check can pass for it); on a
/// dead channel (its device is going away) nothing is queued.
pub fn kick<P: SoftEngine>(inner: &Inner<P>) {
    if inner.is_dead() {
        return;
    }
    let chan = inner.chan();
    // INVARIANT: `chan` is alive, and is not dropped before the work has
    // run (`SoftChan`'s type invariant).
    let w = EngineWork(NonNull::from(chan));
    workqueue::system_unbound().enqueue(w);
}

/// Raises the "interrupt" of the engine of the channel whose state `inner`
/// is: its interrupt handler runs soon in hard IRQ context.  Any context.
/// `inner` is the proof that the channel lock is held; on a dead channel
/// nothing is raised, as [`kick`] queues nothing, so that neither can be
/// pending once the `Registration` has flushed them (`SoftChan`'s type
/// invariant).
pub fn raise_irq<P: SoftEngine>(inner: &Inner<P>) {
    if inner.is_dead() {
        return;
    }
    let chan = inner.chan();
    // SAFETY: `irq` was set up in `SoftChan::new` (type invariant).
    unsafe { bindings::irq_work_queue(chan.data().irq.get()) };
}

/// The driver's part of `device_synchronize`: the engine's work has
/// returned and its interrupt handler is not running.  Sleeps.
pub fn synchronize<P: SoftEngine>(chan: &VirtChan<P>) {
    // SAFETY: `work` was set up in `SoftChan::new`.
    unsafe { bindings::flush_work(Work::raw_get(&chan.data().work)) };
    // SAFETY: `irq` was set up in `SoftChan::new` (type invariant).
    unsafe { bindings::irq_work_sync(chan.data().irq.get()) };
}
