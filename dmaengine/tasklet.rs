// SPDX-License-Identifier: GPL-2.0

//! Deferred dispatch of completion callbacks: a safe tasklet wrapper.
//!
//! Tasklets are deprecated in favour of BH workqueues, but every upstream
//! DMA driver (virt-dma, pl330) dispatches callbacks from one, and clients
//! rely on the resulting context (softirq, never the submitter's).  The
//! abstraction uses dispatch only through the [`BottomHalf`] trait, so a BH
//! workqueue implementation can replace [`Tasklet`] without touching the
//! channel code.
//!
//! Guarantees of [`Tasklet`]:
//! - [`Tasklet::schedule`] may be called from any context, including hard
//!   interrupt context and from inside the handler itself; a tasklet that is
//!   already scheduled is not scheduled twice.
//! - The handler never runs concurrently with itself.
//! - After [`Tasklet::kill`] returns, the handler is neither running nor
//!   scheduled (until the next `schedule`).  `kill` sleeps.
//! - Dropping a `Tasklet` kills it, so the handler can never run on freed
//!   memory.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use super::bindings;
use core::marker::PhantomData;
use kernel::{
    prelude::*,
    types::Opaque, //
};

/// A way to run work later in bottom-half context: what the channel needs
/// from its callback dispatcher.
pub trait BottomHalf {
    /// Makes the handler run soon, in bottom-half context.  Any context.
    fn schedule(&self);
    /// Waits until the handler is neither running nor scheduled.  Sleeps.
    fn kill(&self);
}

/// A type that embeds a [`Tasklet`] and handles it.
///
/// # Safety
///
/// `OFFSET` must be the byte offset of a `Tasklet<Self>` field inside `Self`.
pub unsafe trait HasTasklet: Sync + Sized {
    /// Offset of the `Tasklet<Self>` field.
    const OFFSET: usize;
    /// The handler: runs in softirq context, never concurrently with itself.
    fn tasklet_run(&self);
}

/// A tasklet embedded in a `T`, whose handler is [`HasTasklet::tasklet_run`].
///
/// # Invariants
///
/// `inner` is a `tasklet_struct` set up by `tasklet_setup` with
/// `Tasklet::trampoline`, and it lives at [`HasTasklet::OFFSET`] inside a `T`.
#[pin_data(PinnedDrop)]
#[repr(transparent)]
pub struct Tasklet<T: HasTasklet> {
    #[pin]
    inner: Opaque<bindings::tasklet_struct>,
    _p: PhantomData<T>,
}

// SAFETY: Tasklets are scheduled and killed from any thread; the C code
// synchronises with its own state bits.
unsafe impl<T: HasTasklet> Send for Tasklet<T> {}
// SAFETY: As above.
unsafe impl<T: HasTasklet> Sync for Tasklet<T> {}

impl<T: HasTasklet> Tasklet<T> {
    /// Initialiser for the `Tasklet<T>` field of a `T`.
    ///
    /// The field must be the one that `T::OFFSET` names; `HasTasklet`'s
    /// safety contract makes that the implementer's promise.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `tasklet_setup` initialises
            // every field of it.
            inner <- Opaque::ffi_init(|slot| unsafe {
                bindings::tasklet_setup(slot, Some(Self::trampoline))
            }),
            _p: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by the tasklet core with a tasklet set up by [`Tasklet::new`].
    unsafe extern "C" fn trampoline(t: *mut bindings::tasklet_struct) {
        // SAFETY: By the type invariant the tasklet is embedded at
        // `T::OFFSET` in a `T`, which is alive: `PinnedDrop` kills the
        // tasklet before the `T` is freed.
        let owner = unsafe { &*t.cast::<u8>().sub(T::OFFSET).cast::<T>() };
        owner.tasklet_run();
    }
}

impl<T: HasTasklet> BottomHalf for Tasklet<T> {
    fn schedule(&self) {
        // SAFETY: By the type invariant the tasklet is set up.
        unsafe { bindings::rde_tasklet_schedule(self.inner.get()) };
    }

    fn kill(&self) {
        // SAFETY: By the type invariant the tasklet is set up.
        unsafe { bindings::tasklet_kill(self.inner.get()) };
    }
}

#[pinned_drop]
impl<T: HasTasklet> PinnedDrop for Tasklet<T> {
    fn drop(self: Pin<&mut Self>) {
        self.kill();
    }
}
