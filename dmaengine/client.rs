// SPDX-License-Identifier: GPL-2.0

//! DMA-engine clients: a termination protocol in which freeing too early
//! does not compile.
//!
//! The rule (Documentation/driver-api/dmaengine/client.rst): a client that
//! calls `dmaengine_terminate_async()`, for instance from a completion
//! callback, must call `dmaengine_synchronize()` before it frees the memory
//! the transfers used or the state its callbacks touch.  In C this is a
//! convention; here it is the types:
//!
//! - [`Channel::submit`] *moves* the buffers ([`DmaBuf`]) and the callback
//!   state into an [`InFlight`] transfer.  While it exists, nothing can touch
//!   them mutably, nor free them, nor release the channel (it borrows the
//!   `Channel` mutably).
//! - Inside a callback, [`Callback::done`] gets a [`CallbackCtl`] that can
//!   only terminate asynchronously: it has no `synchronize`, because that
//!   sleeps and must not run in the callback.
//! - In process context, [`InFlight::terminate_async`] returns a
//!   [`Terminated`] token, and only [`Terminated::synchronize`] (which
//!   consumes it and may sleep) gives the buffers and the state back, as
//!   [`Finished`].
//! - Dropping an `InFlight` or a `Terminated` never frees early: the drop
//!   terminates and synchronizes first (it sleeps, so drop them in process
//!   context).  A drop that happens where sleeping is not allowed (say, an
//!   `InFlight` kept in another batch's callback state and dropped in a
//!   callback) would deadlock on the provider's own callback dispatch; it is caught
//!   instead: the memory is leaked, with an error in the log.  The same
//!   goes for a failed terminate: nothing is freed that DMA may touch.
//! - The types only help if `dmaengine_synchronize()` really waits, which it
//!   does not on a provider without `device_synchronize` (upstream `pl330`
//!   for one).  [`Channel::request`] refuses such channels;
//!   [`Channel::request_unsynchronized`] takes one, `unsafe`, for a system
//!   where the caller can argue that it is safe anyway.
//!
//! C header: [`include/linux/dmaengine.h`](srctree/include/linux/dmaengine.h)
//!
//! Reference: <https://docs.kernel.org/driver-api/dmaengine/client.html>

use super::{
    bindings,
    Cap,
    DmaAddress,
    Status, //
};
use core::{
    ffi::c_void,
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::{
        self,
        NonNull, //
    },
};
use kernel::prelude::*;

mod buf;
mod op;
mod request;
mod slave;
mod sleep;

pub use buf::DmaBuf;
use buf::Mapped;
pub use op::Op;
pub use slave::DeviceSide;
use sleep::may_sleep;

impl Status {
    /// The status that `dma_async_is_tx_complete()` returned.
    fn from_raw(s: bindings::dma_status) -> Self {
        match s {
            bindings::dma_status_DMA_COMPLETE => Status::Complete,
            bindings::dma_status_DMA_IN_PROGRESS => Status::InProgress,
            bindings::dma_status_DMA_PAUSED => Status::Paused,
            bindings::dma_status_DMA_OUT_OF_ORDER => Status::OutOfOrder,
            _ => Status::Error,
        }
    }
}

/// A DMA channel held by this client.  Dropping it terminates what runs on
/// it, synchronizes and releases it.
///
/// # Invariants
///
/// `chan` is a channel obtained from `dma_request_channel` and not yet
/// released.
pub struct Channel {
    chan: NonNull<bindings::dma_chan>,
}

// SAFETY: A held channel may be used and released from any thread.
unsafe impl Send for Channel {}
// SAFETY: `&Channel` only reads the channel's name and capabilities.
unsafe impl Sync for Channel {}

impl Channel {
    /// Requests a channel with capability `cap`, optionally only one named
    /// `chan_name` (e.g. `dma0chan1`) or on device `dev_name`.  `ENODEV` when
    /// no such channel is free.
    ///
    /// The channel's provider must implement `device_terminate_all` and
    /// `device_synchronize`: everything this API promises rests on
    /// `dmaengine_synchronize()` waiting.  Channels of providers that do are
    /// preferred; if only others match, the request fails with
    /// `EOPNOTSUPP` and a message.
    pub fn request(cap: Cap, chan_name: Option<&CStr>, dev_name: Option<&CStr>) -> Result<Self> {
        // A channel that can synchronize, if there is one ...
        if let Ok(ch) = Self::request_raw(cap, chan_name, dev_name, true) {
            return Ok(ch);
        }
        // ... else say why one that matches is not good enough.
        let ch = Self::request_raw(cap, chan_name, dev_name, false)?;
        pr_err!(
            "{}: the provider has no device_synchronize (or no device_terminate_all): \
             dmaengine_synchronize() would not wait for its callbacks; refusing the \
             channel (see Channel::request_unsynchronized)\n",
            ch.name()
        );
        Err(EOPNOTSUPP)
    }

