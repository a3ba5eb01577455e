// SPDX-License-Identifier: GPL-2.0

//! The virtual channel: the queue and the engine state under one lock,
//! callback dispatch, and the framework's `terminate_all` and `synchronize`.

use super::{
    desc::{
        tx_submit,
        Desc, //
    },
    Dispatch,
    Provider,
    VirtChanRef, //
};
use crate::dmaengine::test_build;
use crate::dmaengine::{
    bh_work::{
        impl_has_bh_work,
        BhWork,
        BhWorkHandler,
        HasBhWork, //
    },
    bindings,
    completion::ReusableCompletion,
    lock::{
        lock_scoped,
        new_spinlock_irqsave,
        SpinLockIrqSave,
        SpinLockIrqSaveGuard, //
    },
    queue::{
        Cookies,
        DescQueue,
        ItemState, //
    },
    tasklet::{
        impl_has_tasklet,
        HasTasklet,
        Tasklet,
        TaskletHandler, //
    },
    TxResult,
};
use core::{
    marker::PhantomPinned,
    mem::offset_of,
    ptr,
    sync::atomic::{
        AtomicBool,
        AtomicI32,
        AtomicPtr,
        AtomicU32,
        AtomicU64,
        Ordering, //
    },
};
use kernel::{
    device,
    list::{
        ListArc,
        ListLinks, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        ArcBorrow, //
    },
    types::Opaque, //
};

/// The state of a channel that the channel lock protects.
///
/// The lock holds it with a zero-sized tail (`T = [(); 0]`); a driver sees
/// it as `Inner<P>`, with the default, unsized tail, and only by
/// reference, so no safe code can move it: `mem::swap()`, `mem::take()`
/// and `mem::replace()` need a sized type.  With a sized `&mut Inner` from
/// two channels' locks a driver could swap the two whole states, and with
/// them the descriptor lists: a client's descriptors would then run, and
/// be called back, on the other channel, whose `terminate_all` and
/// `synchronize` do not wait for them.
///
/// The driver reads the descriptor lists through [`Inner::queue`] and
/// moves descriptors along them with [`Inner::issue_pending`],
/// [`Inner::start_next`] and [`Inner::complete_active`]; it never gets
/// the `DescQueue` itself by `&mut`.  With that, safe driver code could
/// `mem::take()` or `mem::swap()` the lists, freeing descriptors whose `tx`
/// a client still holds, or moving one channel's descriptors (and their
/// callbacks) to another whose `synchronize` does not wait for them.
///
/// # Invariants
///
/// `owner` is the channel whose lock holds this value: it is made only in
/// `VirtChan::new`, inside that channel's lock, and never moved out of it
/// (the framework does not; drivers see it only unsized).
pub struct Inner<P: Provider, T: ?Sized = [()]> {
    /// The descriptor lists.
    pub(super) queue: DescQueue<Desc<P>>,
    /// The driver's engine state.
    pub engine: P::Engine,
    pub(super) periods: u32,
    /// Set when the `Registration` goes away: no new descriptor, no new
    /// engine work, no new client.
    pub(super) dead: bool,
    /// The channel whose lock holds this state ([`Inner::chan`],
    /// [`VirtChan::owns`]).
    pub(super) owner: *const VirtChan<P>,
    /// Zero-sized under the lock, unsized in [`Inner`].
    _unsized: T,
}

// SAFETY: `owner` is dereferenced only to a shared `&VirtChan<P>`, which is
// `Sync`; the other fields are `Send` (the bounds).
unsafe impl<P: Provider, T: ?Sized + Send> Send for Inner<P, T>
where
    DescQueue<Desc<P>>: Send,
    P::Engine: Send,
{
}

/// The guard of a channel's lock, as [`VirtChan::lock`] gives it: the state
/// as an [`Inner`], which safe code cannot move out of.
pub struct ChanGuard<'a, P: Provider>(SpinLockIrqSaveGuard<'a, Inner<P, [(); 0]>>);

impl<P: Provider> core::ops::Deref for ChanGuard<'_, P> {
    type Target = Inner<P>;

    fn deref(&self) -> &Inner<P> {
        &*self.0
    }
}

impl<P: Provider> core::ops::DerefMut for ChanGuard<'_, P> {
    fn deref_mut(&mut self) -> &mut Inner<P> {
        &mut *self.0
    }
}

impl<P: Provider, T: ?Sized> Inner<P, T> {
    /// Whether the device is going away: a driver must not start anything
    /// new (queue work, program hardware) on a dead channel.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The channel whose lock holds this state: what a driver that has the
    /// state (under the lock) needs to act on its channel, with no way to
    /// name the wrong one.
    pub fn chan(&self) -> &VirtChan<P> {
        // SAFETY: `owner` is the channel whose lock holds this state (type
        // invariant), so the channel outlives any reference to its state.
        unsafe { &*self.owner }
    }

