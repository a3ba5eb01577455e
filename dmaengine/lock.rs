// SPDX-License-Identifier: GPL-2.0

//! The channel lock: a `spinlock_t` taken with `spin_lock_irqsave()`, as
//! virt-dma's `vc.lock` is, behind the kernel crate's [`Lock`].
//!
//! The kernel crate's `SpinLockIrq` disables interrupts through a per-CPU count
//! (`local_interrupt_disable()`), so that its guards may be dropped in any
//! order; that costs more per lock round trip than `spin_lock_irqsave()`
//! (Documentation/testing.rst has the cost), and a channel takes its lock
//! several times per transfer.  [`SpinLockIrqSave`] keeps the flags in its
//! guard, as C does, and still never re-enables interrupts under a refcounted
//! `local_interrupt_disable()` region (see [`SpinLockIrqSaveBackend`]). Where
//! the guard cannot leave its holder, `lock_scoped` takes the same lock without
//! that check on the way out (the framework's own critical sections and
//! `VirtChan::with_lock`).
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)

use super::bindings;
#[cfg(all(
    CONFIG_ARM64,
    not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE))
))]
use core::ptr;
use core::{
    mem::ManuallyDrop,
    ops::{
        Deref,
        DerefMut, //
    },
};
use kernel::{
    ffi::c_ulong,
    sync::lock::{
        Backend,
        Guard,
        Lock, //
    },
};

/// The channel lock, as the framework names it (in tree the kernel crate's
/// `SpinLockIrq`).
pub(crate) type ChanLock<T> = SpinLockIrqSave<T>;

/// The guard of a [`ChanLock`].
pub(crate) type ChanLockGuard<'a, T> = SpinLockIrqSaveGuard<'a, T>;

/// A spinlock taken with interrupts saved and disabled
/// (`spin_lock_irqsave()`), usable from any context: process, softirq and
/// hard interrupt.
pub(super) type SpinLockIrqSave<T> = Lock<T, SpinLockIrqSaveBackend>;

/// The guard of a [`SpinLockIrqSave`]; it holds the saved interrupt flags.
pub(super) type SpinLockIrqSaveGuard<'a, T> = Guard<'a, T, SpinLockIrqSaveBackend>;

/// The [`Backend`] of [`SpinLockIrqSave`].
///
/// Interrupts are off from `lock` until `unlock`, which restores the state
/// `lock` found, with one exception that keeps the kernel crate's
/// `LocalInterruptDisabled` honest whatever the order in which guards are
/// dropped: if a refcounted `local_interrupt_disable()` region began inside
/// the critical section and is still open at `unlock`, interrupts stay off
/// and that region restores the saved state when it ends
/// (`rde_spin_unlock_irqrestore`).
///
/// Dropping two `SpinLockIrqSave` guards out of order re-enables interrupts
/// while the inner lock is still held, as the same mistake does in C: a
/// deadlock hazard that lockdep reports ("inconsistent lock state") for a
/// lock also taken in interrupt context, not a memory-safety one.  The
/// channel lock is never nested.
pub(super) struct SpinLockIrqSaveBackend;

// SAFETY: The underlying `spinlock_t` ensures mutual exclusion: `lock` and
// `try_lock` return only once they hold it and `unlock` releases it, with
// interrupts disabled in between on the owner's CPU (the guard is not
// `Send`, so it is released on the CPU that took it, where the saved flags
// belong), so an interrupt handler on that CPU cannot spin on a lock its own
// CPU holds.  `relock` uses the default implementation, which calls `lock`
// again and stores the new flags.  `unlock` never enables interrupts while a
// refcounted `local_interrupt_disable()` region is open (see the type
// documentation), so a `kernel::interrupt::LocalInterruptDisabled` stays
// true.  `init` initialises the lock with the given name and lockdep class
// as the kernel crate's spinlocks do.
unsafe impl Backend for SpinLockIrqSaveBackend {
    type State = bindings::spinlock_t;
    type GuardState = c_ulong;