    /// Like [`Channel::request`], but also takes a channel whose provider
    /// has no `device_synchronize`, on which `dmaengine_synchronize()`
    /// returns at once.
    ///
    /// # Safety
    ///
    /// On this system, for this provider, once `dmaengine_terminate_async()`
    /// has returned and `dmaengine_synchronize()` is called from process
    /// context, the hardware no longer touches the submitted buffers and no
    /// completion callback of the channel is running or will run.  For
    /// example: a uniprocessor kernel (a callback in softirq context cannot
    /// be running while process context runs) with a provider whose
    /// `device_terminate_all` stops the hardware before it returns and drops
    /// the callbacks of what it terminated.
    pub unsafe fn request_unsynchronized(
        cap: Cap,
        chan_name: Option<&CStr>,
        dev_name: Option<&CStr>,
    ) -> Result<Self> {
        Self::request_raw(cap, chan_name, dev_name, true)
            .or_else(|_| Self::request_raw(cap, chan_name, dev_name, false))
    }

    fn request_raw(
        cap: Cap,
        chan_name: Option<&CStr>,
        dev_name: Option<&CStr>,
        need_sync: bool,
    ) -> Result<Self> {
        let p = request::request_chan_by_mask(cap, chan_name, dev_name, need_sync);
        // INVARIANT: A non-null result is a channel we now hold.
        NonNull::new(p).map(|chan| Self { chan }).ok_or(ENODEV)
    }

    /// Whether the provider implements `device_synchronize` (and
    /// `device_terminate_all`).
    pub fn can_synchronize(&self) -> bool {
        // SAFETY: By the type invariant the channel is held.
        unsafe { request::chan_can_synchronize(self.raw()) }
    }

    /// The status and residue of the transfer `cookie` (of a batch this
    /// channel ran): `dmaengine_tx_status()`.  A cookie only names a
    /// transfer, so asking about one whose batch is finished is sound:
    /// providers answer from the cookie number and their own lists.
    pub fn status(&self, cookie: Cookie) -> (Status, u32) {
        let mut st = bindings::dma_tx_state::default();
        // SAFETY: By the type invariant the channel is held; `st` is valid
        // for writes.
        let s = unsafe { bindings::dmaengine_tx_status(self.raw(), cookie.0, &mut st) };
        (Status::from_raw(s), st.residue)
    }

    fn raw(&self) -> *mut bindings::dma_chan {
        self.chan.as_ptr()
    }

    fn dma_dev(&self) -> *mut bindings::device {
        // SAFETY: By the type invariant the channel is held.
        unsafe { bindings::dmaengine_get_dma_device(self.raw()) }
    }

    /// Maps `bufs` for the channel's device, prepares `ops` on them with
    /// `state`'s [`Callback::done`] as each one's completion callback,
    /// submits them all and issues them.
    ///
    /// On error nothing is left running; the buffers and state are dropped.
    pub fn submit<S: Callback>(
        &mut self,
        bufs: KVec<DmaBuf>,
        ops: &[Op],
        state: S,
    ) -> Result<InFlight<'_, S>> {
        let shared = KBox::new(
            Shared {
                state,
                chan: self.chan,
            },
            GFP_KERNEL,
        )?;
        let mut parts = Parts {
            dev: self.dma_dev(),
            bufs: KVec::with_capacity(bufs.len(), GFP_KERNEL)?,
            ret: KVec::with_capacity(bufs.len(), GFP_KERNEL)?,
            ctxs: KVec::with_capacity(ops.len(), GFP_KERNEL)?,
            cookies: KVec::with_capacity(ops.len(), GFP_KERNEL)?,
            shared,
        };
        for b in bufs {
            let m = Mapped::new(parts.dev, b)?;
            parts.bufs.push(m, GFP_KERNEL)?;
        }
        let mut flight = InFlight {
            ch: self,
            parts: ManuallyDrop::new(parts),
        };
        flight.prep_and_submit(ops)?;
        // SAFETY: The channel is held.
        unsafe { bindings::dma_async_issue_pending(flight.ch.raw()) };
        Ok(flight)
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        if !may_sleep("Channel") {
            // Releasing sleeps; keeping the channel is the safe failure.
            return;
        }
        // SAFETY: By the type invariant the channel is held; no `InFlight`
        // borrows it any more.  `dma_release_channel` terminates and
        // synchronizes it before it goes back to the pool (through
        // `device_free_chan_resources`, see `dma_chan_put()`).
        let r = unsafe { bindings::dmaengine_terminate_sync(self.raw()) };
        if r != 0 {
            pr_warn!("{}: terminate_sync failed at release\n", self.name());
        }
        // SAFETY: As above.
        unsafe { bindings::dma_release_channel(self.raw()) };
    }
}