    /// The active descriptor ended with `result` (an error of the engine,
    /// such as a bus fault) with `residue` bytes not transferred: its
    /// cookie completes and its callback is told both (`dmaengine_result`).
    /// Returns whether there was one.  Call
    /// [`VirtChan::schedule_callbacks`] afterwards.
    ///
    /// A result other than [`TxResult::NoError`] also makes `tx_status`
    /// answer `DMA_ERROR` for the descriptor's cookie (for the last failed
    /// cookie of the channel).
    pub fn complete_active_with(&mut self, result: TxResult, residue: u32) -> bool {
        if let Some(d) = self.queue.active() {
            d.result.store(result.to_raw(), Ordering::Relaxed);
            d.residue.store(residue, Ordering::Relaxed);
            if result != TxResult::NoError {
                // Before the cookie completes (under this lock), and so
                // before the snapshot that `tx_status` reads without it is
                // published (a `Release` store after this).
                self.chan()
                    .failed_cookie
                    .store(d.cookie().0, Ordering::Relaxed);
            }
        }
        self.queue.complete_active()
    }

    /// The descriptor lists, to read (the active descriptor, a cookie's
    /// descriptor, the cookies).
    pub fn queue(&self) -> &DescQueue<Desc<P>> {
        &self.queue
    }

    /// `issue_pending`: everything submitted becomes issued.  Returns
    /// whether anything is now waiting for the engine.
    pub fn issue_pending(&mut self) -> bool {
        self.queue.issue_pending()
    }

    /// If the engine is free, makes the next issued descriptor active, and
    /// returns the active one.  On a dead channel nothing starts: `None`.
    pub fn start_next(&mut self) -> Option<&Desc<P>> {
        if self.dead {
            return None;
        }
        self.queue.start_next()
    }

