// SPDX-License-Identifier: GPL-2.0

//! Registration of a `struct dma_device` with its channels, and its
//! reference-counted lifetime.

use super::{
    ops::Ops,
    Dispatch,
    Provider,
    VirtChan, //
};
use crate::dmaengine::test_build;
use crate::dmaengine::{
    bindings,
    Cap,
    Direction, //
};
use core::{
    marker::PhantomPinned,
    mem::{
        offset_of,
        ManuallyDrop, //
    },
    ptr,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};
use kernel::{
    device,
    devres::Devres,
    prelude::*,
    sync::Arc,
    types::Opaque, //
};

/// A `struct dma_device` at a stable address, and whether dmaengine has
/// released it (`device_release`: the last client put its channel).
#[repr(C)]
struct DmaDevice {
    dd: Opaque<bindings::dma_device>,
    released: AtomicBool,
    _pin: PhantomPinned,
}

/// Waits until no dmaengine core call holds `dma_list_mutex`, so that a
/// `dma_release_channel()` that called `device_release` has finished
/// writing the channel.  Sleeps.
///
/// dmaengine exports no lock or flush for it, so this calls
/// `__dma_request_channel()`, which takes the mutex, asking for a channel
/// of a device tree node that no device has (one of its own): it looks at
/// every device's node, finds none, and changes nothing.
fn wait_for_dma_list() {
    if test_build::SKIP_LIST_BARRIER {
        return;
    }
    let mask = bindings::dma_cap_mask_t::default();
    let node = Opaque::<bindings::device_node>::zeroed();
    // SAFETY: `mask` is valid for the call; `node` is only compared with the
    // devices' nodes, which it is not (no device was made with it); no
    // dmaengine lock is held here.
    let chan =
        unsafe { bindings::__dma_request_channel(&mask, None, core::ptr::null_mut(), node.get()) };
    kernel::warn_on!(!chan.is_null());
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
    // frees it only after this ran and the caller released
    // `dma_list_mutex`, and otherwise leaks it.
    unsafe { (*dev).released.store(true, Ordering::Release) };
    if test_build::RELEASE_WINDOW {
        kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1500));
    }
}

/// `of_dma_xlate`: the channel a device-tree request names
/// ([`Provider::of_xlate`]), taken for the client
/// (by `of_dma_xlate_by_chan_id()`), or null.
///
/// # Safety
///
/// Called by the OF DMA core, under its lock, with a valid request and the
/// `of_dma` that `Registration::build` registered: its data is the
/// `dma_device` of a live `Registration<P>`, whose drop unregisters it
/// from OF first.
pub(super) unsafe extern "C" fn of_xlate<P: Provider>(
    spec: *mut bindings::of_phandle_args,
    ofdma: *mut bindings::of_dma,
) -> *mut bindings::dma_chan {
    // SAFETY: As the caller promises.
    let (d, spec) = unsafe { ((*ofdma).of_dma_data.cast::<bindings::dma_device>(), &*spec) };
    let args = &spec.args[..(spec.args_count as usize).min(spec.args.len())];
    // SAFETY: `d` is registered: its channel list is set and stays so, and
    // links the `device_node` of each channel.
    let n = unsafe {
        let head = &raw mut (*d).channels;
        let mut pos = (*head).next;
        let mut n = 0;
        while pos != head {
            n += 1;
            pos = (*pos).next;
        }
        n
    };
    match P::of_xlate(args, n) {
        Ok(index) => {
            // SAFETY: `d` is registered: its channel list links the
            // `device_node` of each channel, each the `chan` field of one
            // of our `VirtChan<P>`s (`Registration::new`), which live as
            // long as the registration.
            let refused = unsafe {
                let head = &raw mut (*d).channels;
                let mut pos = (*head).next;
                let mut refused = false;
                while pos != head {
                    let c = pos
                        .cast::<u8>()
                        .sub(offset_of!(bindings::dma_chan, device_node))
                        .cast::<bindings::dma_chan>();
                    if u32::try_from((*c).chan_id) == Ok(index) {
                        refused = P::of_check(VirtChan::<P>::from_raw(c), args).is_err();
                        break;
                    }
                    pos = (*pos).next;
                }
                refused
            };
            if refused {
                // `of_check` said why.
                return ptr::null_mut();
            }
            // The request as the kernel's by-index xlate takes it.
            let mut by_id = bindings::of_phandle_args {
                np: spec.np,
                args_count: 1,
                ..Default::default()
            };
            by_id.args[0] = index;
            // SAFETY: `by_id` is valid for the call; `ofdma`'s data is our
            // registered `dma_device`, whose channel `index` (`chan_id`)
            // this takes for the client, or returns null if it is taken.
            unsafe { bindings::of_dma_xlate_by_chan_id(&mut by_id, ofdma) }
        }
        Err(_) => {
            // SAFETY: `d` is registered, with its device.
            let dev: &device::Device = unsafe { device::Device::from_raw((*d).dev) };
            dev_err!(dev, "no DMA channel for the device-tree request {args:?}\n");
            ptr::null_mut()
        }
    }
}

