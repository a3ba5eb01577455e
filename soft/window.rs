// SPDX-License-Identifier: GPL-2.0

//! The engine's window on a client's DMA memory, as a controller's
//! descriptor holds bus addresses.

use super::bindings;
use super::BurstGate;
use crate::dmaengine::{
    provider::{
        Provider,
        VirtChan, //
    },
    DmaAddress, //
};
use core::ptr::{
    self,
    NonNull, //
};
use kernel::prelude::*;

/// Software-engine access to the DMA range `[addr, addr + len)` of a
/// channel's device, as a DMA controller would have it: a window that the
/// engine copies into and out of, like bus addresses.
///
/// Translated and checked (it must lie in the linear map) once, so that
/// the bursts of a descriptor cost a bounds check each rather than an
/// address lookup.  Fails with `EFAULT` for an address the CPU cannot
/// reach.
///
/// # Safety
///
/// - `addr` and `len` come from a descriptor that a client prepared on
///   `chan` (the arguments of a `prep_*` call): the DMA-engine contract then
///   lets the engine use the memory until that descriptor completes, or,
///   once it is terminated, until `synchronize` returns.
/// - The returned range (and every copy of it) is accessed only while its
///   descriptor is submitted and not yet completed or terminated; after
///   `terminate_all` took it away, only until the driver calls
///   [`VirtChan::engine_stopped`], having called
///   [`VirtChan::engine_stopping`] in `terminate_all` if an access could
///   still come.
pub unsafe fn engine_range<P: Provider>(
    chan: &VirtChan<P>,
    addr: DmaAddress,
    len: usize,
) -> Result<EngineRange> {
    let dev = ptr::from_ref(chan.dev())
        .cast_mut()
        .cast::<bindings::device>();
    // SAFETY: `dev` is a live device (the channel holds a reference).
    let p = unsafe { bindings::rde_dma_range_to_virt(dev, addr, len) };
    let base = NonNull::new(p.cast::<u8>()).ok_or(EFAULT)?;
    // INVARIANT: `rde_dma_range_to_virt` checked that all `len` bytes at `p`
    // are in the linear map; the caller keeps to the time they may be used.
    Ok(EngineRange { base, len })
}

/// The two ranges of a copy of `len` bytes, from `src` to `dst`, as
/// [`engine_range`] makes each, in one call.
///
/// # Safety
///
/// As for [`engine_range`], for both ranges.
pub unsafe fn engine_pair<P: Provider>(
    chan: &VirtChan<P>,
    dst: DmaAddress,
    src: DmaAddress,
    len: usize,
) -> Result<EnginePair> {
    let dev = ptr::from_ref(chan.dev())
        .cast_mut()
        .cast::<bindings::device>();
    // SAFETY: `dev` is a live device (the channel holds a reference).
    let p = unsafe { bindings::rde_dma_pair_to_virt(dev, dst, src, len) };
    let (Some(dst), Some(src)) = (
        NonNull::new(p.dst.cast::<u8>()),
        NonNull::new(p.src.cast::<u8>()),
    ) else {
        return Err(EFAULT);
    };
    // INVARIANT: `rde_dma_pair_to_virt` checked that all `len` bytes at
    // `dst` and at `src` are in the linear map; the caller keeps to the time
    // they may be used.
    Ok(EnginePair { dst, src, len })
}

