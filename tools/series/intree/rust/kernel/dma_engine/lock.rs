// SPDX-License-Identifier: GPL-2.0

//! The channel lock: the kernel crate's [`SpinLockIrq`], whose guards may
//! be dropped in any order (it disables interrupts through a per-CPU
//! count).

use crate::sync::{
    SpinLockIrq,
    SpinLockIrqGuard, //
};

/// The channel lock.
pub(crate) type ChanLock<T> = SpinLockIrq<T>;

/// The guard of a [`ChanLock`].
pub(crate) type ChanLockGuard<'a, T> = SpinLockIrqGuard<'a, T>;

/// Locks `lock` for one of the framework's own critical sections.
///
/// # Safety
///
/// No `kernel::interrupt::LocalInterruptDisabled` made after this call
/// may still be usable when the returned guard is dropped (the contract
/// that lets a backend restore the saved interrupt state at unlock, as
/// `spin_unlock_irqrestore()` does; `SpinLockIrq` itself needs none).
#[inline]
pub(crate) unsafe fn lock_scoped<T: ?Sized>(lock: &ChanLock<T>) -> ChanLockGuard<'_, T> {
    lock.lock()
}
