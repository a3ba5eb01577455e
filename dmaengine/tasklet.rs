// SPDX-License-Identifier: GPL-2.0

//! Deferred dispatch of completion callbacks: a tasklet owned by a struct.
//!
//! Tasklets are deprecated in favour of BH workqueues, but every upstream
//! DMA driver (virt-dma, pl330) dispatches callbacks from one, and clients
//! rely on the resulting context (softirq, never the submitter's).
//!
//! The shape follows `kernel::workqueue`'s `HasWork`: a [`Tasklet`] is a
//! field of its owner, and it is reached only *from* the owner
//! ([`HasTasklet::schedule_tasklet`], [`HasTasklet::kill_tasklet`]), through
//! the field accessors that `impl_has_tasklet!` generates.  The only
//! `container_of` is in that generated code, so the handler can never run on
//! memory that is not its owner.  A `Tasklet` made anywhere else can be
//! neither scheduled nor killed.
//!
//! Guarantees:
//! - [`HasTasklet::schedule_tasklet`] may be called from any context,
//!   including hard interrupt context and from inside the handler itself; a
//!   tasklet that is already scheduled is not scheduled twice.
//! - The handler never runs concurrently with itself.
//! - After [`HasTasklet::kill_tasklet`] returns, the handler is neither
//!   running nor scheduled (until the next schedule).  It sleeps.
//!
//! What the owner must do (the `# Safety` of [`HasTasklet`]): kill the
//! tasklet before any of its fields is dropped (in its own `PinnedDrop`,
//! which runs before the fields' drops), and never drop itself from the
//! handler.  Dropping the `Tasklet` field also kills it, but fields declared
//! before it are dropped first, which is why that alone is not enough.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use super::bindings;
use core::{
    marker::PhantomData,
    ptr, //
};
use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Full,
        Relaxed, //
    },
    types::Opaque, //
};

/// The handler of a tasklet embedded in `Self`.
pub(super) trait TaskletHandler: Sync {
    /// Runs in softirq context, never concurrently with itself.
    fn tasklet_run(&self);
}

/// A type that embeds a [`Tasklet<Self>`] as a field.  Implement it with
/// `impl_has_tasklet!`.
///
/// # Safety
///
/// - [`HasTasklet::raw_get_tasklet`] and [`HasTasklet::tasklet_container_of`]
///   must be inverses that map a `Self` to one of its `Tasklet<Self>` fields
///   (`impl_has_tasklet!` generates both).
/// - The implementer kills the tasklet ([`HasTasklet::kill_tasklet`]) before
///   any field of `Self` is dropped, and no handler run ever drops the last
///   reference to its `Self` (the tasklet core touches the tasklet after the
///   handler returns).
pub(super) unsafe trait HasTasklet: TaskletHandler + Sized {
    /// The `Tasklet<Self>` field of `*ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid `Self`.
    unsafe fn raw_get_tasklet(ptr: *const Self) -> *const Tasklet<Self>;

    /// The `Self` whose field `ptr` is.
    ///
    /// # Safety
    ///
    /// `ptr` must point at the `Tasklet<Self>` field of a valid `Self`.
    unsafe fn tasklet_container_of(ptr: *const Tasklet<Self>) -> *const Self;