    /// # Safety
    ///
    /// As for [`Backend::init`].
    #[inline]
    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The caller promises that `ptr` is valid for writes, and
        // `name` and `key` valid for reads indefinitely.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    /// # Safety
    ///
    /// As for [`Backend::lock`].
    #[inline]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // What `spin_lock_irqsave()` calls, called directly: without
        // PREEMPT_RT a `spinlock_t` is its `raw_spinlock_t rlock` (the
        // first member of its union, at offset 0), and without
        // INLINE_SPIN_LOCK_IRQSAVE `_raw_spin_lock_irqsave()` is an exported
        // function.  Saves a call through a helper on every lock.
        #[cfg(not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_LOCK_IRQSAVE)))]
        // SAFETY: The caller promises that `ptr` was initialised by `init`;
        // `rlock` is at offset 0 of a `spinlock_t` (above).
        return unsafe { bindings::_raw_spin_lock_irqsave(ptr.cast::<bindings::raw_spinlock_t>()) };
        #[cfg(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_LOCK_IRQSAVE))]
        // SAFETY: The caller promises that `ptr` was initialised by `init`.
        return unsafe { bindings::rde_spin_lock_irqsave(ptr) };
    }

    /// # Safety
    ///
    /// As for [`Backend::try_lock`].
    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        let mut flags = 0;
        // SAFETY: The caller promises that `ptr` was initialised by `init`;
        // `flags` is valid for writes.
        if unsafe { bindings::rde_spin_trylock_irqsave(ptr, &mut flags) } {
            Some(flags)
        } else {
            None
        }
    }

    /// # Safety
    ///
    /// As for [`Backend::unlock`].
    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // Where the count of refcounted regions can be read inline (arm64),
        // the common case calls what `spin_unlock_irqrestore()` calls,
        // directly (see `lock`); only with a region open does the helper
        // decide.  Saves a call through a helper on every unlock.
        #[cfg(all(
            CONFIG_ARM64,
            not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE))
        ))]
        if !refcounted_region_open() {
            // SAFETY: The caller owns the lock; `guard_state` is what `lock`
            // or `try_lock` returned when it took it, on this CPU; `rlock` is
            // at offset 0 of a `spinlock_t` (see `lock`).  No refcounted
            // region is open, so restoring the saved state cannot enable
            // interrupts under one.
            return unsafe {
                bindings::_raw_spin_unlock_irqrestore(
                    ptr.cast::<bindings::raw_spinlock_t>(),
                    *guard_state,
                )
            };
        }
        // SAFETY: The caller owns the lock; `guard_state` is what `lock` or
        // `try_lock` returned when it took it, on this CPU.
        unsafe { bindings::rde_spin_unlock_irqrestore(ptr, *guard_state) }
    }

    /// # Safety
    ///
    /// As for [`Backend::assert_is_held`].
    #[inline]
    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // `Guard::new` asserts on every lock.  Without lockdep,
        // `lockdep_assert_held()` is empty: do not call out for nothing.
        if cfg!(CONFIG_LOCKDEP) {
            // SAFETY: The caller promises that `ptr` was initialised by `init`.
            unsafe { bindings::spin_assert_is_held(ptr) }
        }
    }
}

/// The `spinlock_t` of `lock`.
fn raw_of<T: ?Sized>(lock: &SpinLockIrqSave<T>) -> *mut bindings::spinlock_t {
    // CAST: `Lock` is `#[repr(C)]` with its `Opaque<B::State>` first (what
    // `Lock::from_raw()` relies on too), so a `Lock` begins with its
    // `spinlock_t`; `Opaque` allows writes through a shared reference.
    core::ptr::from_ref(lock)
        .cast::<bindings::spinlock_t>()
        .cast_mut()
}

