// SPDX-License-Identifier: GPL-2.0

//! DMA-engine providers: a [`Provider`] vtable, virtual channels ([`VirtChan`])
//! and a device [`Registration`] whose drop unregisters.
//!
//! A driver implements [`Provider`]; this module supplies every C callback as
//! a small trampoline that recovers the Rust channel and calls the trait
//! method, as `rust/kernel/block/mq` does for blk-mq.  Each channel carries
//! the machinery of `drivers/dma/virt-dma.c`:
//!
//! - a [`DescQueue`] and the driver's engine state, together in one
//!   [`Inner`] behind the channel's `SpinLockIrq`: the lists cannot be touched
//!   without the lock;
//! - a [`Tasklet`] that invokes completion callbacks, one descriptor at a
//!   time and *without* the channel lock, so that a callback may call
//!   `dmaengine_terminate_async()` on its own channel;
//! - an `irq_work`, the "interrupt" of a software engine ([`Provider::irq`]),
//!   and a work item on the device's own workqueue, its "hardware"
//!   ([`Provider::engine_run`]);
//! - a [`ReusableCompletion`] that the driver re-arms in `terminate_all` while its
//!   engine may still touch memory ([`VirtChan::engine_stopping`]) and completes
//!   when the engine has really stopped ([`VirtChan::engine_stopped`], `unsafe`:
//!   it is the driver's word about its hardware).  The framework's
//!   `device_synchronize` always waits for it, then for callbacks, so a
//!   driver cannot skip the wait in safe code.
//!
//! # Contexts and lock order
//!
//! | callback | context | may sleep |
//! |---|---|---|
//! | `prep_*`, `tx_submit`, `issue_pending`, `tx_status`, `pause`, `resume`, `terminate_all` | any, incl. hard IRQ and callbacks | no |
//! | `slave_config` | any | no |
//! | `synchronize`, `alloc/free_chan_resources` | process | yes |
//! | [`Provider::irq`] | hard IRQ (irq_work) | no |
//! | callbacks (tasklet) | softirq, channel lock *not* held | no |
//! | [`Provider::engine_run`] | process (workqueue) | yes |
//!
//! Lock order: channel lock, then the completion's internal lock.  No other
//! lock is taken under the channel lock, and callbacks run with no lock of
//! ours held.
//!
//! C header: [`include/linux/dmaengine.h`](srctree/include/linux/dmaengine.h)
//!
//! Reference: <https://docs.kernel.org/driver-api/dmaengine/provider.html>

use super::{
    bindings,
    completion::ReusableCompletion,
    queue::{
        Cookie,
        Cookies,
        DescQueue,
        ItemState,
        QueueItem, //
    },
    tasklet::{
        impl_has_tasklet,
        HasTasklet,
        Tasklet,
        TaskletHandler, //
    },
    Cap,
    Direction,
    DmaAddress,
    Status, //
};
use core::{
    marker::PhantomPinned,
    mem::offset_of,
    mem::ManuallyDrop,
    ptr,
    sync::atomic::{
        AtomicBool,
        AtomicU64,
        Ordering, //
    },
};
use kernel::{
    device,
    list::{
        impl_list_arc_safe,
        impl_list_item,
        ListArc,
        ListLinks, //
    },
    new_spinlock_irq,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        ArcBorrow,
        SpinLockIrq, //
    },
    types::Opaque,
    workqueue::{
        self,
        impl_has_work,
        Work,
        WorkItem, //
    },
};

/// A borrowed reference to a channel that lives in an [`Arc`].
pub type VirtChanRef<'a, P> = ArcBorrow<'a, VirtChan<P>>;

/// Slave configuration (`struct dma_slave_config`), for slave and cyclic
/// transfers.
#[derive(Clone, Copy, Debug, Default)]
pub struct SlaveConfig {
    /// Device FIFO address for device-to-memory transfers.
    pub src_addr: DmaAddress,
    /// Device FIFO address for memory-to-device transfers.
    pub dst_addr: DmaAddress,
    /// Width of a source FIFO access, in bytes.
    pub src_addr_width: u32,
    /// Width of a destination FIFO access, in bytes.
    pub dst_addr_width: u32,
    /// Words per burst from the source.
    pub src_maxburst: u32,
    /// Words per burst to the destination.
    pub dst_maxburst: u32,
}

/// What `tx_status` reports.
#[derive(Clone, Copy, Debug)]
pub struct TxStatus {
    /// The state of the transaction.
    pub status: Status,
    /// Bytes not yet transferred.
    pub residue: u32,
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
    /// Per-channel data outside the lock (configuration).
    type ChanData: Send + Sync;