/// The client's completion callback.  Runs in the provider's callback
/// context (softirq for virt-dma style providers): it must not sleep.
pub trait Callback: Send + Sync + 'static {
    /// Transfer `index` of the batch completed (for cyclic: a period).
    fn done(&self, index: usize, ctl: &CallbackCtl<'_>);
}

/// What a callback may do to its channel: only what is allowed in atomic
/// context.  There is deliberately no `synchronize` here.
pub struct CallbackCtl<'a> {
    chan: NonNull<bindings::dma_chan>,
    _p: PhantomData<&'a ()>,
}

impl CallbackCtl<'_> {
    /// `dmaengine_terminate_async()`: stop the channel without waiting.
    /// The transfers' memory stays owned by the [`InFlight`] until process
    /// context calls [`Terminated::synchronize`].
    pub fn terminate_async(&self) -> Result {
        // SAFETY: The callback runs while the `InFlight` holds the channel.
        kernel::error::to_result(unsafe { bindings::dmaengine_terminate_async(self.chan.as_ptr()) })
    }
}

/// Callback state shared with the C callbacks.
struct Shared<S> {
    state: S,
    chan: NonNull<bindings::dma_chan>,
}

/// The `callback_param` of one descriptor.
struct Ctx<S> {
    shared: *const Shared<S>,
    index: usize,
}

/// Everything a batch in flight owns.  Field order matters: callbacks'
/// contexts go before the state they point to.
struct Parts<S> {
    dev: *mut bindings::device,
    bufs: KVec<Mapped>,
    /// Room for giving the buffers back, reserved at submit: `finish` must
    /// not fail on an allocation.
    ret: KVec<DmaBuf>,
    ctxs: KVec<KBox<Ctx<S>>>,
    cookies: KVec<Cookie>,
    shared: KBox<Shared<S>>,
}

impl<S> Parts<S> {
    /// Gives everything back.  Only called after the channel synchronized
    /// (or by the unsafe escape hatch).
    fn finish(self) -> Finished<S> {
        let mut bufs = self.ret;
        for m in self.bufs {
            if let Some(b) = m.into_buf() {
                // Within the capacity reserved at submit: cannot fail.
                let _ = bufs.push_within_capacity(b);
            }
        }
        drop(self.ctxs);
        Finished {
            bufs,
            cookies: self.cookies,
            state: KBox::into_inner(self.shared).state,
        }
    }
}

/// `DMA_PREP_INTERRUPT | DMA_CTRL_ACK`.
const PREP_FLAGS: kernel::ffi::c_ulong = (bindings::dma_ctrl_flags_DMA_PREP_INTERRUPT
    | bindings::dma_ctrl_flags_DMA_CTRL_ACK)
    as kernel::ffi::c_ulong;

/// A submitted batch: owns its buffers and callback state, and borrows the
/// channel, until it is terminated and synchronized.
pub struct InFlight<'ch, S: Callback> {
    ch: &'ch mut Channel,
    /// Dropped only after the channel synchronized (see `Drop`).
    parts: ManuallyDrop<Parts<S>>,
}

/// # Safety
///
/// Called by the provider with the `callback_param` set in `prep_and_submit`.
unsafe extern "C" fn callback_trampoline<S: Callback>(param: *mut c_void) {
    // SAFETY: `param` is a `Ctx<S>` owned by the `Parts` of an `InFlight` or
    // `Terminated`, which are only dropped after the channel synchronized,
    // so no callback can be running or scheduled then.
    let ctx = unsafe { &*param.cast::<Ctx<S>>() };
    // SAFETY: As above for the `Shared` the context points to.
    let shared = unsafe { &*ctx.shared };
    let ctl = CallbackCtl {
        chan: shared.chan,
        _p: PhantomData,
    };
    shared.state.done(ctx.index, &ctl);
}

