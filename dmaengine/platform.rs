// SPDX-License-Identifier: GPL-2.0

//! A platform device that a module creates for itself.
//!
//! A software DMA engine has no firmware node, so its module registers the
//! device its platform driver binds to.  dmaengine needs both: a bound driver
//! (`dma_async_device_register()` takes the module owner from
//! `dev->driver->owner`) and a DMA mask.  Dropping [`PlatformDevice`]
//! unregisters it.
//!
//! C header: [`include/linux/platform_device.h`](srctree/include/linux/platform_device.h)

use super::bindings as rde;
use kernel::{
    bindings,
    prelude::*, //
};

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
            unsafe { rde::rde_dev_set_dma_coherent(&raw mut (*pdev).dev) };
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