/// A guard of a [`SpinLockIrqSave`] taken by [`lock_scoped`]: as
/// [`SpinLockIrqSaveGuard`], but its unlock restores the saved interrupt
/// state without looking for a refcounted `local_interrupt_disable()`
/// region, which [`lock_scoped`]'s caller promises cannot be open.
///
/// # Invariants
///
/// `guard` is a guard of a lock this CPU holds, with `flags` the interrupt
/// state saved when it was taken; it is never dropped (its unlock would
/// make the check): [`Drop`] unlocks instead.
pub(crate) struct ScopedGuard<'a, T: ?Sized> {
    guard: ManuallyDrop<SpinLockIrqSaveGuard<'a, T>>,
    flags: c_ulong,
}

/// Locks `lock` for a critical section of the framework's own: the same
/// lock as [`Lock::lock`] takes, with an unlock that costs what
/// `spin_unlock_irqrestore()` does, without [`SpinLockIrqSaveBackend`]'s
/// refcounted-region check (a few instructions per unlock, and a channel
/// unlocks several times per transfer: `Documentation/testing.rst`).
///
/// The check protects a `LocalInterruptDisabled` token made while the lock
/// is held and still usable after the guard is dropped.  A guard that its
/// holder keeps to itself cannot outlive such a token: code it calls (the
/// driver's callbacks, given a reference to the data, never the guard) can
/// make a token, but cannot give it back (their return types have none)
/// nor keep it anywhere (it is neither `Send` nor `Sync`), so the token is
/// gone when they return.
///
/// # Safety
///
/// No `kernel::interrupt::LocalInterruptDisabled` made after this call
/// may still be usable when the returned guard is dropped.  It is enough
/// that the caller drops the guard itself, passes only references to the
/// data (never the guard) to code it does not control, and makes no token
/// itself in between.
#[inline]
pub(crate) unsafe fn lock_scoped<T: ?Sized>(lock: &SpinLockIrqSave<T>) -> ScopedGuard<'_, T> {
    // SAFETY: `lock` was initialised by `SpinLockIrqSaveBackend::init` (it
    // exists); `raw_of` is its `spinlock_t`.
    let flags = unsafe { SpinLockIrqSaveBackend::lock(raw_of(lock)) };
    // SAFETY: This CPU just took the lock.
    let guard = unsafe { Guard::new(lock, flags) };
    // INVARIANT: `guard` holds the lock taken with `flags`.
    ScopedGuard {
        guard: ManuallyDrop::new(guard),
        flags,
    }
}

impl<T: ?Sized> Deref for ScopedGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized + Unpin> DerefMut for ScopedGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized> Drop for ScopedGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        let raw = raw_of(self.guard.lock_ref());
        #[cfg(all(
            CONFIG_ARM64,
            not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE))
        ))]
        // SAFETY: This CPU holds the lock, taken with `flags` (type
        // invariant); `rlock` is at offset 0 of a `spinlock_t` (see
        // `SpinLockIrqSaveBackend::lock`).  No region made under the lock is
        // still usable (`lock_scoped`'s contract), so restoring the saved
        // state breaks none.  `guard` is not dropped (`ManuallyDrop`).
        unsafe {
            bindings::_raw_spin_unlock_irqrestore(
                raw.cast::<bindings::raw_spinlock_t>(),
                self.flags,
            )
        };
        #[cfg(not(all(
            CONFIG_ARM64,
            not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE))
        )))]
        // SAFETY: This CPU holds the lock, taken with `flags` (type
        // invariant).  Elsewhere than on arm64 the helper, which checks
        // anyway.  `guard` is not dropped (`ManuallyDrop`).
        unsafe {
            bindings::rde_spin_unlock_irqrestore(raw, self.flags)
        };
    }
}