    /// Prepares a memory-to-memory copy.
    fn prep_memcpy(
        _chan: &VirtChan<Self>,
        _dst: DmaAddress,
        _src: DmaAddress,
        _len: usize,
    ) -> Result<Self::Desc> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Prepares filling `len` bytes at `dst` with `value`.
    fn prep_memset(
        _chan: &VirtChan<Self>,
        _dst: DmaAddress,
        _value: u8,
        _len: usize,
    ) -> Result<Self::Desc> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Prepares a cyclic transfer over `buf`, with a callback per period.
    fn prep_cyclic(
        _chan: &VirtChan<Self>,
        _buf: DmaAddress,
        _buf_len: usize,
        _period_len: usize,
        _dir: Direction,
    ) -> Result<Self::Desc> {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Applies a slave configuration.
    fn slave_config(_chan: &VirtChan<Self>, _cfg: &SlaveConfig) -> Result {
        kernel::build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Starts the engine on issued descriptors, if it is idle.
    fn issue_pending(chan: VirtChanRef<'_, Self>);

    /// The status and residue of `cookie`, which is not complete yet.
    ///
    /// Called under the channel lock, which the framework takes once for
    /// the cookie check and this; complete cookies never get here (like
    /// `dma_cookie_status()` first in a C driver's `device_tx_status`).
    fn tx_status(chan: &VirtChan<Self>, inner: &Inner<Self>, cookie: Cookie) -> TxStatus;

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
    fn terminate_all(chan: &VirtChan<Self>, inner: &mut Inner<Self>) -> Result;

    /// The driver's part of `device_synchronize`, called first, in process
    /// context (may sleep), e.g. to wait for a hardware thread to report
    /// that it stopped.  The framework then waits for
    /// [`VirtChan::engine_stopped`], for the interrupt handler and the callbacks,
    /// and frees the terminated descriptors; none of that can be skipped.
    fn synchronize(_chan: VirtChanRef<'_, Self>) {}

    /// Called when a client takes the channel.
    fn alloc_chan_resources(_chan: VirtChanRef<'_, Self>) -> Result {
        Ok(())
    }

    /// Called when the client releases the channel, after the abstraction
    /// has terminated, synchronized and freed every descriptor.
    fn free_chan_resources(_chan: VirtChanRef<'_, Self>) {}

    /// The engine's "hardware": runs in process context on the device's
    /// workqueue after [`VirtChan::kick`].
    fn engine_run(_chan: VirtChanRef<'_, Self>) {}

    /// The engine's "interrupt handler": runs in hard IRQ context after
    /// [`VirtChan::raise_irq`].
    fn irq(_chan: VirtChanRef<'_, Self>) {}
}

/// A descriptor: the C `struct dma_async_tx_descriptor` that clients see,
/// plus the driver's [`Provider::Desc`].
///
/// # Invariants
///
/// - `tx` was initialised by `dma_async_tx_descriptor_init` for the channel
///   that created it, with `tx_submit` = `tx_submit::<P>`.
/// - A `Desc` always lives in an `Arc` (it is created by `ListArc::pin_init`).
#[pin_data]
pub struct Desc<P: Provider> {
    #[pin]
    tx: Opaque<bindings::dma_async_tx_descriptor>,
    #[pin]
    links: ListLinks,
    st: ItemState,
    cyclic: bool,
    len: usize,
    /// The driver's part.
    pub data: P::Desc,
}

impl_list_arc_safe! {
    impl{P: Provider} ListArcSafe<0> for Desc<P> { untracked; }
}
impl_list_item! {
    impl{P: Provider} ListItem<0> for Desc<P> { using ListLinks { self.links }; }
}

// SAFETY: `st` is a field of the descriptor: the same for its whole life
// and its own.
unsafe impl<P: Provider> QueueItem for Desc<P> {
    fn queue_state(&self) -> &ItemState {
        &self.st
    }
}

// SAFETY: The C descriptor is written only while the `Desc` is private to
// one context (prep) or under the channel lock (`tx_submit`); `P::Desc` is
// `Send + Sync`.
unsafe impl<P: Provider> Send for Desc<P> {}
// SAFETY: As above; shared references only read the C descriptor.
unsafe impl<P: Provider> Sync for Desc<P> {}

impl<P: Provider> Desc<P> {
    /// The cookie assigned at submit.
    pub fn cookie(&self) -> Cookie {
        self.st.cookie()
    }

    /// Whether this is a cyclic descriptor.
    pub fn is_cyclic(&self) -> bool {
        self.cyclic
    }

    /// The transfer length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the transfer is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Invokes the client's callback, if it set one.
    fn invoke_callback(&self, result: bindings::dmaengine_tx_result, residue: u32) {
        let res = bindings::dmaengine_result { result, residue };
        // SAFETY: By the type invariant `tx` is initialised; the callback
        // fields were set by the client before submit and are not changed
        // after it.
        unsafe { bindings::rde_desc_callback_invoke(self.tx.get(), &res) };
    }
}

/// The state of a channel that the channel lock protects.
pub struct Inner<P: Provider> {
    /// The descriptor lists.
    pub queue: DescQueue<Desc<P>>,
    /// The driver's engine state.
    pub engine: P::Engine,
    periods: u32,
    /// Set when the `Registration` goes away: no new descriptor, no new
    /// engine work, no new client.
    dead: bool,
}

impl<P: Provider> Inner<P> {
    /// Records that a cyclic period elapsed: its callback is due.  Call
    /// [`VirtChan::schedule_callbacks`] afterwards.
    pub fn period_elapsed(&mut self) {
        self.periods = self.periods.saturating_add(1);
    }
}

/// A virtual DMA channel.
///
/// # Invariants
///
/// - `chan` is registered with `dev`'s `struct dma_device` while the
///   [`Registration`] that created this channel exists.
/// - A `VirtChan` lives in an `Arc`, created by [`Registration::new`], which
///   keeps one reference until after it unregistered the device and
///   quiesced the channel.
/// - `wq` is a live workqueue until the `Registration` destroys it, after
///   which no engine work is queued.
/// - `stopped` is not done while the engine may access memory of a
///   descriptor that `terminate_all` took away (see
///   [`VirtChan::engine_stopping`]).
#[pin_data(PinnedDrop)]
pub struct VirtChan<P: Provider> {
    #[pin]
    chan: Opaque<bindings::dma_chan>,
    #[pin]
    inner: SpinLockIrq<Inner<P>>,
    #[pin]
    bh: Tasklet<VirtChan<P>>,
    #[pin]
    irq: Opaque<bindings::irq_work>,
    #[pin]
    work: Work<VirtChan<P>>,
    #[pin]
    stopped: ReusableCompletion,
    /// A snapshot of the queue's cookies, written under the lock when they
    /// change (submit) and before callbacks run, so that `tx_status` can
    /// answer "complete" without the lock, as `dma_cookie_status()` does in
    /// C.  It may lag; then `tx_status` takes the lock.
    cookies_seen: AtomicU64,
    wq: *mut bindings::workqueue_struct,
    dev: ARef<device::Device>,
    index: u32,
    data: P::ChanData,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: Everything mutable is behind the lock or internally synchronised
// (tasklet, irq_work, work, completion); `wq` is only used to queue work,
// which is thread-safe.
unsafe impl<P: Provider> Send for VirtChan<P> {}
// SAFETY: As above.
unsafe impl<P: Provider> Sync for VirtChan<P> {}

impl_has_work! {
    impl{P: Provider} HasWork<VirtChan<P>> for VirtChan<P> { self.work }
}

impl<P: Provider> WorkItem for VirtChan<P> {
    type Pointer = Arc<VirtChan<P>>;

    fn run(this: Arc<VirtChan<P>>) {
        P::engine_run(this.as_arc_borrow());
    }
}

impl_has_tasklet! {
    // SAFETY: The drop rule: `VirtChan`'s `PinnedDrop` kills the tasklet
    // (`quiesce`) before any field is dropped, and the handler only borrows
    // the channel.
    unsafe impl{P: Provider} HasTasklet for VirtChan<P> { self.bh }
}

impl<P: Provider> TaskletHandler for VirtChan<P> {
    /// Callback dispatch: one completed descriptor at a time, lock dropped
    /// around each callback.  A callback that terminates the channel moves
    /// the remaining completed descriptors to `terminated`, so they never
    /// get their callbacks.
    ///
    /// The lock is not taken again just to find nothing left: a completion
    /// that arrives after the last look reschedules the tasklet, which then
    /// runs again.
    fn tasklet_run(&self) {
        loop {
            let (done, cyclic, more) = {
                let mut g = self.inner.lock();
                let done = g.queue.pop_completed();
                let cyclic = if done.is_none() && g.periods > 0 {
                    g.periods = 0;
                    g.queue.active_arc().filter(|d| d.is_cyclic())
                } else {
                    None
                };
                let more = g.queue.has_completed() || g.periods > 0;
                self.cookies_seen
                    .store(g.queue.cookies().to_bits(), Ordering::Release);
                (done, cyclic, more)
            };
            if let Some(d) = done {
                d.invoke_callback(bindings::dmaengine_tx_result_DMA_TRANS_NOERROR, 0);
                // `d` is dropped here: the descriptor is freed.
            } else if let Some(d) = cyclic {
                d.invoke_callback(bindings::dmaengine_tx_result_DMA_TRANS_NOERROR, 0);
            } else {
                break;
            }
            if !more {
                break;
            }
        }
    }
}

impl<P: Provider> VirtChan<P> {
    fn new(
        index: u32,
        wq: *mut bindings::workqueue_struct,
        dev: ARef<device::Device>,
        engine: P::Engine,
        data: P::ChanData,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            chan: Opaque::zeroed(),
            inner <- new_spinlock_irq!(
                Inner { queue: DescQueue::new(), engine, periods: 0, dead: false },
                "rust_dmaengine::VirtChan::inner"
            ),
            bh <- Tasklet::new(),
            // SAFETY: `slot` is valid for writes; `init_irq_work` initialises
            // it completely.
            irq <- Opaque::ffi_init(|slot| unsafe {
                bindings::rde_init_irq_work(slot, Some(Self::irq_trampoline))
            }),
            work <- kernel::new_work!("rust_dmaengine::VirtChan::work"),
            // The engine starts stopped.
            stopped <- ReusableCompletion::new_done(),
            cookies_seen: AtomicU64::new(Cookies::new().to_bits()),
            wq,
            dev,
            index,
            data,
            _pin: PhantomPinned,
        })
    }

    /// # Safety
    ///
    /// `c` must point to the `chan` field of a live `VirtChan<P>`.
    unsafe fn from_raw<'a>(c: *mut bindings::dma_chan) -> VirtChanRef<'a, P> {
        // SAFETY: The caller promises `c` is the `chan` field of a `VirtChan<P>`;
        // by the type invariant that `VirtChan` lives in an `Arc` that outlives
        // this call.
        unsafe { ArcBorrow::from_raw(c.cast::<u8>().sub(offset_of!(Self, chan)).cast::<Self>()) }
    }

    /// # Safety
    ///
    /// Called by the irq_work core with the `irq` field of a live `VirtChan<P>`.
    unsafe extern "C" fn irq_trampoline(w: *mut bindings::irq_work) {
        // SAFETY: `w` is the `irq` field of a `VirtChan<P>`, which is alive:
        // `quiesce` syncs the irq_work before the `Registration` drops its
        // reference.
        let chan = unsafe {
            ArcBorrow::<Self>::from_raw(w.cast::<u8>().sub(offset_of!(Self, irq)).cast::<Self>())
        };
        P::irq(chan);
    }

    /// The channel's index within its device.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The driver's per-channel data.
    pub fn data(&self) -> &P::ChanData {
        &self.data
    }

    /// The provider's device, for logging.
    pub fn dev(&self) -> &device::Device {
        &self.dev
    }

    /// Locks the channel.
    pub fn lock(
        &self,
    ) -> kernel::sync::lock::Guard<'_, Inner<P>, kernel::sync::lock::spinlock::SpinLockIrqBackend>
    {
        self.inner.lock()
    }

    /// Tells the framework that the engine may still access the memory of
    /// descriptors that `terminate_all` is taking away: `synchronize` will
    /// wait for [`VirtChan::engine_stopped`].  Call it from
    /// [`Provider::terminate_all`].  Any context.
    ///
    /// Safe: at worst `synchronize` waits for an acknowledgement that never
    /// comes.
    pub fn engine_stopping(&self) {
        self.stopped.reinit();
    }

    /// The engine acknowledges the stop that [`VirtChan::engine_stopping`]
    /// announced: `synchronize` may return.  Any context.
    ///
    /// # Safety
    ///
    /// The engine will not access the memory of any descriptor that
    /// `terminate_all` took away, nor any [`EngineRange`] made for one,
    /// after this call (hardware: the channel is stopped and its last
    /// memory transaction has finished).
    pub unsafe fn engine_stopped(&self) {
        // INVARIANT: the caller guarantees the engine stopped.
        self.stopped.complete_all();
    }

    /// Schedules callback dispatch (any context).
    pub fn schedule_callbacks(&self) {
        self.schedule_tasklet();
    }

    /// Raises the engine's "interrupt": [`Provider::irq`] runs soon in hard
    /// IRQ context.
    pub fn raise_irq(&self) {
        // SAFETY: `irq` was initialised by `init_irq_work` in `new`.
        unsafe { bindings::irq_work_queue(self.irq.get()) };
    }

    /// Queues the engine's work ([`Provider::engine_run`]).  A kick while it
    /// is already queued is absorbed.  `inner` is the proof that the
    /// channel lock is held; once the device is going away, nothing is
    /// queued.
    pub fn kick(this: VirtChanRef<'_, P>, inner: &Inner<P>) {
        if inner.dead {
            return;
        }
        // SAFETY: By the type invariant `wq` is live until the
        // `Registration` destroys it, which it does only after setting
        // `dead` under the channel lock, which we hold (`inner`).
        let q = unsafe { workqueue::Queue::from_raw(this.wq) };
        let arc: Arc<Self> = this.into();
        let _ = q.enqueue(arc);
    }

    /// `device_terminate_all`: the driver stops its engine, then every
    /// descriptor that is not done is terminated.  Any context.
    fn terminate(&self) -> Result {
        let mut g = self.inner.lock();
        let r = P::terminate_all(self, &mut g);
        g.queue.terminate_all();
        g.periods = 0;
        r
    }

    /// `device_synchronize`: the driver's part, then the wait for the
    /// engine's acknowledgement, then what virt-dma's `vchan_synchronize`
    /// does: waits for a running interrupt handler and callback, makes sure
    /// none is scheduled, and frees the terminated descriptors.  Sleeps.
    fn synchronize(this: VirtChanRef<'_, P>) {
        P::synchronize(this);
        this.stopped.wait();
        this.quiesce();
        let terminated = this.inner.lock().queue.take_terminated();
        drop(terminated);
    }

    fn quiesce(&self) {
        // SAFETY: `irq` was initialised by `init_irq_work` in `new`.
        unsafe { bindings::irq_work_sync(self.irq.get()) };
        self.kill_tasklet();
    }

    /// Software-engine access to the DMA range `[addr, addr + len)` of this
    /// device, as a DMA controller would have it: a window that the engine
    /// copies into and out of, like bus addresses.
    ///
    /// Translated and checked (it must lie in the linear map) once, so
    /// that the bursts of a descriptor cost a bounds check each rather than
    /// an address lookup.  Fails with `EFAULT` for an address the CPU
    /// cannot reach.
    ///
    /// # Safety
    ///
    /// - `addr` and `len` come from a descriptor that a client prepared on
    ///   this channel (the arguments of a `prep_*` call): the DMA-engine
    ///   contract then lets the engine use the memory until that
    ///   descriptor completes, or, once it is terminated, until
    ///   `synchronize` returns.
    /// - The returned range (and every copy of it) is accessed only while
    ///   its descriptor is submitted and not yet completed or terminated;
    ///   after `terminate_all` took it away, only until the driver calls
    ///   [`VirtChan::engine_stopped`], having called [`VirtChan::engine_stopping`]
    ///   in `terminate_all` if an access could still come.
    pub unsafe fn engine_range(&self, addr: DmaAddress, len: usize) -> Result<EngineRange> {
        let dev = ptr::from_ref(&*self.dev)
            .cast_mut()
            .cast::<bindings::device>();
        // SAFETY: `dev` is a live device (we hold a reference).
        let p = unsafe { bindings::rde_dma_range_to_virt(dev, addr, len) };
        if p.is_null() {
            return Err(EFAULT);
        }
        // INVARIANT: `rde_dma_range_to_virt` checked that all `len` bytes
        // at `p` are in the linear map.
        Ok(EngineRange {
            base: p.cast(),
            len,
        })
    }

    fn new_desc(
        &self,
        data: P::Desc,
        len: usize,
        cyclic: bool,
        flags: kernel::ffi::c_ulong,
    ) -> Result<*mut bindings::dma_async_tx_descriptor> {
        if self.inner.lock().dead {
            return Err(ENODEV);
        }
        let d = ListArc::pin_init(
            try_pin_init!(Desc::<P> {
                tx: Opaque::zeroed(),
                links <- ListLinks::new(),
                st: ItemState::new(),
                cyclic,
                len,
                data,
            }),
            GFP_NOWAIT,
        )?;
        let tx = d.tx.get();
        // SAFETY: `tx` is a zeroed descriptor that no one else sees yet;
        // `chan` is registered.
        unsafe {
            bindings::dma_async_tx_descriptor_init(tx, self.chan.get());
            (*tx).tx_submit = Some(tx_submit::<P>);
            // CAST: `enum dma_ctrl_flags` values fit the C field.
            (*tx).flags = flags as bindings::dma_ctrl_flags;
        }
        // INVARIANT: `tx` is initialised for this channel with our
        // `tx_submit`.  A fresh descriptor is on no queue: this cannot fail.
        self.inner.lock().queue.add_allocated(d)?;
        Ok(tx)
    }
}

/// A DMA range of a channel's device as the software engine sees it; see
/// [`VirtChan::engine_range`].  Made when a descriptor is prepared and kept in
/// it, like the bus addresses a DMA controller's descriptor holds.
///
/// # Invariants
///
/// `base` is the linear-map address of `len` bytes of RAM that a client
/// handed to the channel for DMA, and accesses happen only within the time
/// that [`VirtChan::engine_range`]'s `# Safety` allows.
#[derive(Clone, Copy)]
pub struct EngineRange {
    base: *mut u8,
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
                Ok(unsafe { self.base.add(off) })
            }
            _ => Err(EINVAL),
        }
    }

    /// Copies `n` bytes at `src_off` of `src` to `off` of this range.
    pub fn copy_from(&self, off: usize, src: &EngineRange, src_off: usize, n: usize) -> Result {
        let d = self.at(off, n)?;
        let s = src.at(src_off, n)?;
        // SAFETY: Both are in bounds of ranges a client handed over for DMA,
        // accessed while it allows (type invariant, `VirtChan::engine_range`).  `copy` (memmove), not
        // `copy_nonoverlapping`: dmaengine forbids overlapping memcpy, but
        // soundness must not rest on every C client obeying that.
        unsafe { ptr::copy(s.cast_const(), d, n) };
        Ok(())
    }

    /// Fills `n` bytes at `off` with `value`.
    pub fn fill(&self, off: usize, value: u8, n: usize) -> Result {
        let d = self.at(off, n)?;
        // SAFETY: As for `copy_from`.
        unsafe { ptr::write_bytes(d, value, n) };
        Ok(())
    }

    /// Writes `bytes` at `off`.
    pub fn write(&self, off: usize, bytes: &[u8]) -> Result {
        let d = self.at(off, bytes.len())?;
        // SAFETY: As for `copy_from`; `bytes` is a distinct Rust slice.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), d, bytes.len()) };
        Ok(())
    }
}

impl<P: Provider> DescQueue<Desc<P>> {
    /// A new reference to the active descriptor.
    fn active_arc(&self) -> Option<Arc<Desc<P>>> {
        self.active_list_arc().map(|l| l.clone_arc())
    }
}

#[pinned_drop]
impl<P: Provider> PinnedDrop for VirtChan<P> {
    fn drop(self: Pin<&mut Self>) {
        self.quiesce();
    }
}

/// `tx_submit` of every descriptor.
///
/// # Safety
///
/// Called by `dmaengine_submit()` with a descriptor from [`VirtChan::new_desc`].
unsafe extern "C" fn tx_submit<P: Provider>(
    tx: *mut bindings::dma_async_tx_descriptor,
) -> bindings::dma_cookie_t {
    // SAFETY: By the `Desc` invariant `tx` is the `tx` field of a `Desc<P>`,
    // alive because it is on its channel's `allocated` list until submitted.
    let desc = unsafe {
        &*tx.cast::<u8>()
            .sub(offset_of!(Desc<P>, tx))
            .cast::<Desc<P>>()
    };
    // SAFETY: `tx->chan` was set by `dma_async_tx_descriptor_init` to a
    // channel of ours.
    let chan = unsafe { VirtChan::<P>::from_raw((*tx).chan) };
    let mut g = chan.inner.lock();
    match g.queue.submit(desc) {
        Ok(c) => {
            chan.cookies_seen
                .store(g.queue.cookies().to_bits(), Ordering::Release);
            // SAFETY: Under the channel lock; clients read `tx->cookie` only
            // after submit returns.
            unsafe { (*tx).cookie = c.0 };
            c.0
        }
        Err(_) => EINVAL.to_errno(),
    }
}

/// The C callbacks, one per `struct dma_device` operation.
struct Ops<P: Provider>(PhantomData<P>);

use core::marker::PhantomData;

impl<P: Provider> Ops<P> {
    /// # Safety
    ///
    /// `c` must be a channel registered by a `Registration<P>`.
    unsafe fn chan<'a>(c: *mut bindings::dma_chan) -> VirtChanRef<'a, P> {
        // SAFETY: Forwarded from the caller.
        unsafe { VirtChan::<P>::from_raw(c) }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn alloc_chan_resources(c: *mut bindings::dma_chan) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        if chan.inner.lock().dead {
            return ENODEV.to_errno();
        }
        match P::alloc_chan_resources(chan) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn free_chan_resources(c: *mut bindings::dma_chan) {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        // The channel goes back to the pool: nothing may still run on it.
        if let Err(e) = chan.terminate() {
            dev_warn!(
                chan.dev(),
                "free_chan_resources: terminate_all failed: {e:?}\n"
            );
        }
        VirtChan::synchronize(chan);
        // No client holds a `tx` of this channel any more (dmaengine calls
        // this on the last release), so never-submitted ones can go too.
        let all = chan.inner.lock().queue.take_all();
        drop(all);
        P::free_chan_resources(chan);
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn prep_memcpy(
        c: *mut bindings::dma_chan,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
        flags: kernel::ffi::c_ulong,
    ) -> *mut bindings::dma_async_tx_descriptor {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        P::prep_memcpy(&chan, dst, src, len)
            .and_then(|d| chan.new_desc(d, len, false, flags))
            .unwrap_or(ptr::null_mut())
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn prep_memset(
        c: *mut bindings::dma_chan,
        dst: DmaAddress,
        value: kernel::ffi::c_int,
        len: usize,
        flags: kernel::ffi::c_ulong,
    ) -> *mut bindings::dma_async_tx_descriptor {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        // CAST: dmaengine memset fills with the low byte of `value`.
        P::prep_memset(&chan, dst, value as u8, len)
            .and_then(|d| chan.new_desc(d, len, false, flags))
            .unwrap_or(ptr::null_mut())
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn prep_cyclic(
        c: *mut bindings::dma_chan,
        buf: DmaAddress,
        buf_len: usize,
        period_len: usize,
        dir: bindings::dma_transfer_direction,
        flags: kernel::ffi::c_ulong,
    ) -> *mut bindings::dma_async_tx_descriptor {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        let Some(dir) = Direction::from_raw(dir) else {
            return ptr::null_mut();
        };
        P::prep_cyclic(&chan, buf, buf_len, period_len, dir)
            .and_then(|d| chan.new_desc(d, buf_len, true, flags))
            .unwrap_or(ptr::null_mut())
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn config(
        c: *mut bindings::dma_chan,
        cfg: *mut bindings::dma_slave_config,
    ) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        // SAFETY: `cfg` is a valid configuration for the duration of the call.
        let cfg = unsafe { &*cfg };
        let cfg = SlaveConfig {
            src_addr: cfg.src_addr,
            dst_addr: cfg.dst_addr,
            src_addr_width: cfg.src_addr_width,
            dst_addr_width: cfg.dst_addr_width,
            src_maxburst: cfg.src_maxburst,
            dst_maxburst: cfg.dst_maxburst,
        };
        match P::slave_config(&chan, &cfg) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn issue_pending(c: *mut bindings::dma_chan) {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        if chan.inner.lock().dead {
            return;
        }
        P::issue_pending(chan);
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn tx_status(
        c: *mut bindings::dma_chan,
        cookie: bindings::dma_cookie_t,
        state: *mut bindings::dma_tx_state,
    ) -> bindings::dma_status {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        // Without the lock first, as `dma_cookie_status()`.
        let seen = Cookies::from_bits(chan.cookies_seen.load(Ordering::Acquire));
        if seen.is_complete(Cookie(cookie)) {
            if !state.is_null() {
                // SAFETY: A non-null `state` is valid for writes.
                unsafe {
                    (*state).last = seen.last_completed().0;
                    (*state).used = seen.last_assigned().0;
                    (*state).residue = 0;
                    (*state).in_flight_bytes = 0;
                }
            }
            return Status::Complete.to_raw();
        }
        let g = chan.inner.lock();
        let st = if g.queue.cookies().is_complete(Cookie(cookie)) {
            TxStatus {
                status: Status::Complete,
                residue: 0,
            }
        } else {
            P::tx_status(&chan, &g, Cookie(cookie))
        };
        if !state.is_null() {
            // SAFETY: A non-null `state` is valid for writes.
            unsafe {
                (*state).last = g.queue.cookies().last_completed().0;
                (*state).used = g.queue.cookies().last_assigned().0;
                (*state).residue = st.residue;
                (*state).in_flight_bytes = 0;
            }
        }
        st.status.to_raw()
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn pause(c: *mut bindings::dma_chan) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        match P::pause(unsafe { Self::chan(c) }) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn resume(c: *mut bindings::dma_chan) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        match P::resume(unsafe { Self::chan(c) }) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn terminate_all(c: *mut bindings::dma_chan) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        match unsafe { Self::chan(c) }.terminate() {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    unsafe extern "C" fn synchronize(c: *mut bindings::dma_chan) {
        // SAFETY: dmaengine calls this for one of our channels.
        VirtChan::synchronize(unsafe { Self::chan(c) });
    }
}

/// A `struct dma_device` at a stable address, and whether dmaengine has
/// released it (`device_release`: the last client put its channel).
#[repr(C)]
struct DmaDevice {
    dd: Opaque<bindings::dma_device>,
    released: AtomicBool,
    _pin: PhantomPinned,
}

/// `device_release`: dmaengine dropped its last reference to the device.
///
/// # Safety
///
/// Called by dmaengine with the `dma_device` of a `DmaDevice`.
unsafe extern "C" fn device_release(d: *mut bindings::dma_device) {
    // CAST: `dd` is the first field of the `repr(C)` `DmaDevice`.
    let dev = d.cast::<DmaDevice>();
    // SAFETY: `d` is the `dd` of a live `DmaDevice`: `Registration::drop`
    // frees it only after this ran, and otherwise leaks it.
    unsafe { (*dev).released.store(true, Ordering::Release) };
}

/// A registered DMA device with its channels.  Dropping it unregisters.
///
/// Dropping it while a client still holds one of its channels is a bug of
/// the driver (its bus driver should refuse unbind, as
/// [`super::platform::NoUnbind`] does, and the client's module reference
/// keeps the module loaded): the channels are stopped, the device is
/// unregistered, and its memory is leaked, with an error, since the client
/// may still call into it.
///
/// # Invariants
///
/// `dd` is registered with dmaengine (if `registered`); `wq` is a live
/// workqueue; `chans` hold the channels linked into `dd`.
pub struct Registration<P: Provider> {
    /// Freed by `drop`, unless a client still holds the device.
    dd: ManuallyDrop<Pin<KBox<DmaDevice>>>,
    chans: KVec<Arc<VirtChan<P>>>,
    wq: *mut bindings::workqueue_struct,
    registered: bool,
}

// SAFETY: The registration is only used to unregister, from any thread.
unsafe impl<P: Provider> Send for Registration<P> {}
// SAFETY: `&Registration` gives access to channels only, which are `Sync`.
unsafe impl<P: Provider> Sync for Registration<P> {}

impl<P: Provider> Registration<P> {
    /// Creates `nr_chans` channels on `dev` and registers them with
    /// dmaengine.  `chan_init(i)` makes the engine state and data of
    /// channel `i`.
    pub fn new(
        dev: &device::Device<device::Bound>,
        name: &'static CStr,
        caps: &[Cap],
        nr_chans: u32,
        chan_init: impl Fn(u32) -> Result<(P::Engine, P::ChanData)>,
    ) -> Result<Self> {
        let normal: &device::Device = dev;
        let dev_raw = ptr::from_ref(normal).cast_mut().cast::<bindings::device>();
        let dd = KBox::pin(
            DmaDevice {
                dd: Opaque::zeroed(),
                released: AtomicBool::new(false),
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?;
        let d = dd.dd.get();
        // SAFETY: `name` is a valid NUL-terminated string.
        let wq = unsafe { bindings::rde_alloc_workqueue(name.as_char_ptr()) };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        let mut chans = KVec::new();
        let mut reg = Self {
            dd: ManuallyDrop::new(dd),
            chans: KVec::new(),
            wq,
            registered: false,
        };
        // SAFETY: `d` is a zeroed `dma_device` nobody else sees yet.
        unsafe { bindings::rde_dma_device_init_channels(d) };
        for i in 0..nr_chans {
            let (engine, data) = chan_init(i)?;
            let c = Arc::pin_init(
                VirtChan::new(i, wq, normal.into(), engine, data),
                GFP_KERNEL,
            )?;
            // SAFETY: `d` is being set up; the channel lives until `reg` drops.
            unsafe { bindings::rde_dma_chan_add(d, c.chan.get()) };
            chans.push(c, GFP_KERNEL)?;
        }
        reg.chans = chans;
        // SAFETY: `d` is ours until `dma_async_device_register`.
        unsafe {
            (*d).dev = dev_raw;
            for c in caps {
                bindings::rde_dma_cap_set(c.to_raw(), &mut (*d).cap_mask);
            }
            // Private: the channels are only for `dma_request_channel()`
            // users, never for async_tx or `dmaengine_get()`, whose
            // descriptors rely on `DMA_CTRL_ACK` reuse and dependency chains
            // that this framework does not implement.
            bindings::rde_dma_cap_set(Cap::Private.to_raw(), &mut (*d).cap_mask);
            (*d).device_alloc_chan_resources = Some(Ops::<P>::alloc_chan_resources);
            (*d).device_free_chan_resources = Some(Ops::<P>::free_chan_resources);
            if P::HAS_PREP_MEMCPY {
                (*d).device_prep_dma_memcpy = Some(Ops::<P>::prep_memcpy);
            }
            if P::HAS_PREP_MEMSET {
                (*d).device_prep_dma_memset = Some(Ops::<P>::prep_memset);
            }
            if P::HAS_PREP_CYCLIC {
                (*d).device_prep_dma_cyclic = Some(Ops::<P>::prep_cyclic);
            }
            if P::HAS_SLAVE_CONFIG {
                (*d).device_config = Some(Ops::<P>::config);
            }
            if P::HAS_PAUSE {
                (*d).device_pause = Some(Ops::<P>::pause);
            }
            if P::HAS_RESUME {
                (*d).device_resume = Some(Ops::<P>::resume);
            }
            (*d).device_terminate_all = Some(Ops::<P>::terminate_all);
            (*d).device_synchronize = Some(Ops::<P>::synchronize);
            (*d).device_tx_status = Some(Ops::<P>::tx_status);
            // Reference-counted lifetime: dmaengine tells us when the last
            // client let go (and does not WARN at unregister).
            (*d).device_release = Some(device_release);
            (*d).device_issue_pending = Some(Ops::<P>::issue_pending);
            let widths = (1u32 << bindings::dma_slave_buswidth_DMA_SLAVE_BUSWIDTH_1_BYTE)
                | (1 << bindings::dma_slave_buswidth_DMA_SLAVE_BUSWIDTH_2_BYTES)
                | (1 << bindings::dma_slave_buswidth_DMA_SLAVE_BUSWIDTH_4_BYTES)
                | (1 << bindings::dma_slave_buswidth_DMA_SLAVE_BUSWIDTH_8_BYTES);
            (*d).src_addr_widths = widths;
            (*d).dst_addr_widths = widths;
            (*d).directions = (1 << Direction::MemToMem.to_raw())
                | (1 << Direction::MemToDev.to_raw())
                | (1 << Direction::DevToMem.to_raw());
            (*d).residue_granularity =
                bindings::dma_residue_granularity_DMA_RESIDUE_GRANULARITY_BURST;
            kernel::error::to_result(bindings::dma_async_device_register(d))?;
        }
        // INVARIANT: registered, with the channels in `chans`.
        reg.registered = true;
        Ok(reg)
    }

    /// The channels.
    pub fn chans(&self) -> &[Arc<VirtChan<P>>] {
        &self.chans
    }
}

impl<P: Provider> Drop for Registration<P> {
    fn drop(&mut self) {
        // 1. Stop every channel and wait for it, as `terminate_sync` would:
        //    the engine acknowledged, no callback runs or is scheduled.
        //    (With no client left, `free_chan_resources` did so already.)
        for c in self.chans.iter() {
            if let Err(e) = c.terminate() {
                dev_err!(c.dev(), "unregister: terminate_all failed: {e:?}\n");
            }
            VirtChan::synchronize(c.as_arc_borrow());
        }
        // 2. Nothing new from here on: no descriptor, no engine work, no
        //    client.
        for c in self.chans.iter() {
            c.inner.lock().dead = true;
        }
        // 3. The engine's work is no longer queued (`dead`): wait for a
        //    running one to return, then for what it raised.
        // SAFETY: `wq` is live (type invariant) and destroyed only here.
        unsafe { bindings::destroy_workqueue(self.wq) };
        for c in self.chans.iter() {
            c.quiesce();
        }
        if self.registered {
            let d = self.dd.dd.get();
            // SAFETY: `d` is registered (type invariant).
            unsafe { bindings::dma_async_device_unregister(d) };
            // Without clients, dmaengine released the device in unregister.
            if !self.dd.released.load(Ordering::Acquire) {
                // A client still holds a channel and will call into it
                // (terminate, synchronize, free_chan_resources, then
                // `device_release`): keep the memory valid for good.
                if let Some(c) = self.chans.first() {
                    dev_err!(
                        c.dev(),
                        "unregistered while a client holds a channel: its memory is leaked to \
                         stay valid; the driver must refuse unbind while channels are in use\n"
                    );
                }
                core::mem::forget(core::mem::replace(&mut self.chans, KVec::new()));
                return;
            }
        }
        // SAFETY: Not registered, or released by dmaengine: nothing refers
        // to the device any more; dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.dd) };
    }
}
