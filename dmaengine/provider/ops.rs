// SPDX-License-Identifier: GPL-2.0

//! The C callbacks of `struct dma_device`: one small trampoline each, which
//! recovers the channel and calls the framework or the [`Provider`].

use super::{
    Provider,
    SlaveConfig,
    TxStatus,
    VirtChan,
    VirtChanRef, //
};
use crate::dmaengine::test_build;
use crate::dmaengine::{
    bindings,
    lock::lock_scoped,
    queue::{
        Cookie,
        Cookies, //
    },
    Direction,
    DmaAddress,
    Status, //
};
use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::Ordering, //
};
use kernel::prelude::*;

/// The C callbacks, one per `struct dma_device` operation.
pub(super) struct Ops<P: Provider>(PhantomData<P>);

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
    pub(super) unsafe extern "C" fn alloc_chan_resources(
        c: *mut bindings::dma_chan,
    ) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        if chan.inner.lock().dead {
            return ENODEV.to_errno();
        }
        // The driver's module stays while a client holds the channel (until
        // `free_chan_resources`): dmaengine pins only the bus driver's.
        if !Self::pin_module(&chan) {
            return ENODEV.to_errno();
        }
        match P::alloc_chan_resources(chan) {
            Ok(()) => 0,
            Err(e) => {
                Self::unpin_module(&chan);
                e.to_errno()
            }
        }
    }

    /// Takes a reference on the driver's module for a client of `chan`.
    fn pin_module(chan: &VirtChan<P>) -> bool {
        if test_build::SKIP_MODULE_PIN {
            return true;
        }
        // SAFETY: The module is live: this is its code, called by dmaengine.
        unsafe { bindings::try_module_get(chan.module.as_ptr()) }
    }

    /// Drops the reference [`Self::pin_module`] took.
    fn unpin_module(chan: &VirtChan<P>) {
        if test_build::SKIP_MODULE_PIN {
            return;
        }
        // SAFETY: Taken by `pin_module` for this channel's client (the
        // callers pair the two).
        unsafe { bindings::module_put(chan.module.as_ptr()) };
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn free_chan_resources(c: *mut bindings::dma_chan) {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        // The channel goes back to the pool: nothing may still run on it.
        VirtChan::terminate_for_release(chan, "free_chan_resources");
        VirtChan::synchronize(chan);
        // No client holds a `tx` of this channel any more (dmaengine calls
        // this on the last release), so never-submitted ones can go too.
        let all = chan.inner.lock().queue.take_all();
        drop(all);
        chan.free_spare();
        if !chan.is_gone() {
            P::free_chan_resources(chan);
        }
        // The reference `alloc_chan_resources` took (dmaengine pairs the
        // two).  The rest of this call and dmaengine's `device_release` run
        // under `dma_list_mutex`, which the module's exit takes (to
        // unregister) before its code goes.
        Self::unpin_module(&chan);
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn prep_memcpy(
        c: *mut bindings::dma_chan,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
        flags: kernel::ffi::c_ulong,
    ) -> *mut bindings::dma_async_tx_descriptor {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        if chan.is_gone() {
            return ptr::null_mut();
        }
        P::prep_memcpy(chan, dst, src, len)
            .and_then(|d| chan.new_desc(d, len, false, flags))
            .unwrap_or(ptr::null_mut())
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn prep_memset(
        c: *mut bindings::dma_chan,
        dst: DmaAddress,
        value: kernel::ffi::c_int,
        len: usize,
        flags: kernel::ffi::c_ulong,
    ) -> *mut bindings::dma_async_tx_descriptor {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        if chan.is_gone() {
            return ptr::null_mut();
        }
        // CAST: dmaengine memset fills with the low byte of `value`.
        P::prep_memset(chan, dst, value as u8, len)
            .and_then(|d| chan.new_desc(d, len, false, flags))
            .unwrap_or(ptr::null_mut())
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn prep_cyclic(
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
        if chan.is_gone() {
            return ptr::null_mut();
        }
        P::prep_cyclic(chan, buf, buf_len, period_len, dir)
            .and_then(|d| chan.new_desc(d, buf_len, true, flags))
            .unwrap_or(ptr::null_mut())
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn config(
        c: *mut bindings::dma_chan,
        cfg: *mut bindings::dma_slave_config,
    ) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        if chan.is_gone() {
            return ENODEV.to_errno();
        }
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
        match P::slave_config(chan, &cfg) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn issue_pending(c: *mut bindings::dma_chan) {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        // SAFETY: The guard stays here; the driver gets `&mut Inner`.
        let mut g = unsafe { lock_scoped(&chan.inner) };
        if g.dead {
            return;
        }
        P::issue_pending(chan, &mut *g);
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn tx_status(
        c: *mut bindings::dma_chan,
        cookie: bindings::dma_cookie_t,
        state: *mut bindings::dma_tx_state,
    ) -> bindings::dma_status {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        // Without the lock first, as `dma_cookie_status()`.
        let seen = Cookies::from_bits(chan.cookies_seen.load(Ordering::Acquire));
        if seen.is_complete(Cookie(cookie)) {
            if chan.failed_cookie.load(Ordering::Relaxed) == cookie {
                // SAFETY: `state` is null or valid for writes.
                return unsafe { Self::tx_status_locked(chan, Cookie(cookie), state) };
            }
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
        // SAFETY: `state` is null or valid for writes (dmaengine's contract).
        unsafe { Self::tx_status_locked(chan, Cookie(cookie), state) }
    }

    /// `tx_status` for a cookie not complete in the lock-free snapshot: under
    /// the lock, with the driver's residue.  Out of line, so that the common
    /// case (a completed cookie) needs no stack frame.
    ///
    /// # Safety
    ///
    /// `state` is null or valid for writes.
    #[inline(never)]
    unsafe fn tx_status_locked(
        chan: VirtChanRef<'_, P>,
        cookie: Cookie,
        state: *mut bindings::dma_tx_state,
    ) -> bindings::dma_status {
        // SAFETY: The guard stays here; the driver gets `&Inner`.
        let g = unsafe { lock_scoped(&chan.inner) };
        let st = if g.dead && !g.queue.cookies().is_complete(cookie) {
            // The device is going away and the driver may be gone; whatever
            // was not done was terminated.
            TxStatus {
                status: Status::Error,
                residue: 0,
                in_flight_bytes: 0,
            }
        } else if g.queue.cookies().is_complete(cookie) {
            TxStatus {
                // A transfer that failed is not `DMA_COMPLETE`
                // (Documentation/driver-api/dmaengine/client.rst).
                status: if chan.failed_cookie.load(Ordering::Relaxed) == cookie.0 {
                    Status::Error
                } else {
                    Status::Complete
                },
                residue: 0,
                in_flight_bytes: 0,
            }
        } else {
            P::tx_status(chan, &*g, cookie)
        };
        if !state.is_null() {
            // SAFETY: A non-null `state` is valid for writes (the caller's
            // promise).
            unsafe {
                (*state).last = g.queue.cookies().last_completed().0;
                (*state).used = g.queue.cookies().last_assigned().0;
                (*state).residue = st.residue;
                (*state).in_flight_bytes = st.in_flight_bytes;
            }
        }
        st.status.to_raw()
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn pause(c: *mut bindings::dma_chan) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        if chan.is_gone() {
            return ENODEV.to_errno();
        }
        match P::pause(chan) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn resume(c: *mut bindings::dma_chan) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        let chan = unsafe { Self::chan(c) };
        if chan.is_gone() {
            return ENODEV.to_errno();
        }
        match P::resume(chan) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn terminate_all(
        c: *mut bindings::dma_chan,
    ) -> kernel::ffi::c_int {
        // SAFETY: dmaengine calls this for one of our channels.
        match VirtChan::terminate(unsafe { Self::chan(c) }) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`.
    pub(super) unsafe extern "C" fn synchronize(c: *mut bindings::dma_chan) {
        // SAFETY: dmaengine calls this for one of our channels.
        VirtChan::synchronize(unsafe { Self::chan(c) });
    }
}
