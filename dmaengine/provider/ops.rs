// SPDX-License-Identifier: GPL-2.0

//! The C callbacks of `struct dma_device`: one small trampoline each, which
//! recovers the channel and calls the framework or the [`Provider`].

use super::{
    DevSide,
    Provider,
    SgEntry,
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
        chan.free_spares();
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
        let Some((chan, dir)) = (unsafe { Self::slave_prep(c, dir) }) else {
            return ptr::null_mut();
        };
        if period_len == 0 || buf_len == 0 || buf_len % period_len != 0 {
            dev_err!(
                chan.dev(),
                "chan {}: cyclic: a period of {period_len} bytes does not divide a buffer of {buf_len}\n",
                chan.index()
            );
            return ptr::null_mut();
        }
        Self::device_side(&chan, dir, "cyclic")
            .and_then(|dev| P::prep_cyclic(chan, buf, buf_len, period_len, dir, dev))
            .and_then(|d| chan.new_desc(d, buf_len, true, flags))
            .unwrap_or(ptr::null_mut())
    }

    /// # Safety
    ///
    /// Called by dmaengine for a channel registered by a `Registration<P>`,
    /// with `sgl` a list of `sg_len` entries mapped for DMA.
    pub(super) unsafe extern "C" fn prep_slave_sg(
        c: *mut bindings::dma_chan,
        sgl: *mut bindings::scatterlist,
        sg_len: kernel::ffi::c_uint,
        dir: bindings::dma_transfer_direction,
        flags: kernel::ffi::c_ulong,
        _context: *mut kernel::ffi::c_void,
    ) -> *mut bindings::dma_async_tx_descriptor {
        // SAFETY: dmaengine calls this for one of our channels.
        let Some((chan, dir)) = (unsafe { Self::slave_prep(c, dir) }) else {
            return ptr::null_mut();
        };
        // SAFETY: Forwarded from the caller.
        let list = unsafe { Self::copy_sgl(&chan, sgl, sg_len) };
        let dev = Self::device_side(&chan, dir, "slave_sg");
        let (Ok((list, len)), Ok(dev)) = (list, dev) else {
            return ptr::null_mut();
        };
        P::prep_slave_sg(chan, list, dir, dev)
            .and_then(|d| chan.new_desc(d, len, false, flags))
            .unwrap_or(ptr::null_mut())
    }

    /// The channel and direction of a slave or cyclic prep, unless the
    /// direction is unknown or the device is going away.
    ///
    /// # Safety
    ///
    /// As for [`Self::chan`].
    unsafe fn slave_prep<'a>(
        c: *mut bindings::dma_chan,
        dir: bindings::dma_transfer_direction,
    ) -> Option<(VirtChanRef<'a, P>, Direction)> {
        // SAFETY: Forwarded from the caller.
        let chan = unsafe { Self::chan(c) };
        let dir = Direction::from_raw(dir)?;
        (!chan.is_gone()).then_some((chan, dir))
    }

    /// The client's scatter-gather list as the driver gets it, and its
    /// total length: refused, with a message, if it is empty, has an empty
    /// entry, or is longer than a descriptor can say.
    ///
    /// # Safety
    ///
    /// `sgl` must be a list of (at least) `n` entries mapped for DMA.
    unsafe fn copy_sgl(
        chan: &VirtChan<P>,
        mut sgl: *mut bindings::scatterlist,
        n: u32,
    ) -> Result<(KVec<SgEntry>, usize)> {
        let fail = |why: &str| {
            dev_err!(chan.dev(), "chan {}: slave_sg: {why}\n", chan.index());
            EINVAL
        };
        if n == 0 || sgl.is_null() {
            return Err(fail("an empty scatter-gather list"));
        }
        // Prep may be called in atomic context.
        let mut list = KVec::with_capacity(n as usize, GFP_NOWAIT)?;
        let mut total = 0usize;
        for i in 0..n {
            if sgl.is_null() {
                return Err(fail("the list ends before its sg_len entries"));
            }
            // SAFETY: `sgl` is entry `i` of the caller's list.
            let e = unsafe {
                SgEntry {
                    addr: bindings::sg_dma_address(sgl),
                    len: bindings::sg_dma_len(sgl),
                }
            };
            if e.len == 0 {
                dev_err!(
                    chan.dev(),
                    "chan {}: slave_sg: entry {i} is empty\n",
                    chan.index()
                );
                return Err(EINVAL);
            }
            total = total.checked_add(e.len as usize).ok_or(EINVAL)?;
            list.push(e, GFP_NOWAIT)?;
            // SAFETY: As above; the next entry, or null after the last.
            sgl = unsafe { bindings::sg_next(sgl) };
        }
        Ok((list, total))
    }

    /// The device side of a transfer in direction `dir`, from the channel's
    /// slave configuration; refused, with a message, for a direction the
    /// driver did not declare or one not configured yet.
    fn device_side(chan: &VirtChan<P>, dir: Direction, what: &str) -> Result<DevSide> {
        if dir == Direction::MemToMem || !P::DIRECTIONS.contains(&dir) {
            dev_err!(
                chan.dev(),
                "chan {}: {what}: direction {dir:?} is not one of this channel's ({:?})\n",
                chan.index(),
                P::DIRECTIONS
            );
            return Err(EINVAL);
        }
        let cfg = chan.inner.lock().slave;
        match cfg.device_side(dir) {
            Some(dev) if dev.addr != 0 && dev.width != 0 => Ok(dev),
            _ => {
                dev_err!(
                    chan.dev(),
                    "chan {}: {what}: no device address and width for {dir:?}: \
                     configure the channel first (dmaengine_slave_config())\n",
                    chan.index()
                );
                Err(EINVAL)
            }
        }
    }

    /// Checks a slave configuration against what the driver declared.
    fn check_config(chan: &VirtChan<P>, cfg: &SlaveConfig) -> Result {
        if !P::DIRECTIONS.iter().any(|d| *d != Direction::MemToMem) {
            dev_err!(
                chan.dev(),
                "chan {}: slave config: this channel has no slave transfers\n",
                chan.index()
            );
            return Err(EINVAL);
        }
        for (side, width, burst) in [
            ("src", cfg.src_addr_width, cfg.src_maxburst),
            ("dst", cfg.dst_addr_width, cfg.dst_maxburst),
        ] {
            if width != 0 && !P::ADDR_WIDTHS.contains(&width) {
                dev_err!(
                    chan.dev(),
                    "chan {}: slave config: {side}_addr_width {width} is not one of {:?} bytes\n",
                    chan.index(),
                    P::ADDR_WIDTHS
                );
                return Err(EINVAL);
            }
            if P::MAX_BURST != 0 && burst > P::MAX_BURST {
                dev_err!(
                    chan.dev(),
                    "chan {}: slave config: {side}_maxburst {burst} is above {}\n",
                    chan.index(),
                    P::MAX_BURST
                );
                return Err(EINVAL);
            }
        }
        Ok(())
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
        let cfg = SlaveConfig::from(unsafe { &*cfg });
        if let Err(e) = Self::check_config(&chan, &cfg) {
            return e.to_errno();
        }
        if P::HAS_SLAVE_CONFIG {
            if let Err(e) = P::slave_config(chan, &cfg) {
                return e.to_errno();
            }
        }
        chan.inner.lock().slave = cfg;
        0
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
