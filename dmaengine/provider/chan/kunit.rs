// SPDX-License-Identifier: GPL-2.0

//! KUnit cases of [`VirtChan`](super::VirtChan): a mock provider whose
//! channels are driven through the callbacks dmaengine calls (`Ops`), as a
//! C client's calls get to them.

use kernel::prelude::*;

#[kunit_tests(rust_dma_engine_provider)]
mod tests {
    use super::super::super::{
        desc::tx_submit,
        ops::Ops,
        DevSide,
        SgEntry,
        SlaveConfig,
        TxStatus, //
    };
    use super::super::*;
    use crate::dmaengine::{
        queue::Cookie,
        Direction,
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

    /// What `Mock::prep_slave_sg` was given last: entries, bytes, and
    /// whether the device address was the configured one.
    static SG_ENTRIES: AtomicU32 = AtomicU32::new(0);
    static SG_BYTES: AtomicU32 = AtomicU32::new(0);
    static SG_DEV: AtomicBool = AtomicBool::new(false);

    /// The device address `slave_sg_is_checked` configures.
    const SG_FIFO: DmaAddress = 0x9000;

    #[vtable]
    impl Provider for Mock {
        type Desc = ();
        type Engine = MockEngine;
        type ChanData = AtomicU32;

        const DIRECTIONS: &'static [Direction] = &[
            Direction::MemToMem,
            Direction::MemToDev,
            Direction::DevToMem,
        ];
        const ADDR_WIDTHS: &'static [u32] = &[1, 2, 4];
        const MAX_BURST: u32 = 8;

        fn prep_slave_sg(
            chan: VirtChanRef<'_, Self>,
            sgl: KVec<SgEntry>,
            _dir: Direction,
            dev: DevSide,
        ) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            let bytes: u32 = sgl.iter().map(|e| e.len).sum();
            SG_ENTRIES.store(sgl.len() as u32, Ordering::Relaxed);
            SG_BYTES.store(bytes, Ordering::Relaxed);
            SG_DEV.store(dev.addr == SG_FIFO, Ordering::Relaxed);
            Ok(())
        }

        fn prep_cyclic(
            chan: VirtChanRef<'_, Self>,
            _: DmaAddress,
            _: usize,
            _: usize,
            _: Direction,
            _: DevSide,
        ) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn prep_memcpy(
            chan: VirtChanRef<'_, Self>,
            _: DmaAddress,
            _: DmaAddress,
            _: usize,
        ) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn slave_config(chan: VirtChanRef<'_, Self>, _cfg: &SlaveConfig) -> Result {
            chan.data().fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
            chan.data().fetch_add(1, Ordering::Relaxed);
            g.issue_pending();
        }

