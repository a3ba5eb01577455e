// SPDX-License-Identifier: GPL-2.0

//! The test builds' sabotage, in one place.
//!
//! Each negative control of `make check` is the same source built with one
//! `--cfg` flag (set per object in `Kbuild`) that breaks one rule of the
//! framework on purpose, so that a test shows that rule's check catching
//! the break.  The kernel gathers its fault-injection points the same way.
//! Product modules are built with none of the flags: every constant here is
//! `false` and what it guards is compiled out.  The in-tree series has none
//! of it.
//!
//! | constant | test build | what it breaks | what must catch it |
//! |---|---|---|---|
//! | [`SYNC_RETURNS_EARLY`] | `rust_pl330_broken_sync.ko` | `device_synchronize` returns at once, as upstream `pl330` (which has none) | contract.sh on exynos4210: a callback still runs after `dmaengine_synchronize()` |
//! | [`OLD_SYNC`] | `rust_dmaengine_old_sync.ko` | `synchronize` as before the model's findings: it frees what a restarted batch's stop took, and does not reschedule dropped dispatch | `tools/restart/restart_test.c`, by hand (timing-bound; `make check` has the model's `OLD_SYNC`) |
//! | [`BH_SKIP_CANCEL`] | `rust_dmaengine_bh_nocancel.ko` | the BH work's cancel does not wait | KUnit `cancel_waits_for_a_run_on_another_cpu` |
//! | [`RELEASE_WINDOW`] | `rust_dmaengine_release_race.ko` | nothing: it widens the release window (1 s after unregister, 1.5 s in `device_release`) | `release_race.sh` must stay clean |
//! | [`SKIP_LIST_BARRIER`] | `rust_dmaengine_release_race_nobarrier.ko` | `Registration`'s drop frees without waiting for `dma_list_mutex` | KASAN: `dma_release_channel()` writes the freed channel |
//!
//! Drivers keep their own (`rust_dmaengine.rs`: `broken_sync`,
//! `bh_skip_cancel`; `rust_pl330.rs`: the fault-test build's knobs).

/// `device_synchronize` returns at once.
pub(crate) const SYNC_RETURNS_EARLY: bool = cfg!(rde_sync_returns_early);

/// `synchronize` frees the terminated descriptors after one wait, as before
/// the model's findings (Documentation/model.rst).
pub(crate) const OLD_SYNC: bool = cfg!(rde_old_sync);

/// The BH work's cancel returns without waiting for a running handler.
pub(crate) const BH_SKIP_CANCEL: bool = cfg!(rde_bh_skip_cancel);

/// Sleeps that widen the window between `dma_async_device_unregister()`
/// and the look at the released flag, and inside `device_release`.
pub(crate) const RELEASE_WINDOW: bool = cfg!(rde_release_window);

/// `Registration`'s drop does not wait for `dma_list_mutex`.
pub(crate) const SKIP_LIST_BARRIER: bool = cfg!(rde_skip_list_barrier);