/// A registered DMA device with its channels.  Dropping it unregisters.
///
/// The constructors hand it out device-managed, as a [`Devres`] on the
/// bound device it was made for: dropping the `Devres` unregisters, and so
/// does the device's unbind, at the latest.  A driver keeps the handle in
/// its bound data to choose the order of teardown; one it loses
/// (`mem::forget`, a reference cycle) is still unregistered when the
/// driver is, before its module's code goes.
///
/// Dropping it while a client still holds one of its channels is a bug of
/// the driver (its bus driver should refuse unbind, with
/// `suppress_bind_attrs`, and the client's reference on the module keeps it
/// loaded): the channels are stopped, the device is
/// unregistered, and its memory is leaked, with an error, since the client
/// may still call into it.
///
/// # Invariants
///
/// `dd` is registered with dmaengine (if `registered`); `chans` hold the
/// channels linked into `dd`.
pub struct Registration<P: Provider> {
    /// Freed by `drop`, unless a client still holds the device.
    dd: ManuallyDrop<Pin<KBox<DmaDevice>>>,
    chans: KVec<Arc<VirtChan<P>>>,
    registered: bool,
    /// The device's device-tree node, registered as a DMA controller
    /// ([`of_xlate`]); null if it has none.
    of_node: *mut bindings::device_node,
}

// SAFETY: The registration is only used to unregister, from any thread.
unsafe impl<P: Provider> Send for Registration<P> {}
// SAFETY: `&Registration` gives access to channels only, which are `Sync`.
unsafe impl<P: Provider> Sync for Registration<P> {}

impl<P: Provider> Registration<P> {
    /// Creates `nr_chans` channels on `dev` and registers them with
    /// dmaengine.  `chan_init(i)` makes the engine state of channel `i` and
    /// the initialiser of its (pinned) data.  Callbacks are dispatched from
    /// a tasklet ([`Dispatch::Tasklet`]).
    ///
    /// `module` is the driver's (`THIS_MODULE`): a client that holds a
    /// channel holds a reference on it, so the driver's code stays while
    /// clients can call it.  dmaengine itself pins only the module of
    /// `dev`'s bus driver, which a faux device has none of.
    pub fn new<I: PinInit<P::ChanData, Error>>(
        dev: &device::Device<device::Bound>,
        module: &'static ThisModule,
        caps: &[Cap],
        nr_chans: u32,
        chan_init: impl Fn(u32) -> Result<(P::Engine, I)>,
    ) -> Result<Devres<Self>> {
        Self::new_with_setup(dev, module, caps, nr_chans, chan_init, |_| Ok(()))
    }

    /// As [`Registration::new`], with `setup` called on the channels after
    /// they are made and before dmaengine sees them: a client may issue
    /// work as soon as they are registered, so this is where a driver hands
    /// them to interrupt handlers it requested before (an interrupt must
    /// find the channel whose event it reports).  An error from `setup`
    /// unwinds: nothing was registered.
    pub fn new_with_setup<I: PinInit<P::ChanData, Error>>(
        dev: &device::Device<device::Bound>,
        module: &'static ThisModule,
        caps: &[Cap],
        nr_chans: u32,
        chan_init: impl Fn(u32) -> Result<(P::Engine, I)>,
        setup: impl FnOnce(&[Arc<VirtChan<P>>]) -> Result,
    ) -> Result<Devres<Self>> {
        // A failed build is an `Err` initialiser: `Devres::new` returns it.
        let reg = Self::build(
            dev,
            module,
            caps,
            nr_chans,
            Dispatch::Tasklet,
            chan_init,
            setup,
        );
        Devres::new(dev, reg)
    }

    /// As [`Registration::new`], with the callback dispatch of every
    /// channel chosen by `dispatch`.
    pub fn with_dispatch<I: PinInit<P::ChanData, Error>>(
        dev: &device::Device<device::Bound>,
        module: &'static ThisModule,
        caps: &[Cap],
        nr_chans: u32,
        dispatch: Dispatch,
        chan_init: impl Fn(u32) -> Result<(P::Engine, I)>,
    ) -> Result<Devres<Self>> {
        let reg = Self::build(dev, module, caps, nr_chans, dispatch, chan_init, |_| Ok(()));
        Devres::new(dev, reg)
    }

