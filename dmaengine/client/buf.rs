// SPDX-License-Identifier: GPL-2.0

//! A client's buffers: owned by the client ([`DmaBuf`]), then moved into a
//! transfer and mapped for the device (`Mapped`) until the channel
//! synchronized.

use crate::dmaengine::{
    bindings,
    DmaAddress, //
};
use core::ffi::c_void;
use kernel::prelude::*;

/// A CPU buffer owned by the client;
/// [`Channel::submit`](super::Channel::submit) moves it into the transfer
/// and maps it for the device.
pub struct DmaBuf {
    data: KVec<u8>,
}

impl DmaBuf {
    /// A zeroed buffer of `len` bytes.  `EINVAL` for an empty one: there is
    /// nothing to map for DMA.
    pub fn new(len: usize) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }
        let mut data = KVec::with_capacity(len, GFP_KERNEL)?;
        data.resize(len, 0, GFP_KERNEL)?;
        Ok(Self { data })
    }

    /// The contents.
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    /// The contents, for writing.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// A buffer mapped for the device.  Dropping it unmaps it.
///
/// # Invariants
///
/// `buf` is `Some` and mapped at `addr` for `dev` until [`Mapped::into_buf`].
pub(super) struct Mapped {
    dev: *mut bindings::device,
    buf: Option<DmaBuf>,
    /// The device's address of the buffer.
    pub(super) addr: DmaAddress,
    /// Its length.
    pub(super) len: usize,
}

impl Mapped {
    pub(super) fn new(dev: *mut bindings::device, mut buf: DmaBuf) -> Result<Self> {
        let len = buf.len();
        if len == 0 {
            // `DmaBuf::new` refuses these; a dangling pointer must never be
            // mapped.
            return Err(EINVAL);
        }
        let p = buf.as_mut_slice().as_mut_ptr().cast::<c_void>();
        // SAFETY: `p..p+len` is a live kmalloc buffer we own; `dev` is the
        // held channel's DMA device.
        let addr = unsafe {
            bindings::dma_map_single_attrs(
                dev,
                p,
                len,
                kernel::dma::DataDirection::Bidirectional.into(),
                0,
            )
        };
        // SAFETY: `addr` was just returned by `dma_map_single` for `dev`.
        if unsafe { bindings::dma_mapping_error(dev, addr) } != 0 {
            return Err(ENOMEM);
        }
        // INVARIANT: mapped above.
        Ok(Self {
            dev,
            buf: Some(buf),
            addr,
            len,
        })
    }

    fn unmap(&mut self) -> Option<DmaBuf> {
        let buf = self.buf.take()?;
        // SAFETY: By the type invariant `addr` maps `buf` for `dev`; the
        // device is done with it (the channel synchronized).
        unsafe {
            bindings::dma_unmap_single_attrs(
                self.dev,
                self.addr,
                self.len,
                kernel::dma::DataDirection::Bidirectional.into(),
                0,
            )
        };
        Some(buf)
    }

    pub(super) fn into_buf(mut self) -> Option<DmaBuf> {
        self.unmap()
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        drop(self.unmap());
    }
}
