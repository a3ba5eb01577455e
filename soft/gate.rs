// SPDX-License-Identifier: GPL-2.0

//! The burst gate: progress and a synchronous pause.

use super::bindings;
use core::sync::atomic::{
    fence,
    AtomicBool,
    AtomicUsize,
    Ordering, //
};
use kernel::processor::cpu_relax;

/// A channel's burst status, as a controller has a "busy" bit and a
/// transfer count: the offset the active descriptor reached, published
/// after each burst (the residue), and the handshake that makes `pause`
/// synchronous (provider.rst: `device_pause` "should operate synchronously
/// on the channel").
///
/// Each burst moves with interrupts off, with `moving` set and `pausing`
/// read after a full barrier; [`BurstGate::pause`] sets `pausing` and,
/// after a full barrier, waits while `moving` is set.  The flags are Rust's
/// alone, so they are `core` atomics with `core` fences (a `SeqCst` fence
/// is `dmb ish` on arm, as `smp_mb()`, and inline, where the kernel crate's
/// barrier is a call).  Either the burst
/// sees the pause and does not move, or the pause sees the burst and waits
/// for it (the store-buffering pattern, which full barriers on both sides
/// forbid to miss both ways); a burst that ended is published (`Release`)
/// before `pause` returns (`Acquire`).  Interrupts off make the wait
/// finite in any context: a pause cannot interrupt, on the same CPU, the
/// burst it waits for, so it waits at most for one burst on another CPU.
#[derive(Default)]
pub struct BurstGate {
    /// Bytes of the active descriptor done (or of a cyclic buffer).
    pub progress: AtomicUsize,
    pausing: AtomicBool,
    moving: AtomicBool,
}

impl BurstGate {
    /// A gate with nothing done and no pause asked.
    pub const fn new() -> Self {
        Self {
            progress: AtomicUsize::new(0),
            pausing: AtomicBool::new(false),
            moving: AtomicBool::new(false),
        }
    }

    /// The engine: runs `mv` (one burst, which must not sleep) and
    /// publishes `reached` as the progress, unless a pause is asked; returns
    /// whether it did.
    #[inline]
    pub fn burst(&self, reached: usize, mv: impl FnOnce()) -> bool {
        // SAFETY: Restored below, on this CPU, before returning.
        let flags = unsafe { bindings::rde_local_irq_save() };
        self.moving.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let go = !self.pausing.load(Ordering::Relaxed);
        if go {
            mv();
            self.progress.store(reached, Ordering::Relaxed);
        }
        self.moving.store(false, Ordering::Release);
        // SAFETY: The flags saved above, on this CPU.
        unsafe { bindings::rde_local_irq_restore(flags) };
        go
    }

    /// The driver's `pause`: from now on no burst moves, and none is moving
    /// when this returns.  Any context; spins for at most one burst.
    pub fn pause(&self) {
        self.pausing.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        while self.moving.load(Ordering::Acquire) {
            cpu_relax();
        }
    }

    /// The driver's `resume` (or a terminate, which ends a pause): bursts
    /// may move again.
    pub fn unpause(&self) {
        self.pausing.store(false, Ordering::Relaxed);
    }

    /// Whether a pause is asked.
    pub fn is_paused(&self) -> bool {
        self.pausing.load(Ordering::Relaxed)
    }
}