impl<'ch, S: Callback> InFlight<'ch, S> {
    fn prep_and_submit(&mut self, ops: &[Op]) -> Result {
        let chan = self.ch.raw();
        let p = &mut self.parts;
        for (index, op) in ops.iter().enumerate() {
            let addr = |i: usize| p.bufs.get(i).map(|m| (m.addr, m.len)).ok_or(EINVAL);
            // SAFETY (for the prep calls below): the channel is held and the
            // addresses are mappings for its device owned by `p`.
            let tx = match *op {
                Op::Memcpy {
                    dst,
                    src,
                    offset,
                    len,
                } => {
                    let (d, dl) = addr(dst)?;
                    let (s, sl) = addr(src)?;
                    if len == 0 || offset.checked_add(len).is_none_or(|e| e > dl.min(sl)) {
                        return Err(EINVAL);
                    }
                    // SAFETY: See above.
                    unsafe {
                        bindings::dmaengine_prep_dma_memcpy(
                            chan,
                            d + offset as DmaAddress,
                            s + offset as DmaAddress,
                            len,
                            PREP_FLAGS,
                        )
                    }
                }
                Op::Slave { buf, segs, dir } => {
                    let (b, bl) = addr(buf)?;
                    // SAFETY: See above.
                    unsafe { slave::prep_slave_sg(chan, b, bl, segs, dir)? }
                }
                Op::Cyclic { buf, period, dir } => {
                    let (b, bl) = addr(buf)?;
                    // SAFETY: See above.
                    unsafe {
                        bindings::dmaengine_prep_dma_cyclic(
                            chan,
                            b,
                            bl,
                            period,
                            dir.to_raw(),
                            PREP_FLAGS,
                        )
                    }
                }
            };
            if tx.is_null() {
                // Providers return NULL when they cannot allocate a
                // descriptor (they prepare with GFP_NOWAIT).
                return Err(ENOMEM);
            }
            let ctx = KBox::new(
                Ctx {
                    shared: &*p.shared,
                    index,
                },
                GFP_KERNEL,
            )?;
            // SAFETY: `tx` was just prepared and is not submitted yet; `ctx`
            // lives in `p` until after synchronize.
            let cookie = unsafe {
                (*tx).callback = Some(callback_trampoline::<S>);
                (*tx).callback_param = ptr::from_ref(&*ctx).cast_mut().cast();
                bindings::dmaengine_submit(tx)
            };
            p.ctxs.push(ctx, GFP_KERNEL)?;
            if cookie < 0 {
                return Err(Error::from_errno(cookie));
            }
            p.cookies.push(Cookie(cookie), GFP_KERNEL)?;
        }
        Ok(())
    }

    /// The name of the channel the batch runs on.
    pub fn channel_name(&self) -> &CStr {
        self.ch.name()
    }

    /// The callback state, shared with callbacks that may run concurrently.
    pub fn state(&self) -> &S {
        &self.parts.shared.state
    }

    /// The status of transfer `index`.
    pub fn status(&self, index: usize) -> Option<Status> {
        let c = self.parts.cookies.get(index)?.0;
        // SAFETY: The channel is held.
        let s = unsafe { bindings::dmaengine_tx_status(self.ch.raw(), c, ptr::null_mut()) };
        Some(Status::from_raw(s))
    }

    /// The status and residue (bytes left) of transfer `index`.
    pub fn residue(&self, index: usize) -> Option<(Status, u32)> {
        Some(self.ch.status(*self.parts.cookies.get(index)?))
    }

    /// `dmaengine_pause()`: the channel stops between bursts.
    pub fn pause(&self) -> Result {
        // SAFETY: The channel is held.
        kernel::error::to_result(unsafe { bindings::dmaengine_pause(self.ch.raw()) })
    }

    /// `dmaengine_resume()`.
    pub fn resume(&self) -> Result {
        // SAFETY: The channel is held.
        kernel::error::to_result(unsafe { bindings::dmaengine_resume(self.ch.raw()) })
    }

