// SPDX-License-Identifier: GPL-2.0

//! A software engine's window on a client's DMA memory.

use core::ptr;
use kernel::prelude::*;

/// A DMA range of a channel's device as the software engine sees it; see
/// [`VirtChan::engine_range`](super::VirtChan::engine_range).  Made when a descriptor is prepared and kept in
/// it, like the bus addresses a DMA controller's descriptor holds.
///
/// # Invariants
///
/// `base` is the linear-map address of `len` bytes of RAM that a client
/// handed to the channel for DMA, and accesses happen only within the time
/// that [`VirtChan::engine_range`](super::VirtChan::engine_range)'s `# Safety` allows.
#[derive(Clone, Copy)]
pub struct EngineRange {
    pub(super) base: *mut u8,
    pub(super) len: usize,
}

// SAFETY: An `EngineRange` is an address range, as a `DmaAddress` is; access
// goes through the bounds-checked methods, from whichever thread runs the
// engine.
unsafe impl Send for EngineRange {}
// SAFETY: As above.
unsafe impl Sync for EngineRange {}

impl EngineRange {
    /// The range's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A pointer to `n` bytes at `off`, or `EINVAL` if they are not all in
    /// the range.
    fn at(&self, off: usize, n: usize) -> Result<*mut u8> {
        match off.checked_add(n) {
            Some(end) if end <= self.len => {
                // SAFETY: `off + n <= len`: in bounds of the range (type
                // invariant).
                Ok(unsafe { self.base.add(off) })
            }
            _ => Err(EINVAL),
        }
    }

    /// Copies `n` bytes at `src_off` of `src` to `off` of this range.
    pub fn copy_from(&self, off: usize, src: &EngineRange, src_off: usize, n: usize) -> Result {
        let d = self.at(off, n)?;
        let s = src.at(src_off, n)?;
        // SAFETY: Both are in bounds of ranges a client handed over for DMA,
        // accessed while it allows (type invariant, `VirtChan::engine_range`).  `copy` (memmove), not
        // `copy_nonoverlapping`: dmaengine forbids overlapping memcpy, but
        // soundness must not rest on every C client obeying that.
        unsafe { ptr::copy(s.cast_const(), d, n) };
        Ok(())
    }

    /// Fills `n` bytes at `off` with `value`.
    pub fn fill(&self, off: usize, value: u8, n: usize) -> Result {
        let d = self.at(off, n)?;
        // SAFETY: As for `copy_from`.
        unsafe { ptr::write_bytes(d, value, n) };
        Ok(())
    }

    /// Writes `bytes` at `off`.
    pub fn write(&self, off: usize, bytes: &[u8]) -> Result {
        let d = self.at(off, bytes.len())?;
        // SAFETY: As for `copy_from`; `bytes` is a distinct Rust slice.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), d, bytes.len()) };
        Ok(())
    }
}