/// Whether a refcounted `local_interrupt_disable()` region is open on this
/// CPU: their count in `preempt_count()` is not zero.
///
/// Read inline, as C's `preempt_count()` is: a call to a helper for it
/// would cost what the direct unlock saves.  (With
/// `CONFIG_RUST_INLINE_HELPERS` helpers are inlined, but that needs rustc
/// and clang on the same LLVM, which the toolchain here is not.)
#[cfg(all(
    CONFIG_ARM64,
    not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE))
))]
#[inline(always)]
fn refcounted_region_open() -> bool {
    let task: *const bindings::task_struct;
    // SAFETY: In the kernel arm64 keeps `current` in SP_EL0, and this is how
    // `get_current()` (arch/arm64/include/asm/current.h) reads it.
    unsafe {
        core::arch::asm!(
            "mrs {}, sp_el0",
            out(reg) task,
            options(nomem, nostack, preserves_flags)
        )
    };
    // SAFETY: `current` is valid while it runs; arm64 has
    // `THREAD_INFO_IN_TASK`, so its `thread_info` holds `preempt_count()`,
    // which is read once, as `READ_ONCE()` in `preempt_count()` does.
    let count = unsafe {
        ptr::read_volatile(ptr::addr_of!(
            (*task).thread_info.__bindgen_anon_1.preempt.count
        ))
    };
    count & bindings::RDE_HARDIRQ_DISABLE_MASK != 0
}

#[kernel::prelude::kunit_tests(rust_dma_engine_lock)]
mod tests {
    use super::*;

    /// A [`SpinLockIrqSave`] initialiser with a lockdep class of its own
    /// (one per call site), like `kernel::new_spinlock_irq!`.
    macro_rules! new_spinlock_irqsave {
        ($inner:expr, $name:literal $(,)?) => {
            SpinLockIrqSave::new(
                $inner,
                ::kernel::optional_name!($name),
                ::kernel::static_lock_class!(),
            )
        };
    }
    use kernel::{
        interrupt::local_interrupt_disable,
        prelude::*, //
    };

    fn irqs_disabled() -> bool {
        // SAFETY: Reads the local interrupt state; no requirements.
        unsafe { bindings::rde_irqs_disabled() }
    }

    #[test]
    fn interrupts_off_while_held() -> Result {
        let lock = KBox::pin_init(new_spinlock_irqsave!((), "test"), GFP_KERNEL)?;
        assert!(!irqs_disabled());
        let g = lock.lock();
        assert!(irqs_disabled());
        drop(g);
        assert!(!irqs_disabled());
        Ok(())
    }

    // The framework's guard: interrupts off while held, back on after.
    #[test]
    fn scoped_guard_restores_interrupts() -> Result {
        let lock = KBox::pin_init(new_spinlock_irqsave!(0u32, "test"), GFP_KERNEL)?;
        assert!(!irqs_disabled());
        // SAFETY: The guard stays here and no token is made under it.
        let mut g = unsafe { lock_scoped(&*lock) };
        assert!(irqs_disabled());
        *g += 1;
        drop(g);
        assert!(!irqs_disabled());
        assert_eq!(*lock.lock(), 1);
        Ok(())
    }

    #[test]
    fn inside_a_refcounted_region_interrupts_stay_off() -> Result {
        let lock = KBox::pin_init(new_spinlock_irqsave!((), "test"), GFP_KERNEL)?;
        let t = local_interrupt_disable();
        let g = lock.lock();
        drop(g);
        assert!(irqs_disabled());
        drop(t);
        assert!(!irqs_disabled());
        Ok(())
    }

    // A `LocalInterruptDisabled` taken under the lock outlives its guard:
    // interrupts stay off until it goes, then come back.
    #[test]
    fn guard_dropped_before_a_refcounted_region_keeps_interrupts_off() -> Result {
        let lock = KBox::pin_init(new_spinlock_irqsave!((), "test"), GFP_KERNEL)?;
        let g = lock.lock();
        let t = local_interrupt_disable();
        drop(g);
        assert!(irqs_disabled());
        drop(t);
        assert!(!irqs_disabled());
        Ok(())
    }
}