    /// `dmaengine_terminate_async()` from process context.  The memory stays
    /// owned by the returned token until [`Terminated::synchronize`].
    ///
    /// If the provider fails to terminate, the batch is given back as it
    /// was, with the error: it may still be running.
    // The error gives the whole batch back by value, so that nothing DMA may
    // still use is freed or leaked by accident: its size is the point.
    // `allow`, not `expect`: whether the lint fires depends on the
    // architecture's pointer size (it does not on 32-bit arm).
    #[allow(clippy::result_large_err)]
    pub fn terminate_async(self) -> Result<Terminated<'ch, S>, (Error, Self)> {
        // SAFETY: The channel is held.
        let r = unsafe { bindings::dmaengine_terminate_async(self.ch.raw()) };
        if r != 0 {
            return Err((Error::from_errno(r), self));
        }
        let (ch, parts) = self.into_parts();
        Ok(Terminated { ch, parts })
    }

    /// `dmaengine_terminate_sync()`: stops everything and gives the memory
    /// back.  Sleeps.  If the provider fails to terminate, the batch is
    /// given back as it was, with the error.
    #[allow(clippy::result_large_err)]
    pub fn terminate_sync(self) -> Result<Finished<S>, (Error, Self)> {
        Ok(self.terminate_async()?.synchronize())
    }

    fn into_parts(self) -> (&'ch mut Channel, ManuallyDrop<Parts<S>>) {
        let this = ManuallyDrop::new(self);
        // SAFETY: Each field is moved out exactly once and `this` is never
        // used or dropped afterwards.
        unsafe { (ptr::read(&this.ch), ptr::read(&this.parts)) }
    }
}

impl<S: Callback> Drop for InFlight<'_, S> {
    fn drop(&mut self) {
        // Never free early: stop and wait before the fields are dropped, or,
        // where that is impossible, do not free at all.
        if !may_sleep("InFlight") {
            // `parts` is `ManuallyDrop`: not dropping it leaks it.
            return;
        }
        // SAFETY: The channel is held.
        let r = unsafe { bindings::dmaengine_terminate_sync(self.ch.raw()) };
        if r != 0 {
            pr_err!(
                "{}: terminate_sync failed ({r}) dropping a batch in flight; its memory is \
                 LEAKED, DMA may still use it\n",
                self.ch.name()
            );
            return;
        }
        // SAFETY: The channel terminated and synchronized: nothing uses the
        // parts any more.  They are dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.parts) };
    }
}

/// A terminated batch whose memory may still be in use by the engine or by
/// a running callback, until [`Terminated::synchronize`].
pub struct Terminated<'ch, S: Callback> {
    ch: &'ch mut Channel,
    /// Dropped only after the channel synchronized (see `Drop`).
    parts: ManuallyDrop<Parts<S>>,
}

impl<S: Callback> Terminated<'_, S> {
    /// The callback state, shared with callbacks that may still run.
    pub fn state(&self) -> &S {
        &self.parts.shared.state
    }

    /// The status and residue of transfer `index` after the terminate (see
    /// [`InFlight::residue`]): the engine may still be stopping.
    pub fn residue(&self, index: usize) -> Option<(Status, u32)> {
        Some(self.ch.status(*self.parts.cookies.get(index)?))
    }

    /// `dmaengine_synchronize()`: waits until the engine no longer touches
    /// the buffers and no callback runs or is scheduled, then gives
    /// everything back.  Sleeps: process context only.
    pub fn synchronize(self) -> Finished<S> {
        // SAFETY: The channel is held.
        unsafe { bindings::dmaengine_synchronize(self.ch.raw()) };
        self.into_parts().finish()
    }

    /// Gives the memory back WITHOUT synchronizing.
    ///
    /// # Safety
    ///
    /// The caller must know by other means that the engine no longer
    /// touches the buffers and that no callback is running or scheduled
    /// (say, the provider's interrupt and callback context are known idle
    /// on a single CPU).
    pub unsafe fn finish_without_synchronize(self) -> Finished<S> {
        self.into_parts().finish()
    }

    fn into_parts(self) -> Parts<S> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `parts` is moved out exactly once and `this` is never used
        // or dropped afterwards.
        ManuallyDrop::into_inner(unsafe { ptr::read(&this.parts) })
    }
}

impl<S: Callback> Drop for Terminated<'_, S> {
    fn drop(&mut self) {
        if !may_sleep("Terminated") {
            // `parts` is `ManuallyDrop`: not dropping it leaks it.
            return;
        }
        // SAFETY: The channel is held.
        unsafe { bindings::dmaengine_synchronize(self.ch.raw()) };
        // SAFETY: The channel synchronized: nothing uses the parts any
        // more.  They are dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.parts) };
    }
}

/// What a finished batch gives back.
pub struct Finished<S> {
    /// The buffers, in submit order, unmapped and owned by the CPU again.
    pub bufs: KVec<DmaBuf>,
    /// The transfers' cookies, in submit order, for [`Channel::status`].
    pub cookies: KVec<Cookie>,
    /// The callback state.
    pub state: S,
}

/// The cookie of a submitted transfer: a number the provider gave it, which
/// the channel's [`Channel::status`] can still be asked about once the
/// transfer is finished (or terminated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cookie(bindings::dma_cookie_t);