    /// Makes [`TaskletHandler::tasklet_run`] run soon, in softirq context.
    /// Any context.
    fn schedule_tasklet(&self) {
        // SAFETY: `self` is a valid `Self`.
        let t = unsafe { &*Self::raw_get_tasklet(self) };
        let raw = t.inner.get();
        // `tasklet_schedule()`, inline (C inlines it; through a C helper it
        // cost a call): `test_and_set_bit(TASKLET_STATE_SCHED, &t->state)`,
        // then `__tasklet_schedule()` for the caller that set the bit.  The
        // word is C's, so it is accessed as the LKMM says, with the kernel
        // crate's `Atomic` (7.3's has no `fetch_or`: a `cmpxchg` loop):
        // as asm-generic's `test_and_set_bit()`, a plain read when the bit
        // is set already, else a fully ordered read-modify-write.
        const SCHED: usize = 1 << bindings::TASKLET_STATE_SCHED;
        // SAFETY: `raw` points at the live `tasklet_struct` of `t`, whose
        // `state` word the tasklet core reads and writes only with atomic
        // bitops; it is word-aligned (an `unsigned long`).
        let state = unsafe { Atomic::<usize>::from_ptr(ptr::addr_of_mut!((*raw).state).cast()) };
        let mut old = state.load(Relaxed);
        loop {
            if old & SCHED != 0 {
                return;
            }
            match state.cmpxchg(old, old | SCHED, Full) {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        // SAFETY: By the type invariant of `Tasklet` it is set up; it is a
        // field of `self` (trait contract), so its handler finds `self`.
        // This caller set `TASKLET_STATE_SCHED`, as `__tasklet_schedule()`
        // requires.
        unsafe { bindings::__tasklet_schedule(raw) };
    }

    /// Waits until the handler is neither running nor scheduled.  Sleeps;
    /// must not be called from the handler.
    fn kill_tasklet(&self) {
        // SAFETY: `self` is a valid `Self`.
        let t = unsafe { &*Self::raw_get_tasklet(self) };
        t.kill();
    }
}

/// Implements [`HasTasklet`] for a struct with a `Tasklet<Self>` field.
///
/// The `unsafe` in the invocation is the implementer's promise of the
/// second half of [`HasTasklet`]'s `# Safety` (kill before drop); the field
/// accessors are generated and only compile for a field of the right type.
///
/// ```ignore
/// impl_has_tasklet! {
///     unsafe impl{P: Provider} HasTasklet for VirtChan<P> { self.tasklet }
/// }
/// ```
macro_rules! impl_has_tasklet {
    // SAFETY: (the pattern) the invoker writes `unsafe` for the drop rule.
    (unsafe impl$({$($generics:tt)*})? HasTasklet for $self:ty { self.$field:ident }) => {
        // SAFETY: The accessors below only compile if `$field` is a
        // `Tasklet<Self>`; the invoker wrote `unsafe` for the drop rule.
        unsafe impl$(<$($generics)*>)? $crate::dmaengine::tasklet::HasTasklet for $self {
            /// # Safety
            ///
            /// As for [`HasTasklet::raw_get_tasklet`].
            #[inline]
            unsafe fn raw_get_tasklet(
                ptr: *const Self,
            ) -> *const $crate::dmaengine::tasklet::Tasklet<Self> {
                // SAFETY: The caller promises that `ptr` is a valid `Self`.
                unsafe { ::core::ptr::addr_of!((*ptr).$field) }
            }

            /// # Safety
            ///
            /// As for [`HasTasklet::tasklet_container_of`].
            #[inline]
            unsafe fn tasklet_container_of(
                ptr: *const $crate::dmaengine::tasklet::Tasklet<Self>,
            ) -> *const Self {
                // SAFETY: The caller promises that `ptr` is the `$field` of
                // a `Self`.
                unsafe { ::kernel::container_of!(ptr.cast_mut(), Self, $field).cast_const() }
            }
        }
    };
}
pub(crate) use impl_has_tasklet;

/// A tasklet embedded in a `T`, whose handler is
/// [`TaskletHandler::tasklet_run`].
///
/// # Invariants
///
/// `inner` is a `tasklet_struct` set up by `tasklet_setup` with
/// `Tasklet::trampoline`.
#[pin_data(PinnedDrop)]
#[repr(transparent)]
pub(super) struct Tasklet<T: HasTasklet> {
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
    /// Safe: the tasklet can only be scheduled through `T`'s
    /// [`HasTasklet`], which names this field.
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `tasklet_setup` initialises
            // every field of it.
            inner <- Opaque::ffi_init(|slot| unsafe {
                bindings::tasklet_setup(slot, Some(Self::trampoline))
            }),
            _p: PhantomData,
        })
    }

    fn kill(&self) {
        // SAFETY: By the type invariant the tasklet is set up.
        unsafe { bindings::tasklet_kill(self.inner.get()) };
    }

    /// # Safety
    ///
    /// Called by the tasklet core with a tasklet set up by [`Tasklet::new`]
    /// and scheduled by [`HasTasklet::schedule_tasklet`].
    unsafe extern "C" fn trampoline(t: *mut bindings::tasklet_struct) {
        // CAST: `Tasklet` is `repr(transparent)` over the C struct.
        let t = t.cast_const().cast::<Self>();
        // SAFETY: Only `schedule_tasklet` schedules it, on the field of a
        // `T` (trait contract); the `T` is alive because it kills the
        // tasklet before its fields are dropped.
        let owner = unsafe { &*T::tasklet_container_of(t) };
        owner.tasklet_run();
    }
}

#[pinned_drop]
impl<T: HasTasklet> PinnedDrop for Tasklet<T> {
    fn drop(self: Pin<&mut Self>) {
        // Not scheduled by now if the owner keeps its contract; this makes
        // sure for a tasklet that was never part of an owner.
        self.kill();
    }
}
