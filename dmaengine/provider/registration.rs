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
    Cap, //
};
use core::{
    marker::PhantomPinned,
    mem::ManuallyDrop,
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
            // channel with device directions, and refuses it for others.
            (*d).device_config = Some(Ops::<P>::config);
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
