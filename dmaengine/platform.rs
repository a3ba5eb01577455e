// SPDX-License-Identifier: GPL-2.0

//! A platform device that a module creates for itself, and a platform
//! driver that userspace cannot unbind.
//!
//! A software DMA engine has no firmware node, so its module registers the
//! device its platform driver binds to.  dmaengine needs both: a bound driver
//! (`dma_async_device_register()` takes the module owner from
//! `dev->driver->owner`) and a DMA mask.  Dropping [`PlatformDevice`]
//! unregisters it.
//!
//! A DMA provider must not be unbound while a client holds one of its
//! channels: the client keeps calling into the channel.  The client's
//! module reference keeps the provider's module loaded, but the sysfs
//! `unbind` file would go around it.  [`NoUnbind`] registers the driver with
//! `suppress_bind_attrs`, as the faux bus does: then the device goes away
//! only with the module, when no client is left.
//!
//! C header: [`include/linux/platform_device.h`](srctree/include/linux/platform_device.h)

use super::bindings as rde;
use core::marker::PhantomData;
use kernel::{
    bindings,
    driver,
    platform,
    prelude::*,
    types::Opaque,
    ThisModule, //
};

/// Registration adapter of a platform driver `D` without sysfs `bind` and
/// `unbind` files: use `driver::Registration<NoUnbind<D>>` where
/// `driver::Registration<platform::Adapter<D>>` would be.
pub struct NoUnbind<D: platform::Driver>(PhantomData<D>);

// SAFETY: The layout is that of `platform::Adapter<D>`, which guarantees it.
unsafe impl<D: platform::Driver + 'static> driver::DriverLayout for NoUnbind<D> {
    type DriverType = <platform::Adapter<D> as driver::DriverLayout>::DriverType;
    type DriverData<'bound> = <platform::Adapter<D> as driver::DriverLayout>::DriverData<'bound>;
    const DEVICE_DRIVER_OFFSET: usize =
        <platform::Adapter<D> as driver::DriverLayout>::DEVICE_DRIVER_OFFSET;
}

// SAFETY: Registration and unregistration are `platform::Adapter<D>`'s,
// which keep its contract; the only difference is one field set before.
unsafe impl<D: platform::Driver + 'static> driver::RegistrationOps for NoUnbind<D> {
    /// # Safety
    ///
    /// As for [`driver::RegistrationOps::register`].
    unsafe fn register(
        reg: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        // SAFETY: `reg` is being initialised and not registered yet.
        unsafe { (*reg.get()).driver.suppress_bind_attrs = true };
        // SAFETY: Forwarded from the caller.
        unsafe { <platform::Adapter<D> as driver::RegistrationOps>::register(reg, name, module) }
    }

    /// # Safety
    ///
    /// As for [`driver::RegistrationOps::unregister`].
    unsafe fn unregister(reg: &Opaque<Self::DriverType>) {
        // SAFETY: Forwarded from the caller.
        unsafe { <platform::Adapter<D> as driver::RegistrationOps>::unregister(reg) }
    }
}

/// A registered platform device.
///
/// # Invariants
///
/// `pdev` is a platform device registered by [`PlatformDevice::register`]
/// and not yet unregistered.
pub struct PlatformDevice {
    pdev: *mut bindings::platform_device,
}

// SAFETY: A registered platform device may be unregistered from any thread.
unsafe impl Send for PlatformDevice {}
// SAFETY: `&PlatformDevice` allows nothing.
unsafe impl Sync for PlatformDevice {}

impl PlatformDevice {
    /// Registers a platform device named `name` with a 64-bit DMA mask.
    ///
    /// With `coherent`, the DMA API treats it as cache-coherent, which a
    /// software engine that copies through the CPU's caches is: streaming
    /// mappings then do no cache maintenance that would discard its writes.
    pub fn register(name: &'static CStr, coherent: bool) -> Result<Self> {
        let info = bindings::platform_device_info {
            name: name.as_char_ptr(),
            id: bindings::PLATFORM_DEVID_NONE,
            dma_mask: u64::MAX,
            ..Default::default()
        };
        // SAFETY: `info` is a valid description; the name outlives the
        // device (`'static`).
        let pdev =
            kernel::error::from_err_ptr(unsafe { bindings::platform_device_register_full(&info) })?;
        if coherent {
            // SAFETY: `pdev` was just registered; no driver is bound yet
            // that could be mapping buffers.
            unsafe { rde::dev_set_dma_coherent(&raw mut (*pdev).dev) };
        }
        // INVARIANT: registered above.
        Ok(Self { pdev })
    }
}

impl Drop for PlatformDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `pdev` is registered.
        unsafe { bindings::platform_device_unregister(self.pdev) };
    }
}
