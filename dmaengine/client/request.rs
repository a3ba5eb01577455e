// SPDX-License-Identifier: GPL-2.0

//! Channel requests: `dma_request_channel()` with a filter by name, device
//! and termination support.

use super::Channel;
use crate::dmaengine::{
    bindings,
    Cap, //
};
use core::{
    ffi::c_void,
    ptr, //
};
use kernel::prelude::*;

/// What a held channel is: its name and its device's capabilities.
impl Channel {
    /// The channel's name, e.g. `dma0chan0`.
    pub fn name(&self) -> &CStr {
        // SAFETY: The name of a held channel is a valid string that lives
        // as long as the channel.
        unsafe { CStr::from_char_ptr(bindings::dma_chan_name(self.raw())) }
    }

    /// Whether the channel's device has capability `cap`.
    pub fn has_cap(&self, cap: Cap) -> bool {
        // SAFETY: By the type invariant the channel is held, so it has a
        // device.
        unsafe {
            bindings::__dma_has_cap(cap.to_raw(), &raw mut (*(*self.raw()).device).cap_mask) != 0
        }
    }
}

/// What [`chan_filter`] looks for.
struct ChanFilter<'a> {
    chan_name: Option<&'a CStr>,
    dev_name: Option<&'a CStr>,
    need_sync: bool,
}

/// The filter of `__dma_request_channel()`: a channel named `chan_name` on
/// the device named `dev_name`, if given; with `need_sync` only one whose
/// provider can synchronize.
///
/// # Safety
///
/// Called by dmaengine with a registered channel and the `ChanFilter` that
/// [`request_chan_by_mask`] passed.
unsafe extern "C" fn chan_filter(chan: *mut bindings::dma_chan, param: *mut c_void) -> bool {
    // SAFETY: `param` is the `ChanFilter` of the ongoing request.
    let f = unsafe { &*param.cast::<ChanFilter<'_>>() };
    // SAFETY: A registered channel has a name and a device with a name,
    // valid for the duration of the call.
    let (name, dev) = unsafe {
        (
            CStr::from_char_ptr(bindings::dma_chan_name(chan)),
            CStr::from_char_ptr(bindings::dev_name((*(*chan).device).dev)),
        )
    };
    f.chan_name.is_none_or(|n| n.is_empty() || n == name)
        && f.dev_name.is_none_or(|n| n.is_empty() || n == dev)
        // SAFETY: As above.
        && (!f.need_sync || unsafe { chan_can_synchronize(chan) })
}

/// A free channel with `cap` that [`chan_filter`] accepts
/// (`dma_request_channel()`), or null.
pub(super) fn request_chan_by_mask(
    cap: Cap,
    chan_name: Option<&CStr>,
    dev_name: Option<&CStr>,
    need_sync: bool,
) -> *mut bindings::dma_chan {
    let mut mask = bindings::dma_cap_mask_t::default();
    // SAFETY: `mask` is a valid capability mask.
    unsafe { bindings::__dma_cap_set(cap.to_raw(), &mut mask) };
    let f = ChanFilter {
        chan_name,
        dev_name,
        need_sync,
    };
    // SAFETY: `mask` and `f` live for the duration of the call, which is
    // when the filter runs.
    unsafe {
        bindings::__dma_request_channel(
            &mask,
            Some(chan_filter),
            ptr::from_ref(&f).cast_mut().cast(),
            ptr::null_mut(),
        )
    }
}

/// Whether `chan`'s provider keeps the termination contract: it can stop a
/// channel (`device_terminate_all`) and wait for it (`device_synchronize`).
/// Without the latter `dmaengine_synchronize()` returns at once.
///
/// # Safety
///
/// `chan` must be a registered channel.
pub(super) unsafe fn chan_can_synchronize(chan: *mut bindings::dma_chan) -> bool {
    // SAFETY: A registered channel has a device (the caller's promise).
    let d = unsafe { &*(*chan).device };
    d.device_terminate_all.is_some() && d.device_synchronize.is_some()
}
