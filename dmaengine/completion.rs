// SPDX-License-Identifier: GPL-2.0

//! A completion that can be reused: [`ReusableCompletion::reinit`] and
//! [`ReusableCompletion::new_done`] on top of what `kernel::sync::Completion` offers.
//!
//! `device_synchronize` waits on one of these: `terminate_all` re-arms it while
//! the engine is running, and the engine completes it when it has really
//! stopped.  The kernel crate's `Completion` has no `reinit`, so this one
//! wraps the C `struct completion` itself.
//!
//! C header: [`include/linux/completion.h`](srctree/include/linux/completion.h)
//!
//! Reference: <https://docs.kernel.org/scheduler/completion.html>

use super::bindings;
use kernel::{
    prelude::*,
    types::Opaque, //
};

/// A reusable completion.
///
/// Waiters block in [`ReusableCompletion::wait`] until another context calls
/// [`ReusableCompletion::complete_all`]; [`ReusableCompletion::reinit`] makes it wait again.
///
/// # Invariants
///
/// `inner` is an initialised `struct completion`.
#[pin_data]
pub struct ReusableCompletion {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: `struct completion` is designed to be signalled and waited on from
// any thread; all access goes through its own internal lock.
unsafe impl Send for ReusableCompletion {}
// SAFETY: As above, every operation is internally synchronised.
unsafe impl Sync for ReusableCompletion {}

impl ReusableCompletion {
    /// A completion that is not done.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `init_completion` fully
            // initialises it.
            inner <- Opaque::ffi_init(|slot| unsafe { bindings::init_completion(slot) }),
        })
    }

    /// A completion that is already done: waiting on it returns at once
    /// until the next [`ReusableCompletion::reinit`].
    pub fn new_done() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `init_completion` fully
            // initialises it, after which `complete_all` may be called.
            inner <- Opaque::ffi_init(|slot| unsafe {
                bindings::init_completion(slot);
                bindings::complete_all(slot);
            }),
        })
    }

    fn as_raw(&self) -> *mut bindings::completion {
        self.inner.get()
    }

    /// Marks the completion done and wakes every waiter, present and future,
    /// until the next [`ReusableCompletion::reinit`].  Callable from any context.
    pub fn complete_all(&self) {
        // SAFETY: By the type invariant `inner` is initialised.
        unsafe { bindings::complete_all(self.as_raw()) };
    }

    /// Makes the completion not done again.  Callable from any context, but
    /// must not race with a waiter that should see the previous completion.
    pub fn reinit(&self) {
        // SAFETY: By the type invariant `inner` is initialised.
        unsafe { bindings::reinit_completion(self.as_raw()) };
    }

    /// Whether the completion is done (would not block).
    pub fn is_done(&self) -> bool {
        // SAFETY: By the type invariant `inner` is initialised.
        unsafe { bindings::completion_done(self.as_raw()) }
    }

    /// Waits until the completion is done, at most `ms` milliseconds.
    /// Returns whether it completed.  Sleeps: process context only.
    pub fn wait_timeout_ms(&self, ms: u32) -> bool {
        let j = kernel::time::msecs_to_jiffies(ms);
        // SAFETY: By the type invariant `inner` is initialised.
        unsafe { bindings::wait_for_completion_timeout(self.as_raw(), j) != 0 }
    }

    /// Waits, uninterruptibly, until the completion is done.  Sleeps: process
    /// context only.
    pub fn wait(&self) {
        // SAFETY: By the type invariant `inner` is initialised.
        unsafe { bindings::wait_for_completion(self.as_raw()) };
    }
}
