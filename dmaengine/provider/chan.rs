// SPDX-License-Identifier: GPL-2.0

//! The virtual channel: the queue and the engine state under one lock,
//! callback dispatch, and the framework's `terminate_all` and `synchronize`.

use super::{
    desc::Desc,
    Dispatch,
    Inner,
    Provider,
    SlaveConfig,
    VirtChanRef, //
    SPARES,
};
use crate::dmaengine::completion::Completion;
use crate::dmaengine::test_build;
use crate::dmaengine::{
    bh_work::{
        impl_has_bh_work,
        BhWork,
        BhWorkHandler,
        HasBhWork, //
    },
    bindings,
    lock::{
        lock_scoped,
        ChanLock,
        ChanLockGuard, //
    },
    queue::{
        Cookies,
        DescQueue, //
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
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        ArcBorrow, //
    },
    types::Opaque, //
};

/// The lockdep name of every channel lock (one class for all channels:
/// `VirtChan::new` is generic, and a name literal in it could have an
/// address per crate that instantiates it, which lockdep refuses for one
/// key).
static INNER_NAME: &CStr = c"dma_engine::VirtChan::inner";

/// The guard of a channel's lock, as [`VirtChan::lock`] gives it: the state
/// as an [`Inner`], which safe code cannot move out of.
pub struct ChanGuard<'a, P: Provider>(ChanLockGuard<'a, Inner<P, [(); 0]>>);

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

/// A virtual DMA channel.
///
/// # Invariants
///
/// - `chan` is registered with `dev`'s `struct dma_device` while the
///   [`Registration`](super::Registration) that created this channel exists.
/// - A `VirtChan` lives in an `Arc`, created by
///   [`Registration::new`](super::Registration::new), which keeps one reference
///   until after it unregistered the device and quiesced the channel.
/// - `stopped` is not done while the engine may access memory of a
///   descriptor that `terminate_all` took away (see
///   [`VirtChan::engine_stopping`]).
/// - Each of `spares` is null or a pointer from
///   [`ListArc::into_raw`](kernel::list::ListArc::into_raw) of a descriptor
///   of this channel that no one else references (its reference count is
///   one and it is on no list), whose `P::Desc` needs no drop.
#[pin_data(PinnedDrop)]
pub struct VirtChan<P: Provider> {
    #[pin]
    pub(super) chan: Opaque<bindings::dma_chan>,
    #[pin]
    pub(super) inner: ChanLock<Inner<P, [(); 0]>>,
    /// Callback dispatch if `dispatch` is [`Dispatch::Tasklet`].
    #[pin]
    pub(super) tasklet: Tasklet<VirtChan<P>>,
    /// Callback dispatch if `dispatch` is [`Dispatch::Bh`].
    #[pin]
    pub(super) bh_work: BhWork<VirtChan<P>>,
    /// Which of the two dispatches callbacks, fixed at registration.
    pub(super) dispatch: Dispatch,
    #[pin]
    pub(super) stopped: Completion,
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
    /// Descriptors that were called back, kept for the next preps instead
    /// of freed and allocated again (see [`VirtChan::recycle`]).
    pub(super) spares: [AtomicPtr<Desc<P>>; SPARES],
    pub(super) dev: ARef<device::Device>,
    /// The driver's module: a client that holds the channel holds a
    /// reference on it (from `alloc_chan_resources` to
    /// `free_chan_resources`), so the driver's code stays while the client
    /// can call it.  dmaengine pins only the module of the device's bus
    /// driver, which a faux device has none of.
    pub(super) module: &'static ThisModule,
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
        module: &'static ThisModule,
        dispatch: Dispatch,
        engine: P::Engine,
        data: impl PinInit<P::ChanData, Error>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Self {
            chan: Opaque::zeroed(),
            inner <- ChanLock::new(
                Inner {
                    queue: DescQueue::new(),
                    engine,
                    periods: 0,
                    slave: SlaveConfig::default(),
                    dead: false,
                    owner: this.as_ptr().cast_const(),
                    _unsized: [],
                },
                INNER_NAME,
                kernel::static_lock_class!(),
            ),
            tasklet <- Tasklet::new(),
            bh_work <- BhWork::new(),
            dispatch,
            // The engine starts stopped.
            stopped <- Completion::new().pin_chain(|c| {
                c.complete_all();
                Ok(())
            }),
            cookies_seen: AtomicU64::new(Cookies::new().to_bits()),
            failed_cookie: AtomicI32::new(0),
            gone: AtomicBool::new(false),
            spares: [const { AtomicPtr::new(ptr::null_mut()) }; SPARES],
            dev,
            module,
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
    /// Safe: at worst `synchronize` waits for an acknowledgment that never
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
    /// `terminate_all` took away, nor any view of it that the driver made,
    /// after this call (hardware: the channel is stopped and its last
    /// memory transaction has finished).
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
    pub(super) fn terminate(this: VirtChanRef<'_, P>) -> Result {
        // SAFETY: The guard stays here; the driver gets `&mut Inner`, and the
        // queue's methods make no token.
        let mut g = unsafe { lock_scoped(&this.inner) };
        // A dead channel's engine was stopped and waited for by the
        // `Registration`; the driver may be gone.
        if !g.dead {
            P::terminate_all(this, &mut *g)?;
        }
        g.queue.terminate_all();
        g.periods = 0;
        Ok(())
    }

    /// `terminate` before the channel's descriptors are freed (the last
    /// client let go, or the device goes away): the driver's failure is
    /// retried, with an error every second, until it stops its engine,
    /// since nothing the engine may run can be freed before.  Sleeps.
    pub(super) fn terminate_for_release(this: VirtChanRef<'_, P>, why: &str) {
        let mut tries: u32 = 0;
        while let Err(e) = Self::terminate(this) {
            if tries % 1000 == 0 {
                dev_err!(
                    this.dev(),
                    "{why}: chan {}: terminate_all failed ({e:?}); retrying, as nothing it \
                     may still run can be freed before it stops\n",
                    this.index
                );
            }
            tries = tries.wrapping_add(1);
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
        }
    }

    /// `device_synchronize`: the driver's part (its interrupt handler is
    /// done), then the wait for the engine's acknowledgment, then what
    /// virt-dma's `vchan_synchronize` does: waits for a running callback,
    /// makes sure none is scheduled, and frees the terminated descriptors.
    /// Sleeps.
    ///
    /// The C API lets a client restart the channel between
    /// `dmaengine_terminate_async()` and `dmaengine_synchronize()` (submit
    /// and issue a new batch), and a callback of that batch may run during
    /// the wait and terminate again (both cases found by a model check of
    /// the protocol).  So, under the lock after
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
            this.stopped.wait_for_completion();
            this.quiesce();
            let mut g = this.inner.lock();
            if test_build::OLD_SYNC {
                let terminated = g.queue.take_terminated();
                drop(g);
                drop(terminated);
                return;
            }
            if !this.stopped.completion_done() {
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
}

#[pinned_drop]
impl<P: Provider> PinnedDrop for VirtChan<P> {
    fn drop(self: Pin<&mut Self>) {
        self.quiesce();
        self.free_spares();
    }
}

// The KUnit cases of the channel: a mock provider driven through the
// `dma_device` callbacks.
mod kunit;
