// SPDX-License-Identifier: GPL-2.0

//! The hardware model of a software DMA engine: what `rust_dmaengine.rs`
//! has instead of registers and an interrupt line.
//!
//! None of this is part of the DMA-engine framework (`dmaengine/`), which a
//! driver for real hardware uses alone.  Per channel, a [`SoftChan`] (the
//! driver's [`Provider::ChanData`]) holds:
//!
//! - a work item on the system's unbound workqueue, the engine's "hardware"
//!   that moves the data ([`SoftEngine::engine_run`], queued by [`kick`]);
//! - an `irq_work`, its "interrupt line" ([`SoftEngine::irq`], hard IRQ
//!   context, raised by [`raise_irq`]);
//! - the driver's own per-channel state ([`SoftChan::ctl`]).
//!
//! and [`EngineRange`] is the engine's window on a client's DMA memory, as
//! a controller's descriptor holds bus addresses.
//!
//! A driver's `device_synchronize` part is [`synchronize`]: the work and
//! the interrupt are done, as `synchronize_irq()` would say of a real line.
//! The framework calls it again after the device is dead, so nothing of the
//! driver runs after its `Registration` is gone.
//!
//! C header: [`include/linux/irq_work.h`](srctree/include/linux/irq_work.h)

use crate::dmaengine::{
    bindings,
    provider::{
        Inner,
        Provider,
        VirtChan,
        VirtChanRef, //
    },
    DmaAddress, //
};
use core::{
    ptr::{
        self,
        NonNull, //
    },
    sync::atomic::{
        fence,
        AtomicBool,
        AtomicUsize,
        Ordering, //
    },
};
use kernel::{
    prelude::*,
    processor::cpu_relax,
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

/// A software engine: a [`Provider`] whose per-channel data is a
/// [`SoftChan`], with the two handlers of its simulated hardware.
pub trait SoftEngine: Provider<ChanData = SoftChan<Self, Self::Ctl>> {
    /// The driver's per-channel state outside the lock.
    type Ctl: Send + Sync;

    /// The engine's "hardware": runs in process context on the system's
    /// unbound workqueue after [`kick`].
    fn engine_run(chan: VirtChanRef<'_, Self>);

    /// The engine's "interrupt handler": runs in hard IRQ context after
    /// [`raise_irq`].
    fn irq(chan: VirtChanRef<'_, Self>);
}

/// The per-channel data of a [`SoftEngine`]: its work item, its interrupt
/// and the driver's state.
///
/// # Invariants
///
/// `irq` was set up by `init_irq_work` with `irq_trampoline::<P>`; a
/// `SoftChan<P, _>` only ever lives as the `data` of a `VirtChan<P>` (it is
/// made by [`SoftChan::new`], whose initialiser the framework runs in place).
///
/// Neither the work item nor the interrupt holds a reference to the
/// channel, as a `work_struct` and an IRQ handler embedded in a C driver's
/// channel do not: both are queued only through [`kick`] and [`raise_irq`],
/// under the lock of that very channel (they check that the locked state
/// they are shown is the channel's own), and neither does anything once the
/// channel is dead.  Channels are made by `Registration` alone, which holds
/// a reference to each until its drop marked them dead and then called
/// [`Provider::synchronize`] ([`synchronize`]: the work has returned, the
/// interrupt handler has run): a reference a driver kept longer can only
/// drop the channel after that, when neither can be pending.  The
/// `SoftChan`'s drop waits for both once more.
#[pin_data(PinnedDrop)]
pub struct SoftChan<P: SoftEngine, C> {
    #[pin]
    work: Work<VirtChan<P>>,
    #[pin]
    irq: Opaque<bindings::irq_work>,
    /// The driver's per-channel state.
    pub ctl: C,
}

// SAFETY: The work item and the irq_work are internally synchronised;
// `C` is `Send`.
unsafe impl<P: SoftEngine, C: Send> Send for SoftChan<P, C> {}
// SAFETY: As above; `C` is `Sync`.
unsafe impl<P: SoftEngine, C: Sync> Sync for SoftChan<P, C> {}

impl<P: SoftEngine> SoftChan<P, P::Ctl> {
    /// The initialiser of a channel's data, to return from the
    /// `chan_init` of `Registration::new`.
    pub fn new(ctl: P::Ctl) -> impl PinInit<Self, Error> {
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
impl<P: SoftEngine, C> PinnedDrop for SoftChan<P, C> {
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
            let data = kernel::container_of!(ptr, SoftChan<P, P::Ctl>, work);
            VirtChan::data_container_of(data).cast_mut()
        }
    }
}

impl<P: SoftEngine> WorkItem for VirtChan<P> {
    type Pointer = EngineWork<P>;

    fn run(this: EngineWork<P>) {
        // SAFETY: `this` came from `EngineWork::run`, which runs only while
        // the channel lives (`SoftChan`'s type invariant).
        P::engine_run(unsafe { ArcBorrow::from_raw(this.0.as_ptr()) });
    }
}

/// The engine's work item as the workqueue holds it: a borrowed channel,
/// not a reference count.  The kernel crate's `Arc<T>` work pointer would
/// take and drop a reference on every kick (measured in
/// Documentation/testing.rst); a C driver's embedded
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
/// Called by the irq_work core with the `irq` of a `SoftChan<P, _>`.
unsafe extern "C" fn irq_trampoline<P: SoftEngine>(w: *mut bindings::irq_work) {
    // CAST: `Opaque<T>` is `repr(transparent)` over `T`.
    let w = w.cast::<Opaque<bindings::irq_work>>();
    // SAFETY: `w` is the `irq` of the `SoftChan` data of a channel (type
    // invariant), which is alive: the `SoftChan`'s drop syncs the irq_work
    // before the channel's memory goes.
    let chan = unsafe {
        let data = kernel::container_of!(w, SoftChan<P, P::Ctl>, irq);
        ArcBorrow::from_raw(VirtChan::data_container_of(data))
    };
    P::irq(chan);
}

/// Queues the engine's work ([`SoftEngine::engine_run`]) of the channel
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
/// is: [`SoftEngine::irq`] runs soon in hard IRQ context.  Any context.
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

/// Software-engine access to the DMA range `[addr, addr + len)` of a
/// channel's device, as a DMA controller would have it: a window that the
/// engine copies into and out of, like bus addresses.
///
/// Translated and checked (it must lie in the linear map) once, so that
/// the bursts of a descriptor cost a bounds check each rather than an
/// address lookup.  Fails with `EFAULT` for an address the CPU cannot
/// reach.
///
/// # Safety
///
/// - `addr` and `len` come from a descriptor that a client prepared on
///   `chan` (the arguments of a `prep_*` call): the DMA-engine contract then
///   lets the engine use the memory until that descriptor completes, or,
///   once it is terminated, until `synchronize` returns.
/// - The returned range (and every copy of it) is accessed only while its
///   descriptor is submitted and not yet completed or terminated; after
///   `terminate_all` took it away, only until the driver calls
///   [`VirtChan::engine_stopped`], having called
///   [`VirtChan::engine_stopping`] in `terminate_all` if an access could
///   still come.
pub unsafe fn engine_range<P: Provider>(
    chan: &VirtChan<P>,
    addr: DmaAddress,
    len: usize,
) -> Result<EngineRange> {
    let dev = ptr::from_ref(chan.dev())
        .cast_mut()
        .cast::<bindings::device>();
    // SAFETY: `dev` is a live device (the channel holds a reference).
    let p = unsafe { bindings::rde_dma_range_to_virt(dev, addr, len) };
    let base = NonNull::new(p.cast::<u8>()).ok_or(EFAULT)?;
    // INVARIANT: `rde_dma_range_to_virt` checked that all `len` bytes at `p`
    // are in the linear map; the caller keeps to the time they may be used.
    Ok(EngineRange { base, len })
}

/// The two ranges of a copy of `len` bytes, from `src` to `dst`, as
/// [`engine_range`] makes each, in one call.
///
/// # Safety
///
/// As for [`engine_range`], for both ranges.
pub unsafe fn engine_pair<P: Provider>(
    chan: &VirtChan<P>,
    dst: DmaAddress,
    src: DmaAddress,
    len: usize,
) -> Result<EnginePair> {
    let dev = ptr::from_ref(chan.dev())
        .cast_mut()
        .cast::<bindings::device>();
    // SAFETY: `dev` is a live device (the channel holds a reference).
    let p = unsafe { bindings::rde_dma_pair_to_virt(dev, dst, src, len) };
    let (Some(dst), Some(src)) = (
        NonNull::new(p.dst.cast::<u8>()),
        NonNull::new(p.src.cast::<u8>()),
    ) else {
        return Err(EFAULT);
    };
    // INVARIANT: `rde_dma_pair_to_virt` checked that all `len` bytes at
    // `dst` and at `src` are in the linear map; the caller keeps to the time
    // they may be used.
    Ok(EnginePair { dst, src, len })
}

/// A DMA range of a channel's device as the software engine sees it; see
/// [`engine_range`].  Made when a descriptor is prepared and kept in
/// it, like the bus addresses a DMA controller's descriptor holds.
///
/// # Invariants
///
/// `base` is the linear-map address of `len` bytes of RAM that a client
/// handed to the channel for DMA, and accesses happen only within the time
/// that [`engine_range`]'s `# Safety` allows.
#[derive(Clone, Copy)]
pub struct EngineRange {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: An `EngineRange` is an address range, as a `DmaAddress` is; access
// goes through the bounds-checked methods, from whichever thread runs the
// engine.
unsafe impl Send for EngineRange {}
// SAFETY: As above.
unsafe impl Sync for EngineRange {}

impl EngineRange {
    /// The range's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A pointer to `n` bytes at `off`, or `EINVAL` if they are not all in
    /// the range.
    fn at(&self, off: usize, n: usize) -> Result<*mut u8> {
        match off.checked_add(n) {
            Some(end) if end <= self.len => {
                // SAFETY: `off + n <= len`: in bounds of the range (type
                // invariant).
                Ok(unsafe { self.base.as_ptr().add(off) })
            }
            _ => Err(EINVAL),
        }
    }

    /// Fills bytes `[off, end)` of this range with `value`, in bursts of at
    /// most `burst` bytes, as a DMA engine moves a descriptor: each burst
    /// through `gate` (which publishes the offset reached, and refuses the
    /// burst once a pause is asked), then `step(reached)` says whether to go
    /// on.  The bounds are checked once, before the first burst: `EINVAL`,
    /// with nothing written, unless `off <= end <= len` and `burst > 0`.
    /// Returns the offset reached.
    pub fn fill_bursts(
        &self,
        value: u8,
        off: usize,
        end: usize,
        burst: usize,
        gate: &BurstGate,
        step: impl FnMut(usize) -> bool,
    ) -> Result<usize> {
        let d = self.base.as_ptr();
        bursts(self.len, off, end, burst, gate, step, |o, n| {
            // SAFETY: `o + n <= end <= len` (`bursts`): in bounds of a range
            // a client handed over for DMA, accessed while it allows (type
            // invariant, `engine_range`).
            unsafe { ptr::write_bytes(d.add(o), value, n) }
        })
    }

    /// Writes `bytes` at `off`.
    pub fn write(&self, off: usize, bytes: &[u8]) -> Result {
        let d = self.at(off, bytes.len())?;
        // SAFETY: `d` is `bytes.len()` bytes in bounds of a range a client
        // handed over for DMA, accessed while it allows (type invariant,
        // `engine_range`); `bytes` is a distinct Rust slice.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), d, bytes.len()) };
        Ok(())
    }
}

/// Two [`EngineRange`]s of the same length, the destination and the source
/// of a copy ([`engine_pair`]): three words, where two ranges take
/// four, so that a driver's descriptor holding one stays small enough to
/// be moved without a call to `memcpy`.
///
/// # Invariants
///
/// `dst` and `src` are the bases of two [`EngineRange`]s of at least `len`
/// bytes each, with their invariants.
#[derive(Clone, Copy)]
pub struct EnginePair {
    dst: NonNull<u8>,
    src: NonNull<u8>,
    len: usize,
}

// SAFETY: As for `EngineRange`.
unsafe impl Send for EnginePair {}
// SAFETY: As above.
unsafe impl Sync for EnginePair {}

impl EnginePair {
    /// The length of the copy in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the copy is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies bytes `[off, end)` of the source to the same offsets of the
    /// destination, in bursts, as [`EngineRange::fill_bursts`] fills:
    /// `EINVAL`, with nothing copied, unless `off <= end <= len` and
    /// `burst > 0`.  Returns the offset reached.
    pub fn copy_bursts(
        &self,
        off: usize,
        end: usize,
        burst: usize,
        gate: &BurstGate,
        step: impl FnMut(usize) -> bool,
    ) -> Result<usize> {
        let (d, s) = (self.dst.as_ptr(), self.src.as_ptr());
        bursts(self.len, off, end, burst, gate, step, |o, n| {
            // SAFETY: `o + n <= end <= len` (`bursts`), and both ranges hold
            // `len` bytes (type invariant): in bounds of ranges a client
            // handed over for DMA, accessed while it allows (`engine_range`).
            // `copy` (memmove), not `copy_nonoverlapping`: dmaengine forbids
            // overlapping memcpy, but soundness must not rest on every C
            // client obeying that.
            unsafe { ptr::copy(s.add(o).cast_const(), d.add(o), n) }
        })
    }
}

/// The burst loop of `fill_bursts` and `copy_bursts`: checks
/// `off <= end <= len` and `burst > 0` once, then `mv(o, n)` moves `n > 0`
/// bytes at `o`, with `o + n <= end`, through `gate`, and `step` says
/// whether to go on.
fn bursts(
    len: usize,
    mut off: usize,
    end: usize,
    burst: usize,
    gate: &BurstGate,
    mut step: impl FnMut(usize) -> bool,
    mut mv: impl FnMut(usize, usize),
) -> Result<usize> {
    if off > end || end > len || burst == 0 {
        return Err(EINVAL);
    }
    while off < end {
        let n = burst.min(end - off);
        if !gate.burst(off + n, || mv(off, n)) {
            break;
        }
        off += n;
        if !step(off) {
            break;
        }
    }
    Ok(off)
}

/// A channel's burst status, as a controller has a "busy" bit and a
/// transfer count: the offset the active descriptor reached, published
/// after each burst (the residue), and the handshake that makes `pause`
/// synchronous (provider.rst: `device_pause` "should operate synchronously
/// on the channel").
///
/// Each burst moves with interrupts off, with `moving` set and `pausing`
/// read after a full barrier; [`BurstGate::pause`] sets `pausing` and,
/// after a full barrier, waits while `moving` is set.  The flags are Rust's
/// alone, so they are `core` atomics with `core` fences (a `SeqCst` fence
/// is `dmb ish` on arm, as `smp_mb()`, and inline, where the kernel crate's
/// barrier is a call).  Either the burst
/// sees the pause and does not move, or the pause sees the burst and waits
/// for it (the store-buffering pattern, which full barriers on both sides
/// forbid to miss both ways); a burst that ended is published (`Release`)
/// before `pause` returns (`Acquire`).  Interrupts off make the wait
/// finite in any context: a pause cannot interrupt, on the same CPU, the
/// burst it waits for, so it waits at most for one burst on another CPU.
#[derive(Default)]
pub struct BurstGate {
    /// Bytes of the active descriptor done (or of a cyclic buffer).
    pub progress: AtomicUsize,
    pausing: AtomicBool,
    moving: AtomicBool,
}

impl BurstGate {
    /// A gate with nothing done and no pause asked.
    pub const fn new() -> Self {
        Self {
            progress: AtomicUsize::new(0),
            pausing: AtomicBool::new(false),
            moving: AtomicBool::new(false),
        }
    }

    /// The engine: runs `mv` (one burst, which must not sleep) and
    /// publishes `reached` as the progress, unless a pause is asked; returns
    /// whether it did.
    #[inline]
    pub fn burst(&self, reached: usize, mv: impl FnOnce()) -> bool {
        // SAFETY: Restored below, on this CPU, before returning.
        let flags = unsafe { bindings::rde_local_irq_save() };
        self.moving.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let go = !self.pausing.load(Ordering::Relaxed);
        if go {
            mv();
            self.progress.store(reached, Ordering::Relaxed);
        }
        self.moving.store(false, Ordering::Release);
        // SAFETY: The flags saved above, on this CPU.
        unsafe { bindings::rde_local_irq_restore(flags) };
        go
    }

    /// The driver's `pause`: from now on no burst moves, and none is moving
    /// when this returns.  Any context; spins for at most one burst.
    pub fn pause(&self) {
        self.pausing.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        while self.moving.load(Ordering::Acquire) {
            cpu_relax();
        }
    }

    /// The driver's `resume` (or a terminate, which ends a pause): bursts
    /// may move again.
    pub fn unpause(&self) {
        self.pausing.store(false, Ordering::Relaxed);
    }

    /// Whether a pause is asked.
    pub fn is_paused(&self) -> bool {
        self.pausing.load(Ordering::Relaxed)
    }
}