/// A DMA range of a channel's device as the software engine sees it; see
/// [`engine_range`].  Made when a descriptor is prepared and kept in
/// it, like the bus addresses a DMA controller's descriptor holds.
///
/// # Invariants
///
/// `base` is the linear-map address of `len` bytes of RAM that a client
/// handed to the channel for DMA, and accesses happen only within the time
/// that [`engine_range`]'s `# Safety` allows.
#[derive(Clone, Copy)]
pub struct EngineRange {
    base: NonNull<u8>,
    len: usize,
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
                Ok(unsafe { self.base.as_ptr().add(off) })
            }
            _ => Err(EINVAL),
        }
    }

    /// Fills bytes `[off, end)` of this range with `value`, in bursts of at
    /// most `burst` bytes, as a DMA engine moves a descriptor: each burst
    /// through `gate` (which publishes the offset reached, and refuses the
    /// burst once a pause is asked), then `step(reached)` says whether to go
    /// on.  The bounds are checked once, before the first burst: `EINVAL`,
    /// with nothing written, unless `off <= end <= len` and `burst > 0`.
    /// Returns the offset reached.
    pub fn fill_bursts(
        &self,
        value: u8,
        off: usize,
        end: usize,
        burst: usize,
        gate: &BurstGate,
        step: impl FnMut(usize) -> bool,
    ) -> Result<usize> {
        let d = self.base.as_ptr();
        bursts(self.len, off, end, burst, gate, step, |o, n| {
            // SAFETY: `o + n <= end <= len` (`bursts`): in bounds of a range
            // a client handed over for DMA, accessed while it allows (type
            // invariant, `engine_range`).
            unsafe { ptr::write_bytes(d.add(o), value, n) }
        })
    }

    /// Reads `bytes.len()` bytes at `off` into `bytes`.
    pub fn read(&self, off: usize, bytes: &mut [u8]) -> Result {
        let d = self.at(off, bytes.len())?;
        // SAFETY: `d` is `bytes.len()` bytes in bounds of a range a client
        // handed over for DMA, accessed while it allows (type invariant,
        // `engine_range`); `bytes` is a distinct Rust slice.
        unsafe { ptr::copy_nonoverlapping(d.cast_const(), bytes.as_mut_ptr(), bytes.len()) };
        Ok(())
    }

    /// Writes `bytes` at `off`.
    pub fn write(&self, off: usize, bytes: &[u8]) -> Result {
        let d = self.at(off, bytes.len())?;
        // SAFETY: `d` is `bytes.len()` bytes in bounds of a range a client
        // handed over for DMA, accessed while it allows (type invariant,
        // `engine_range`); `bytes` is a distinct Rust slice.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), d, bytes.len()) };
        Ok(())
    }
}

/// Two [`EngineRange`]s of the same length, the destination and the source
/// of a copy ([`engine_pair`]): three words, where two ranges take
/// four, so that a driver's descriptor holding one stays small enough to
/// be moved without a call to `memcpy`.
///
/// # Invariants
///
/// `dst` and `src` are the bases of two [`EngineRange`]s of at least `len`
/// bytes each, with their invariants.
#[derive(Clone, Copy)]
pub struct EnginePair {
    dst: NonNull<u8>,
    src: NonNull<u8>,
    len: usize,
}

// SAFETY: As for `EngineRange`.
unsafe impl Send for EnginePair {}
// SAFETY: As above.
unsafe impl Sync for EnginePair {}

impl EnginePair {
    /// The length of the copy in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the copy is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies bytes `[off, end)` of the source to the same offsets of the
    /// destination, in bursts, as [`EngineRange::fill_bursts`] fills:
    /// `EINVAL`, with nothing copied, unless `off <= end <= len` and
    /// `burst > 0`.  Returns the offset reached.
    pub fn copy_bursts(
        &self,
        off: usize,
        end: usize,
        burst: usize,
        gate: &BurstGate,
        step: impl FnMut(usize) -> bool,
    ) -> Result<usize> {
        let (d, s) = (self.dst.as_ptr(), self.src.as_ptr());
        bursts(self.len, off, end, burst, gate, step, |o, n| {
            // SAFETY: `o + n <= end <= len` (`bursts`), and both ranges hold
            // `len` bytes (type invariant): in bounds of ranges a client
            // handed over for DMA, accessed while it allows (`engine_range`).
            // `copy` (memmove), not `copy_nonoverlapping`: dmaengine forbids
            // overlapping memcpy, but soundness must not rest on every C
            // client obeying that.
            unsafe { ptr::copy(s.add(o).cast_const(), d.add(o), n) }
        })
    }
}

/// The burst loop of `fill_bursts` and `copy_bursts`: checks
/// `off <= end <= len` and `burst > 0` once, then `mv(o, n)` moves `n > 0`
/// bytes at `o`, with `o + n <= end`, through `gate`, and `step` says
/// whether to go on.
fn bursts(
    len: usize,
    mut off: usize,
    end: usize,
    burst: usize,
    gate: &BurstGate,
    mut step: impl FnMut(usize) -> bool,
    mut mv: impl FnMut(usize, usize),
) -> Result<usize> {
    if off > end || end > len || burst == 0 {
        return Err(EINVAL);
    }
    while off < end {
        let n = burst.min(end - off);
        if !gate.burst(off + n, || mv(off, n)) {
            break;
        }
        off += n;
        if !step(off) {
            break;
        }
    }
    Ok(off)
}