        fn tx_status(chan: VirtChanRef<'_, Self>, _g: &Inner<Self>, _cookie: Cookie) -> TxStatus {
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

        fn terminate_all(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) -> Result {
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
                kernel::module::this_module::<crate::LocalModule>(),
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
        VirtChan::terminate_for_release(c.as_arc_borrow(), "test");
        VirtChan::synchronize(c.as_arc_borrow());
        drop(c.inner.lock().queue.take_all());
    }

    /// A driver whose `terminate_all` fails leaves the queue as
    /// it was (its engine may still run the descriptors, and their
    /// callbacks must still come), and the error reaches the client.
    #[test]
    fn failed_terminate_moves_nothing() -> Result {
        let faux = faux::Registration::new(c"kunit_failed_terminate", None)?;
        let c = chan_with(&faux, 3)?;
        assert_eq!(VirtChan::terminate(c.as_arc_borrow()), Err(EBUSY));
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

    /// A transfer that failed is `DMA_ERROR` from `tx_status`,
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

    /// On a dead channel (the device is going away) the
    /// C entry points call no method of the driver, and nothing starts.
    #[test]
    fn dead_channel_calls_no_driver_method() -> Result {
        let faux = faux::Registration::new(c"kunit_dead_channel", None)?;
        let c = chan_with(&faux, 2)?;
        let raw = c.chan.get();
        // A client took it before it died (dmaengine pairs this with the
        // `free_chan_resources` below).
        // SAFETY: `raw` is the channel of a `VirtChan<Mock>` in an `Arc`.
        assert_eq!(unsafe { Ops::<Mock>::alloc_chan_resources(raw) }, 0);
        c.mark_dead();
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

    /// A descriptor prepared but not yet submitted survives a
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
        let terminated = VirtChan::terminate(c.as_arc_borrow());
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

    /// `tx_status` of a transfer in progress reports what the
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

    /// The callback of a failed transfer gets the result and the
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

    /// A slave configuration the driver did not declare is refused, and
    /// the channel keeps the one it had; one it did is kept for the
    /// channel's `prep_*`.
    #[test]
    fn slave_config_is_checked_and_kept() -> Result {
        let faux = faux::Registration::new(c"kunit_slave_config", None)?;
        let c = chan_with(&faux, 0)?;
        let raw = c.chan.get();
        let good = bindings::dma_slave_config {
            dst_addr: 0x1000,
            dst_addr_width: 4,
            dst_maxburst: 8,
            ..Default::default()
        };
        let mut bad_width = bindings::dma_slave_config {
            dst_addr_width: 3,
            ..good
        };
        let mut bad_burst = bindings::dma_slave_config {
            src_maxburst: 16,
            ..good
        };
        let mut good = good;
        // SAFETY: `raw` is the channel of a `VirtChan<Mock>` in an `Arc`;
        // the configurations are valid for the calls.
        let (w, b, g) = unsafe {
            (
                Ops::<Mock>::config(raw, &mut bad_width),
                Ops::<Mock>::config(raw, &mut bad_burst),
                Ops::<Mock>::config(raw, &mut good),
            )
        };
        let kept = c.inner.lock().slave.device_side(Direction::MemToDev);
        let calls = c.data().load(Ordering::Relaxed);
        release(&c);
        assert_eq!(w, EINVAL.to_errno());
        assert_eq!(b, EINVAL.to_errno());
        assert_eq!(g, 0);
        assert_eq!(
            kept,
            Some(DevSide {
                addr: 0x1000,
                width: 4,
                burst: 8
            })
        );
        // Only the accepted one reached the driver's hook.
        assert_eq!(calls, 1);
        Ok(())
    }

    /// `prep_slave_sg` reaches the driver only for a configured device
    /// direction it declared and a list without empty entries; the driver
    /// gets every entry and the device side.
    #[test]
    fn slave_sg_is_checked() -> Result {
        let faux = faux::Registration::new(c"kunit_slave_sg", None)?;
        let c = chan_with(&faux, 0)?;
        let raw = c.chan.get();
        let mut sg: [bindings::scatterlist; 3] = core::array::from_fn(|_| Default::default());
        // SAFETY: `sg` holds three entries.
        unsafe { bindings::sg_init_table(sg.as_mut_ptr(), 3) };
        for (i, e) in sg.iter_mut().enumerate() {
            e.dma_address = 0x10000 * (i as DmaAddress + 1);
            #[cfg(CONFIG_NEED_SG_DMA_LENGTH)]
            {
                e.dma_length = 64 << i;
            }
            #[cfg(not(CONFIG_NEED_SG_DMA_LENGTH))]
            {
                e.length = 64 << i;
            }
        }
        let dir = |d: Direction| d.to_raw();
        let prep = |d, sg: &mut [bindings::scatterlist; 3], n| {
            // SAFETY: `raw` is the channel of a `VirtChan<Mock>` in an
            // `Arc`; `sg` is a list of three entries.
            unsafe {
                Ops::<Mock>::prep_slave_sg(raw, sg.as_mut_ptr(), n, dir(d), 0, ptr::null_mut())
            }
        };
        let unconfigured = prep(Direction::MemToDev, &mut sg, 3).is_null();
        let mut cfg = bindings::dma_slave_config {
            dst_addr: SG_FIFO,
            dst_addr_width: 4,
            ..Default::default()
        };
        // SAFETY: As above; `cfg` is valid for the call.
        let configured = unsafe { Ops::<Mock>::config(raw, &mut cfg) };
        let to_dev = !prep(Direction::MemToDev, &mut sg, 3).is_null();
        let got = (
            SG_ENTRIES.load(Ordering::Relaxed),
            SG_BYTES.load(Ordering::Relaxed),
            SG_DEV.load(Ordering::Relaxed),
        );
        // Not configured for the other direction; memory to memory is no
        // slave direction.
        let from_dev = prep(Direction::DevToMem, &mut sg, 3).is_null();
        let mem = prep(Direction::MemToMem, &mut sg, 3).is_null();
        #[cfg(CONFIG_NEED_SG_DMA_LENGTH)]
        {
            sg[1].dma_length = 0;
        }
        #[cfg(not(CONFIG_NEED_SG_DMA_LENGTH))]
        {
            sg[1].length = 0;
        }
        let empty_entry = prep(Direction::MemToDev, &mut sg, 3).is_null();
        let empty_list = prep(Direction::MemToDev, &mut sg, 0).is_null();
        let calls = c.data().load(Ordering::Relaxed);
        release(&c);
        assert!(unconfigured);
        assert_eq!(configured, 0);
        assert!(to_dev);
        assert_eq!(got, (3, 64 + 128 + 256, true));
        assert!(from_dev);
        assert!(mem);
        assert!(empty_entry);
        assert!(empty_list);
        // The hook took the configuration, `prep_slave_sg` ran once.
        assert_eq!(calls, 2);
        Ok(())
    }

    /// A cyclic transfer whose period does not divide its buffer, or in a
    /// direction not configured, is refused before the driver sees it.
    #[test]
    fn cyclic_is_checked() -> Result {
        let faux = faux::Registration::new(c"kunit_cyclic", None)?;
        let c = chan_with(&faux, 0)?;
        let raw = c.chan.get();
        let cyclic = |len, period| {
            // SAFETY: `raw` is the channel of a `VirtChan<Mock>` in an `Arc`.
            unsafe {
                Ops::<Mock>::prep_cyclic(raw, 0x4000, len, period, Direction::DevToMem.to_raw(), 0)
            }
            .is_null()
        };
        let unconfigured = cyclic(4096, 1024);
        let mut cfg = bindings::dma_slave_config {
            src_addr: 0x9000,
            src_addr_width: 2,
            ..Default::default()
        };
        // SAFETY: As above; `cfg` is valid for the call.
        let configured = unsafe { Ops::<Mock>::config(raw, &mut cfg) };
        let bad_period = cyclic(4096, 1000);
        let no_period = cyclic(4096, 0);
        let good = !cyclic(4096, 1024);
        let calls = c.data().load(Ordering::Relaxed);
        release(&c);
        assert!(unconfigured);
        assert_eq!(configured, 0);
        assert!(bad_period);
        assert!(no_period);
        assert!(good);
        assert_eq!(calls, 2);
        Ok(())
    }
}
