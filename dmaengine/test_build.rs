// SPDX-License-Identifier: GPL-2.0

//! Fault injection for test builds, in one place.
//!
//! Each constant breaks one rule of the framework on purpose when its
//! `--cfg` flag is set on a test build of a driver, so that a test shows
//! that rule's check catching the break (a negative control).  No product
//! build sets any: every constant is `false`, and what it guards is
//! compiled out.
//!
//! - [`SYNC_RETURNS_EARLY`] (`dma_engine_test_sync_returns_early`):
//!   `device_synchronize` returns at once, as a provider without one.
//!   Caught by the contract test on SMP: a callback still runs after
//!   `dmaengine_synchronize()`.
//! - [`OLD_SYNC`] (`dma_engine_test_old_sync`): `synchronize` frees what a
//!   batch restarted after the terminate had stopped, and does not
//!   reschedule dropped dispatch, as before a model check found both.
//!   Caught by a client that restarts a channel between `terminate_async`
//!   and `synchronize` (timing-bound) and by the model.
//! - [`BH_SKIP_CANCEL`] (`dma_engine_test_bh_skip_cancel`): the BH work's
//!   cancel does not wait.  Caught by the KUnit case
//!   `cancel_waits_for_a_run_on_another_cpu`.
//! - [`RELEASE_WINDOW`] (`dma_engine_test_release_window`): breaks nothing;
//!   it widens the window between unregistering a device and freeing it (1
//!   s after the unregister, 1.5 s in `device_release`), so that a release
//!   test hits it.
//! - [`SKIP_LIST_BARRIER`] (`dma_engine_test_skip_list_barrier`):
//!   [`Registration`](super::provider::Registration)'s drop frees without
//!   waiting for `dma_list_mutex`.  Caught by KASAN: `dma_release_channel()`
//!   writes the freed channel.
//! - [`SKIP_MODULE_PIN`] (`dma_engine_test_skip_module_pin`): a client's
//!   channel takes no reference on the driver's module.  Caught on a
//!   provider whose bus driver has no module (the faux bus): rmmod goes
//!   through while a client holds a channel, and the client's next call
//!   faults in the freed module text.

/// `device_synchronize` returns at once.
pub(crate) const SYNC_RETURNS_EARLY: bool = cfg!(dma_engine_test_sync_returns_early);

/// `synchronize` frees the terminated descriptors after one wait.
pub(crate) const OLD_SYNC: bool = cfg!(dma_engine_test_old_sync);

/// The BH work's cancel returns without waiting for a running handler.
pub(crate) const BH_SKIP_CANCEL: bool = cfg!(dma_engine_test_bh_skip_cancel);

/// Sleeps that widen the window between `dma_async_device_unregister()`
/// and the look at the released flag, and inside `device_release`.
pub(crate) const RELEASE_WINDOW: bool = cfg!(dma_engine_test_release_window);

/// `Registration`'s drop does not wait for `dma_list_mutex`.
pub(crate) const SKIP_LIST_BARRIER: bool = cfg!(dma_engine_test_skip_list_barrier);

/// A client's channel takes no reference on the driver's module.
pub(crate) const SKIP_MODULE_PIN: bool = cfg!(dma_engine_test_skip_module_pin);