    /// The constructors' common part.
    fn build<I: PinInit<P::ChanData, Error>>(
        dev: &device::Device<device::Bound>,
        module: &'static ThisModule,
        caps: &[Cap],
        nr_chans: u32,
        dispatch: Dispatch,
        chan_init: impl Fn(u32) -> Result<(P::Engine, I)>,
        setup: impl FnOnce(&[Arc<VirtChan<P>>]) -> Result,
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
        let mut chans = KVec::new();
        let mut reg = Self {
            dd: ManuallyDrop::new(dd),
            chans: KVec::new(),
            registered: false,
            of_node: ptr::null_mut(),
        };
        // SAFETY: `d` is a zeroed `dma_device` nobody else sees yet.
        unsafe { bindings::INIT_LIST_HEAD(&raw mut (*d).channels) };
        for i in 0..nr_chans {
            let (engine, data) = chan_init(i)?;
            let c = Arc::pin_init(
                VirtChan::new(i, normal.into(), module, dispatch, engine, data),
                GFP_KERNEL,
            )?;
            let ch = c.chan.get();
            // SAFETY: `d` is being set up; the channel lives until `reg` drops.
            unsafe {
                (*ch).device = d;
                bindings::list_add_tail(&raw mut (*ch).device_node, &raw mut (*d).channels);
            }
            chans.push(c, GFP_KERNEL)?;
        }
        reg.chans = chans;
        setup(&reg.chans)?;
        // SAFETY: `d` is ours until `dma_async_device_register`.
        unsafe {
            (*d).dev = dev_raw;
            for c in caps {
                bindings::__dma_cap_set(c.to_raw(), &mut (*d).cap_mask);
            }
            // Private: the channels are only for `dma_request_channel()`
            // users, never for async_tx or `dmaengine_get()`, whose
            // descriptors rely on `DMA_CTRL_ACK` reuse and dependency chains
            // that this framework does not implement.
            bindings::__dma_cap_set(Cap::Private.to_raw(), &mut (*d).cap_mask);
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
            if P::HAS_PREP_SLAVE_SG {
                (*d).device_prep_slave_sg = Some(Ops::<P>::prep_slave_sg);
            }
            // The framework keeps and checks the slave configuration of a
            // channel with device directions.  A memory-to-memory engine
            // has none: dmaengine_slave_config() then gets -ENOSYS from
            // the core, as from a C driver without device_config.
            if P::DIRECTIONS.iter().any(|d| *d != Direction::MemToMem) {
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
            // What the driver declares: `dma_get_slave_caps()` reports it
            // to clients, which choose channels and configurations by it.
            let widths = P::ADDR_WIDTHS
                .iter()
                .fold(0u32, |m, &w| m | 1u32.checked_shl(w).unwrap_or(0));
            (*d).src_addr_widths = widths;
            (*d).dst_addr_widths = widths;
            (*d).directions = P::DIRECTIONS.iter().fold(0, |m, d| m | (1 << d.to_raw()));
            (*d).max_burst = P::MAX_BURST;
            (*d).residue_granularity = P::RESIDUE_GRANULARITY.to_raw();
            kernel::error::to_result(bindings::dma_async_device_register(d))?;
        }
        // INVARIANT: registered, with the channels in `chans`.
        reg.registered = true;
        // Clients name a channel in the device tree (`dmas`): the device's
        // node is a DMA controller, unregistered first by `drop`.
        // SAFETY: `dev_raw` is the bound device, whose node stays while it is.
        let np = unsafe { (*dev_raw).of_node };
        if !np.is_null() {
            // SAFETY: `np` is valid (above); `d` is registered and lives
            // until `drop`, which unregisters `np` before anything else.
            kernel::error::to_result(unsafe {
                bindings::of_dma_controller_register(np, Some(of_xlate::<P>), d.cast())
            })?;
            reg.of_node = np;
        }
        Ok(reg)
    }

    /// The channels.
    pub fn chans(&self) -> &[Arc<VirtChan<P>>] {
        &self.chans
    }
}

impl<P: Provider> Drop for Registration<P> {
    fn drop(&mut self) {
        // 0. No device-tree request gets a channel any more (the OF core
        //    calls `of_xlate` under the lock this takes).
        if !self.of_node.is_null() {
            // SAFETY: Registered by `build` (the field is set only then).
            unsafe { bindings::of_dma_controller_free(self.of_node) };
        }
        // 1. Stop every channel and wait for it, as `terminate_sync` would:
        //    the engine acknowledged, no callback runs or is scheduled.
        //    (With no client left, `free_chan_resources` did so already.)
        for c in self.chans.iter() {
            VirtChan::terminate_for_release(c.as_arc_borrow(), "unregister");
            VirtChan::synchronize(c.as_arc_borrow());
        }
        // 2. Nothing new from here on: no descriptor, no engine work, no
        //    client.
        for c in self.chans.iter() {
            c.mark_dead();
        }
        // 3. Once more, now that nothing new can start: the driver waits for
        //    its hardware and interrupt handler, then no callback runs.
        //    After this no code of the driver runs for this device, so its
        //    module may go.
        for c in self.chans.iter() {
            P::synchronize(c.as_arc_borrow());
            c.quiesce();
        }
        if self.registered {
            let d = self.dd.dd.get();
            // SAFETY: `d` is registered (type invariant).
            unsafe { bindings::dma_async_device_unregister(d) };
            if test_build::RELEASE_WINDOW {
                kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1000));
            }
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
                core::mem::forget(core::mem::take(&mut self.chans));
                return;
            }
        }
        if self.registered {
            // `device_release` ran, but it may have been called by a
            // client's `dma_release_channel()` that got in after the
            // unregister: that goes on writing the channel (`chan->slave`,
            // `chan->dbg_client_name`) under `dma_list_mutex` after
            // `device_release` returns.
            wait_for_dma_list();
        }
        // SAFETY: Not registered, or released by dmaengine and no dmaengine
        // call is still in progress on it (the barrier above): nothing
        // refers to the device any more; dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.dd) };
    }
}