    /// The active descriptor finished: its cookie completes and its
    /// callback is due.  Returns whether there was one.  Call
    /// [`VirtChan::schedule_callbacks`] afterwards.
    pub fn complete_active(&mut self) -> bool {
        self.queue.complete_active()
    }

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
///   [`Registration`](super::Registration) that created this channel exists.
/// - A `VirtChan` lives in an `Arc`, created by [`Registration::new`](super::Registration::new), which
///   keeps one reference until after it unregistered the device and
///   quiesced the channel.
/// - `stopped` is not done while the engine may access memory of a
///   descriptor that `terminate_all` took away (see
///   [`VirtChan::engine_stopping`]).
/// - `spare` is null or a pointer from [`ListArc::into_raw`] of a descriptor
///   of this channel that no one else references (its reference count is
///   one and it is on no list), whose `P::Desc` needs no drop.
#[pin_data(PinnedDrop)]
pub struct VirtChan<P: Provider> {
    #[pin]
    pub(super) chan: Opaque<bindings::dma_chan>,
    #[pin]
    pub(super) inner: SpinLockIrqSave<Inner<P, [(); 0]>>,
    /// Callback dispatch if `dispatch` is [`Dispatch::Tasklet`].
    #[pin]
    pub(super) tasklet: Tasklet<VirtChan<P>>,
    /// Callback dispatch if `dispatch` is [`Dispatch::Bh`].
    #[pin]
    pub(super) bh_work: BhWork<VirtChan<P>>,
    /// Which of the two dispatches callbacks, fixed at registration.
    pub(super) dispatch: Dispatch,
    #[pin]
    pub(super) stopped: ReusableCompletion,
    /// A snapshot of the queue's cookies, written under the lock when they
    /// change (submit) and before callbacks run, so that `tx_status` can
    /// answer "complete" without the lock, as `dma_cookie_status()` does in
    /// C.  It may lag; then `tx_status` takes the lock.
    pub(super) cookies_seen: AtomicU64,
    /// `dead` of the locked state, for the entry points that must not call
    /// the driver on a dead channel and do not take the lock (`prep`,
    /// `config`, `pause`, `resume`): set under the lock with `dead`,
    /// before the driver's last `synchronize`.
    pub(super) gone: AtomicBool,
    /// The cookie of the channel's last descriptor that completed with an
    /// error (0: none): `tx_status` answers `DMA_ERROR` for it, as the
    /// client API asks, instead of `DMA_COMPLETE`.  Only the last one is
    /// kept (a client that checks the status of each transfer when it is
    /// called back, as dmatest does, sees each); written under the lock.
    pub(super) failed_cookie: AtomicI32,
    /// A descriptor that was called back, kept for the next prep instead
    /// of freed and allocated again (see [`VirtChan::recycle`]).
    spare: AtomicPtr<Desc<P>>,
    pub(super) dev: ARef<device::Device>,
    pub(super) index: u32,
    /// The driver's per-channel data, pinned: it may embed kernel objects
    /// (work items, timers) that find their channel again with
    /// [`VirtChan::data_container_of`].
    #[pin]
    pub(super) data: P::ChanData,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: Everything mutable is behind the lock or internally synchronised
// (tasklet, completion, atomics); `P::ChanData` is `Send + Sync`.
unsafe impl<P: Provider> Send for VirtChan<P> {}
// SAFETY: As above.
unsafe impl<P: Provider> Sync for VirtChan<P> {}

impl_has_tasklet! {
    // SAFETY: The drop rule: `VirtChan`'s `PinnedDrop` kills the tasklet
    // (`quiesce`) before any field is dropped, and the handler only borrows
    // the channel.
    unsafe impl{P: Provider} HasTasklet for VirtChan<P> { self.tasklet }
}

impl_has_bh_work! {
    // SAFETY: The drop rule: `VirtChan`'s `PinnedDrop` cancels the work
    // (`quiesce`) before any field is dropped, and the handler only borrows
    // the channel.
    unsafe impl{P: Provider} HasBhWork for VirtChan<P> { self.bh_work }
}

impl<P: Provider> TaskletHandler for VirtChan<P> {
    fn tasklet_run(&self) {
        self.dispatch_callbacks();
    }
}

impl<P: Provider> BhWorkHandler for VirtChan<P> {
    fn bh_work_run(&self) {
        self.dispatch_callbacks();
    }
}

impl<P: Provider> VirtChan<P> {
    /// Callback dispatch: one completed descriptor at a time, lock dropped
    /// around each callback.  A callback that terminates the channel moves
    /// the remaining completed descriptors to `terminated`, so they never
    /// get their callbacks.
    ///
    /// The lock is not taken again just to find nothing left: a completion
    /// that arrives after the last look reschedules the dispatcher, which
    /// then runs again.
    ///
    /// Runs in softirq context, from the tasklet or the BH work item.
    #[inline(always)]
    fn dispatch_callbacks(&self) {
        loop {
            let (done, cyclic, more) = {
                // SAFETY: The guard stays in this block, which calls only
                // the queue's methods and makes no token.
                let mut g = unsafe { lock_scoped(&self.inner) };
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
                d.invoke_callback(d.result(), d.residue());
                self.recycle(d);
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
    pub(super) fn new(
        index: u32,
        dev: ARef<device::Device>,
        dispatch: Dispatch,
        engine: P::Engine,
        data: impl PinInit<P::ChanData, Error>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Self {
            chan: Opaque::zeroed(),
            inner <- new_spinlock_irqsave!(
                Inner {
                    queue: DescQueue::new(),
                    engine,
                    periods: 0,
                    dead: false,
                    owner: this.as_ptr().cast_const(),
                    _unsized: [],
                },
                "dmaengine::VirtChan::inner"
            ),
            tasklet <- Tasklet::new(),
            bh_work <- BhWork::new(),
            dispatch,
            // The engine starts stopped.
            stopped <- ReusableCompletion::new_done(),
            cookies_seen: AtomicU64::new(Cookies::new().to_bits()),
            failed_cookie: AtomicI32::new(0),
            gone: AtomicBool::new(false),
            spare: AtomicPtr::new(ptr::null_mut()),
            dev,
            index,
            data <- data,
            _pin: PhantomPinned,
        })
    }

    /// # Safety
    ///
    /// `c` must point to the `chan` field of a live `VirtChan<P>`.
    pub(super) unsafe fn from_raw<'a>(c: *mut bindings::dma_chan) -> VirtChanRef<'a, P> {
        // SAFETY: The caller promises `c` is the `chan` field of a `VirtChan<P>`;
        // by the type invariant that `VirtChan` lives in an `Arc` that outlives
        // this call.
        unsafe { ArcBorrow::from_raw(c.cast::<u8>().sub(offset_of!(Self, chan)).cast::<Self>()) }
    }

    /// The `data` field of `*ptr`, for drivers that embed kernel objects
    /// in it (e.g. to implement `HasWork` for the channel).
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid `VirtChan<P>`.
    pub unsafe fn raw_data(ptr: *const Self) -> *const P::ChanData {
        // SAFETY: The caller promises that `ptr` is valid.
        unsafe { ptr::addr_of!((*ptr).data) }
    }

    /// The channel whose `data` field `ptr` is.
    ///
    /// # Safety
    ///
    /// `ptr` must point at the `data` field of a valid `VirtChan<P>` (as
    /// obtained from [`VirtChan::data`] or [`VirtChan::raw_data`]).
    pub unsafe fn data_container_of(ptr: *const P::ChanData) -> *const Self {
        // SAFETY: The caller promises that `ptr` is the `data` field of a
        // `VirtChan<P>`.
        unsafe { kernel::container_of!(ptr.cast_mut(), Self, data).cast_const() }
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
    pub fn lock(&self) -> ChanGuard<'_, P> {
        ChanGuard(self.inner.lock())
    }

    /// Runs `f` with the channel locked, and returns what it returns.
    ///
    /// Cheaper than [`VirtChan::lock`] where it counts (an engine's hot
    /// path): the lock's guard never leaves this function, so its unlock
    /// needs no check for a refcounted `local_interrupt_disable()` region
    /// made under it (see `lock_scoped`).  That is why `f` and its result
    /// must be `Send`: a `kernel::interrupt::LocalInterruptDisabled`,
    /// neither `Send` nor `Sync`, can then neither come into `f` nor leave
    /// it, so one that `f` makes is gone when `f` returns.
    #[inline]
    pub fn with_lock<R: Send>(&self, f: impl FnOnce(&mut Inner<P>) -> R + Send) -> R {
        // SAFETY: The guard stays in this function, and `f` gets the data by
        // reference: a token `f` makes cannot be kept past its return (`f`
        // and `R` are `Send`, the token is neither `Send` nor `Sync`, and
        // `Inner` holds only `Send` data), and this function makes none.
        let mut g = unsafe { lock_scoped(&self.inner) };
        f(&mut *g)
    }

    /// Whether `inner` is this channel's state (the one its lock holds).
    pub fn owns(&self, inner: &Inner<P>) -> bool {
        ptr::eq(inner.owner, self)
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
    /// `terminate_all` took away, nor any view of it that the driver made
    /// (such as `soft::EngineRange`), after this call (hardware: the channel
    /// is stopped and its last memory transaction has finished).
    pub unsafe fn engine_stopped(&self) {
        // INVARIANT: the caller guarantees the engine stopped.
        self.stopped.complete_all();
    }

    /// How this channel dispatches its callbacks.
    pub fn dispatch(&self) -> Dispatch {
        self.dispatch
    }

    /// Schedules callback dispatch (any context): the tasklet or the BH
    /// work item, as chosen at registration.  Either runs the callbacks in
    /// softirq context, never in the caller's.
    pub fn schedule_callbacks(&self) {
        match self.dispatch {
            Dispatch::Tasklet => self.schedule_tasklet(),
            Dispatch::Bh => self.queue_bh_work(),
        }
    }

    /// Marks the channel dead: the device is going away, and from here on
    /// the framework calls no method of the driver for it (but the
    /// `Registration`'s own last `synchronize`), starts nothing, and takes
    /// no descriptor or client.
    pub(super) fn mark_dead(&self) {
        let mut g = self.inner.lock();
        g.dead = true;
        self.gone.store(true, Ordering::Release);
    }

    /// Whether the channel is dead, without the lock (see `gone`).
    pub(super) fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// `device_terminate_all`: the driver stops its engine, then every
    /// descriptor that is not done is terminated.  Any context.
    ///
    /// If the driver fails, nothing is moved or suppressed and its error is
    /// returned: the engine may still run the descriptors, whose callbacks
    /// then still come (Documentation/driver-api/dmaengine/provider.rst).
    pub(super) fn terminate(&self) -> Result {
        // SAFETY: The guard stays here; the driver gets `&mut Inner`, and the
        // queue's methods make no token.
        let mut g = unsafe { lock_scoped(&self.inner) };
        // A dead channel's engine was stopped and waited for by the
        // `Registration`; the driver may be gone.
        if !g.dead {
            P::terminate_all(self, &mut *g)?;
        }
        g.queue.terminate_all();
        g.periods = 0;
        Ok(())
    }

    /// `terminate` before the channel's descriptors are freed (the last
    /// client let go, or the device goes away): the driver's failure is
    /// retried, with an error every second, until it stops its engine,
    /// since nothing the engine may run can be freed before.  Sleeps.
    pub(super) fn terminate_for_release(&self, why: &str) {
        let mut tries: u32 = 0;
        while let Err(e) = self.terminate() {
            if tries % 1000 == 0 {
                dev_err!(
                    self.dev(),
                    "{why}: chan {}: terminate_all failed ({e:?}); retrying, as nothing it \
                     may still run can be freed before it stops\n",
                    self.index
                );
            }
            tries = tries.wrapping_add(1);
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
        }
    }

    /// `device_synchronize`: the driver's part (its interrupt handler is
    /// done), then the wait for the engine's acknowledgement, then what
    /// virt-dma's `vchan_synchronize` does: waits for a running callback,
    /// makes sure none is scheduled, and frees the terminated descriptors.
    /// Sleeps.
    ///
    /// The C API lets a client restart the channel between
    /// `dmaengine_terminate_async()` and `dmaengine_synchronize()` (submit
    /// and issue a new batch), and a callback of that batch may run during
    /// the wait and terminate again (`tools/model`, Documentation/model.rst:
    /// both cases found by the model).  So, under the lock after
    /// `quiesce`: if a stop is pending again, the engine may still use
    /// what that terminate took, which is then not freed: the wait starts
    /// over; and if callbacks are due, `quiesce` may have dropped their
    /// dispatch (`tasklet_kill()` holds the tasklet's SCHED bit while it
    /// waits, `cancel_work_sync()` steals a pending run), so it is
    /// scheduled again.  Those callbacks are the new batch's; none of a
    /// terminated descriptor is ever called back.
    pub(super) fn synchronize(this: VirtChanRef<'_, P>) {
        kernel::task::might_sleep();
        if test_build::SYNC_RETURNS_EARLY {
            return;
        }
        loop {
            if !this.is_gone() {
                P::synchronize(this);
            }
            this.stopped.wait();
            this.quiesce();
            let mut g = this.inner.lock();
            if test_build::OLD_SYNC {
                let terminated = g.queue.take_terminated();
                drop(g);
                drop(terminated);
                return;
            }
            if !this.stopped.is_done() {
                // A callback terminated a restarted batch meanwhile and
                // the engine has not acknowledged that stop yet.
                continue;
            }
            let terminated = g.queue.take_terminated();
            let due = g.queue.has_completed() || g.periods > 0;
            drop(g);
            if due {
                this.schedule_callbacks();
            }
            drop(terminated);
            return;
        }
    }

    /// No callback runs or is scheduled after this.  Sleeps.
    ///
    /// Tasklet: `tasklet_kill()`.  BH work: `cancel_work_sync()`, which
    /// waits for a running dispatch and removes a pending one; a pending
    /// one has nothing to do for the terminated descriptors, since
    /// `terminate_all` moved every completed descriptor to `terminated`
    /// (and forgot the cyclic periods) before any synchronize, but may be
    /// due to a batch submitted since, which `synchronize` schedules
    /// again.  Both leave the dispatcher ready to be scheduled
    /// again, so the channel is reusable.  The one that was not chosen is
    /// never scheduled; quiescing it costs a test of its state bits.
    pub(super) fn quiesce(&self) {
        self.kill_tasklet();
        self.cancel_bh_work();
    }

    #[inline(always)]
    pub(super) fn new_desc(
        &self,
        data: P::Desc,
        len: usize,
        cyclic: bool,
        flags: kernel::ffi::c_ulong,
    ) -> Result<*mut bindings::dma_async_tx_descriptor> {
        let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
        let d = if spare.is_null() {
            ListArc::pin_init(
                try_pin_init!(Desc::<P> {
                    tx: Opaque::zeroed(),
                    links <- ListLinks::new(),
                    st: ItemState::new(),
                    cyclic,
                    len,
                    result: AtomicU32::new(TxResult::NoError.to_raw()),
                    residue: AtomicU32::new(0),
                    data,
                }),
                GFP_NOWAIT,
            )?
        } else {
            // SAFETY: By the type invariant a non-null `spare` is a
            // descriptor of this channel that no one else references, from
            // `ListArc::into_raw`, whose `P::Desc` needs no drop; the swap
            // made it ours alone.
            unsafe { Desc::reuse(spare, data, len, cyclic) }
        };
        let tx = d.tx.get();
        // SAFETY: `tx` is the C descriptor of a descriptor that no one else
        // sees yet (new, or the spare made new); `chan` is registered.
        unsafe {
            // The whole descriptor, every field named: one that a later
            // kernel adds is a build error here, not a stale value from the
            // spare's last transfer.  Written as a whole, with the non-zero
            // fields among the zeroes, the compiler stores it inline rather
            // than calling `memset`.
            tx.write(bindings::dma_async_tx_descriptor {
                cookie: 0,
                // CAST: `enum dma_ctrl_flags` values fit the C field.
                // Without `DMA_CTRL_REUSE`: the device does not claim
                // `descriptor_reuse` (so `dmaengine_desc_set_reuse()`
                // refuses it), and a client that passed it to prep directly
                // would otherwise keep using the descriptor after its
                // callback.
                flags: flags as bindings::dma_ctrl_flags & !bindings::dma_ctrl_flags_DMA_CTRL_REUSE,
                phys: 0,
                chan: self.chan.get(),
                tx_submit: Some(tx_submit::<P>),
                desc_free: None,
                callback: None,
                callback_result: None,
                callback_param: ptr::null_mut(),
                unmap: ptr::null_mut(),
                desc_metadata_mode: 0,
                metadata_ops: ptr::null(),
                #[cfg(CONFIG_ASYNC_TX_ENABLE_CHANNEL_SWITCH)]
                next: ptr::null_mut(),
                #[cfg(CONFIG_ASYNC_TX_ENABLE_CHANNEL_SWITCH)]
                parent: ptr::null_mut(),
                // A zeroed `spinlock_t`, as `kzalloc` gives a C driver's
                // descriptor; `dma_async_tx_descriptor_init` initialises it.
                #[cfg(CONFIG_ASYNC_TX_ENABLE_CHANNEL_SWITCH)]
                lock: core::mem::zeroed(),
            });
            bindings::dma_async_tx_descriptor_init(tx, self.chan.get());
        }
        // One lock round trip, as `vchan_tx_prep()`: the device-gone check
        // and the queueing under the same lock.  On a dead channel `d` is
        // dropped (after the guard: it was declared first).
        // SAFETY: The guard stays here; the queue's methods make no token
        // (a refused `d` is dropped under it: `P::Desc`'s drop, if any,
        // cannot keep a token past its return).
        let mut g = unsafe { lock_scoped(&self.inner) };
        if g.dead {
            return Err(ENODEV);
        }
        // INVARIANT: `tx` is initialised for this channel with our
        // `tx_submit`.  A fresh descriptor is on no queue: this cannot fail.
        g.queue.add_allocated(d)?;
        Ok(tx)
    }

    /// Frees the spare descriptor, if there is one: when the channel goes
    /// back to the pool (`free_chan_resources`) and when it is dropped.
    pub(super) fn free_spare(&self) {
        let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
        if !spare.is_null() {
            // SAFETY: By the type invariant `spare` came from
            // `ListArc::into_raw`; the swap took it out.
            drop(unsafe { ListArc::<Desc<P>>::from_raw(spare) });
        }
    }

    /// Keeps a descriptor that was called back as the channel's spare, for
    /// the next prep, if no one else references it and its `P::Desc` needs
    /// no drop (so nothing of the driver outlives the callback); otherwise
    /// drops it.  A spare already kept is freed.
    ///
    /// A client that is called back, then preps and submits the next
    /// transfer, keeps one descriptor in flight: the spare saves it an
    /// allocation and a free per transfer (and an allocation from Rust
    /// goes through `krealloc()`, which costs more than C's constant-size
    /// `kzalloc()`).
    ///
    /// Only for a descriptor popped from `completed`, whose callback has
    /// run: its client is done with its `tx` (DMA-engine API).  With KASAN
    /// nothing is kept, so that a client that does use a `tx` after its
    /// callback is reported there, as it would be with every descriptor
    /// freed.
    fn recycle(&self, d: ListArc<Desc<P>>) {
        if core::mem::needs_drop::<P::Desc>() || cfg!(CONFIG_KASAN) {
            return;
        }
        let Some(unique) = Arc::into_unique_or_drop(d.into_arc()) else {
            return;
        };
        // INVARIANT: the descriptor is on no list (it was popped) and no one
        // else references it (`into_unique_or_drop`); `P::Desc` needs no drop.
        let p = ListArc::<Desc<P>>::from(unique).into_raw().cast_mut();
        let old = self.spare.swap(p, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: By the type invariant `old` came from
            // `ListArc::into_raw`; the swap took it out of `spare`.
            drop(unsafe { ListArc::<Desc<P>>::from_raw(old) });
        }
    }
}

#[pinned_drop]
impl<P: Provider> PinnedDrop for VirtChan<P> {
    fn drop(self: Pin<&mut Self>) {
        self.quiesce();
        self.free_spare();
    }
}

#[kunit_tests(rust_dmaengine_provider)]
mod tests {
    use super::super::{
        desc::tx_submit,
        ops::Ops,
        SlaveConfig,
        TxStatus, //
    };
    use super::*;
    use crate::dmaengine::{
        queue::Cookie,
        DmaAddress,
        Status, //
    };
    use kernel::{
        faux,
        ffi::c_void, //
    };

    /// A provider whose `terminate_all` fails while `fail` is set, and
    /// which counts the calls of its methods (its channel data).
    struct Mock;

    struct MockEngine {
        fail: bool,
    }

    #[vtable]
    impl Provider for Mock {
        type Desc = ();
        type Engine = MockEngine;
        type ChanData = AtomicU32;

        fn prep_memcpy(chan: &VirtChan<Self>, _: DmaAddress, _: DmaAddress, _: usize) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn slave_config(chan: &VirtChan<Self>, _cfg: &SlaveConfig) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
            chan.data().fetch_add(1, Ordering::Relaxed);
            g.issue_pending();
        }

        fn tx_status(chan: &VirtChan<Self>, _g: &Inner<Self>, _cookie: Cookie) -> TxStatus {
            chan.data().fetch_add(1, Ordering::Relaxed);
            TxStatus {
                status: Status::InProgress,
                residue: 40,
                in_flight_bytes: 8,
            }
        }

        fn pause(chan: VirtChanRef<'_, Self>) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn resume(chan: VirtChanRef<'_, Self>) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn synchronize(chan: VirtChanRef<'_, Self>) {
            chan.data().fetch_add(1, Ordering::Relaxed);
        }

        fn free_chan_resources(chan: VirtChanRef<'_, Self>) {
            chan.data().fetch_add(1, Ordering::Relaxed);
        }

        fn terminate_all(chan: &VirtChan<Self>, g: &mut Inner<Self>) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            if g.engine.fail {
                Err(EBUSY)
            } else {
                Ok(())
            }
        }
    }

    /// A channel of `Mock` on a faux device, not registered with dmaengine,
    /// with `n` descriptors submitted and issued, the first one active.
    fn chan_with(faux: &faux::Registration, n: usize) -> Result<Arc<VirtChan<Mock>>> {
        let fdev: &faux::Device<device::Bound> = faux.as_ref();
        let dev: &device::Device<device::Bound> = fdev.as_ref();
        let dev: &device::Device = dev;
        let c = Arc::pin_init(
            VirtChan::<Mock>::new(
                0,
                dev.into(),
                Dispatch::Tasklet,
                MockEngine { fail: true },
                Ok::<AtomicU32, Error>(AtomicU32::new(0)),
            ),
            GFP_KERNEL,
        )?;
        for _ in 0..n {
            let tx = c.new_desc((), 64, false, 0)?;
            // SAFETY: `tx` comes from `new_desc` of `c`, which lives in an
            // `Arc`, and is submitted once.
            let cookie = unsafe { tx_submit::<Mock>(tx) };
            if cookie <= 0 {
                return Err(EINVAL);
            }
        }
        {
            let mut g = c.lock();
            g.issue_pending();
            g.start_next();
        }
        Ok(c)
    }

    /// Terminates for good and frees what is left, as
    /// `free_chan_resources` does.
    fn release(c: &Arc<VirtChan<Mock>>) {
        c.lock().engine.fail = false;
        c.terminate_for_release("test");
        VirtChan::synchronize(c.as_arc_borrow());
        drop(c.inner.lock().queue.take_all());
    }

    /// Issue 21: a driver whose `terminate_all` fails leaves the queue as
    /// it was (its engine may still run the descriptors, and their
    /// callbacks must still come), and the error reaches the client.
    #[test]
    fn failed_terminate_moves_nothing() -> Result {
        let faux = faux::Registration::new(c"kunit_failed_terminate", None)?;
        let c = chan_with(&faux, 3)?;
        assert_eq!(c.terminate(), Err(EBUSY));
        let (active, terminated) = {
            let mut g = c.inner.lock();
            let active = g.queue.active().is_some();
            (active, g.queue.take_terminated().is_empty())
        };
        // Then the active one completes, and its callback is due.
        let due = {
            let mut g = c.lock();
            g.complete_active() && g.queue().has_completed()
        };
        release(&c);
        assert!(active);
        assert!(terminated);
        assert!(due);
        Ok(())
    }

    /// Issue 21: a transfer that failed is `DMA_ERROR` from `tx_status`,
    /// not `DMA_COMPLETE`; one that did not fail is `DMA_COMPLETE`.
    #[test]
    fn failed_transfer_is_dma_error() -> Result {
        let faux = faux::Registration::new(c"kunit_failed_transfer", None)?;
        let c = chan_with(&faux, 2)?;
        let (first, second) = {
            let mut g = c.lock();
            let first = g.queue().active().map(|d| d.cookie().0).unwrap_or(0);
            g.complete_active_with(TxResult::ReadFailed, 48);
            let second = g.start_next().map(|d| d.cookie().0).unwrap_or(0);
            g.complete_active();
            // As callback dispatch does, for the lock-free look.
            c.cookies_seen
                .store(g.queue().cookies().to_bits(), Ordering::Release);
            (first, second)
        };
        // SAFETY: `c`'s `chan` is the channel of a `VirtChan<Mock>` in an
        // `Arc`; a null state is allowed.
        let st = |cookie| unsafe { Ops::<Mock>::tx_status(c.chan.get(), cookie, ptr::null_mut()) };
        let (s1, s2) = (st(first), st(second));
        release(&c);
        assert!(first > 0 && second > first);
        assert_eq!(s1, bindings::dma_status_DMA_ERROR);
        assert_eq!(s2, bindings::dma_status_DMA_COMPLETE);
        Ok(())
    }

    /// Issue 21, hole 3: on a dead channel (the device is going away) the
    /// C entry points call no method of the driver, and nothing starts.
    #[test]
    fn dead_channel_calls_no_driver_method() -> Result {
        let faux = faux::Registration::new(c"kunit_dead_channel", None)?;
        let c = chan_with(&faux, 2)?;
        c.mark_dead();
        let raw = c.chan.get();
        let issued = c.lock().queue().cookies().last_assigned().0;
        // The active one completes; the issued one must not start.
        let started = {
            let mut g = c.lock();
            g.complete_active();
            g.start_next().is_some()
        };
        let mut cfg = bindings::dma_slave_config::default();
        // SAFETY: `raw` is the channel of a `VirtChan<Mock>` in an `Arc`;
        // `cfg` is valid, a null state allowed.
        let (prep, st, pause, resume, config, term) = unsafe {
            let prep = Ops::<Mock>::prep_memcpy(raw, 0, 0, 64, 0).is_null();
            Ops::<Mock>::issue_pending(raw);
            let st = Ops::<Mock>::tx_status(raw, issued, ptr::null_mut());
            let pause = Ops::<Mock>::pause(raw);
            let resume = Ops::<Mock>::resume(raw);
            let config = Ops::<Mock>::config(raw, &mut cfg);
            let term = Ops::<Mock>::terminate_all(raw);
            Ops::<Mock>::synchronize(raw);
            Ops::<Mock>::free_chan_resources(raw);
            (prep, st, pause, resume, config, term)
        };
        let calls = c.data().load(Ordering::Relaxed);
        release(&c);
        assert!(!started);
        assert!(prep);
        assert_eq!(st, bindings::dma_status_DMA_ERROR);
        assert_eq!(pause, ENODEV.to_errno());
        assert_eq!(resume, ENODEV.to_errno());
        assert_eq!(config, ENODEV.to_errno());
        assert_eq!(term, 0);
        assert_eq!(calls, 0);
        Ok(())
    }

    /// Issue 21: a descriptor prepared but not yet submitted survives a
    /// terminate (and the synchronize after it): a C client may still hold
    /// its `tx` and submit it, which the C API does not forbid, so it is
    /// freed only with the channel's resources.  (virt-dma frees it at the
    /// terminate; a later submit is then a use-after-free.)
    #[test]
    fn prepared_descriptor_survives_terminate() -> Result {
        let faux = faux::Registration::new(c"kunit_prepared_terminate", None)?;
        let c = chan_with(&faux, 1)?;
        let tx = c.new_desc((), 64, false, 0)?;
        c.lock().engine.fail = false;
        let terminated = c.terminate();
        VirtChan::synchronize(c.as_arc_borrow());
        // SAFETY: `tx` comes from `new_desc` of `c`, which lives in an
        // `Arc`, and is submitted once; under KASAN a freed `tx` is a
        // report here.
        let cookie = unsafe { tx_submit::<Mock>(tx) };
        let started = {
            let mut g = c.lock();
            g.issue_pending();
            g.start_next().map(|d| d.cookie().0)
        };
        release(&c);
        assert_eq!(terminated, Ok(()));
        assert!(cookie > 0);
        assert_eq!(started, Some(cookie));
        Ok(())
    }

    /// Issue 21: `tx_status` of a transfer in progress reports what the
    /// driver says of it: residue and the bytes held in its FIFO
    /// (`in_flight_bytes`).
    #[test]
    fn tx_status_reports_residue_and_in_flight_bytes() -> Result {
        let faux = faux::Registration::new(c"kunit_in_flight", None)?;
        let c = chan_with(&faux, 1)?;
        let cookie = c.lock().queue().active().map(|d| d.cookie().0).unwrap_or(0);
        let mut state = bindings::dma_tx_state::default();
        // SAFETY: `c`'s `chan` is the channel of a `VirtChan<Mock>` in an
        // `Arc`; `state` is valid for writes.
        let st = unsafe { Ops::<Mock>::tx_status(c.chan.get(), cookie, &mut state) };
        release(&c);
        assert!(cookie > 0);
        assert_eq!(st, bindings::dma_status_DMA_IN_PROGRESS);
        assert_eq!(state.residue, 40);
        assert_eq!(state.in_flight_bytes, 8);
        Ok(())
    }

    /// What the callback of `failed_transfer_callback_gets_result_and_residue`
    /// was told: its result and residue, and whether it ran.
    static CB_RESULT: AtomicU32 = AtomicU32::new(u32::MAX);
    static CB_RESIDUE: AtomicU32 = AtomicU32::new(u32::MAX);

    /// A client's `callback_result`.
    ///
    /// # Safety
    ///
    /// `res` is valid for reads (dmaengine's contract).
    unsafe extern "C" fn record(_param: *mut c_void, res: *const bindings::dmaengine_result) {
        // SAFETY: The caller promises `res` is valid.
        let res = unsafe { &*res };
        CB_RESIDUE.store(res.residue, Ordering::Relaxed);
        CB_RESULT.store(res.result, Ordering::Relaxed);
    }

    /// Issue 21: the callback of a failed transfer gets the result and the
    /// residue the driver gave (`dmaengine_result`), not success and 0.
    #[test]
    fn failed_transfer_callback_gets_result_and_residue() -> Result {
        let faux = faux::Registration::new(c"kunit_failed_callback", None)?;
        let c = chan_with(&faux, 1)?;
        {
            let mut g = c.lock();
            if let Some(d) = g.queue().active() {
                let tx = d.tx.get();
                // SAFETY: The descriptor is active and not yet called back;
                // a client sets its callback before submit, and no one
                // reads it before dispatch, below.
                unsafe { (*tx).callback_result = Some(record) };
            }
            g.complete_active_with(TxResult::WriteFailed, 24);
        }
        c.dispatch_callbacks();
        release(&c);
        assert_eq!(
            CB_RESULT.load(Ordering::Relaxed),
            bindings::dmaengine_tx_result_DMA_TRANS_WRITE_FAILED
        );
        assert_eq!(CB_RESIDUE.load(Ordering::Relaxed), 24);
        Ok(())
    }
}