#[kunit_tests(rust_dma_engine_registration)]
mod tests {
    use super::*;
    use crate::dmaengine::{
        provider::{
            Inner,
            TxStatus,
            VirtChanRef, //
        },
        queue::Cookie,
        DmaAddress,
        Status, //
    };
    use kernel::faux;

    /// A provider that does nothing: what is tested is the registration.
    struct Idle;

    #[vtable]
    impl Provider for Idle {
        type Desc = ();
        type Engine = ();
        type ChanData = ();

        fn prep_memcpy(_: VirtChanRef<'_, Self>, _: DmaAddress, _: DmaAddress, _: usize) -> Result {
            Ok(())
        }

        fn issue_pending(_: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
            g.issue_pending();
        }

        fn tx_status(_: VirtChanRef<'_, Self>, _: &Inner<Self>, _: Cookie) -> TxStatus {
            TxStatus {
                status: Status::InProgress,
                residue: 0,
                in_flight_bytes: 0,
            }
        }

        fn terminate_all(_: VirtChanRef<'_, Self>, _: &mut Inner<Self>) -> Result {
            Ok(())
        }

        // Channel 1 serves no device-tree request (as a PL330 channel
        // beyond the request lines).
        fn of_check(chan: VirtChanRef<'_, Self>, _: &[u32]) -> Result {
            if chan.index() == 1 {
                return Err(EINVAL);
            }
            Ok(())
        }
    }

    /// A device-tree request (`dmas = <&dma N>`) gets channel `N`, taken
    /// for its client until released; one for a channel that does not
    /// exist, with the wrong number of cells, or that `of_check` refuses,
    /// gets none.
    #[test]
    fn of_xlate_takes_the_named_channel() -> Result {
        let faux = faux::Registration::new(c"kunit_of_xlate", None)?;
        let fdev: &faux::Device<device::Bound> = faux.as_ref();
        let dev: &device::Device<device::Bound> = fdev.as_ref();
        let reg = Registration::<Idle>::new(
            dev,
            kernel::module::this_module::<crate::LocalModule>(),
            &[Cap::Memcpy],
            3,
            |_| Ok(((), Ok::<(), Error>(()))),
        )?;
        let d = reg.access(dev)?.dd.dd.get();
        let mut ofdma = bindings::of_dma {
            of_dma_data: d.cast(),
            ..Default::default()
        };
        let mut xlate = |args: &[u32]| {
            let mut spec = bindings::of_phandle_args {
                // CAST: a few cells.
                args_count: args.len() as i32,
                ..Default::default()
            };
            spec.args[..args.len()].copy_from_slice(args);
            // SAFETY: `spec` is valid; `ofdma`'s data is the `dma_device`
            // of `reg`, registered and live.
            unsafe { of_xlate::<Idle>(&mut spec, &mut ofdma) }
        };
        let two = xlate(&[2]);
        // SAFETY: A non-null result is a registered channel of `reg`.
        let id = (!two.is_null()).then(|| unsafe { (*two).chan_id });
        let taken = xlate(&[2]).is_null();
        let missing = xlate(&[3]).is_null();
        let no_cells = xlate(&[]).is_null();
        let two_cells = xlate(&[0, 1]).is_null();
        let checked = xlate(&[1]).is_null();
        if !two.is_null() {
            // SAFETY: Taken by `of_xlate` for this test, released once.
            unsafe { bindings::dma_release_channel(two) };
        }
        let again = xlate(&[2]);
        if !again.is_null() {
            // SAFETY: As above.
            unsafe { bindings::dma_release_channel(again) };
        }
        drop(reg);
        assert_eq!(id, Some(2));
        assert!(taken);
        assert!(missing);
        assert!(no_cells);
        assert!(two_cells);
        assert!(checked);
        assert!(!again.is_null());
        Ok(())
    }
}
