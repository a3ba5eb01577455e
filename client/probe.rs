// SPDX-License-Identifier: GPL-2.0

//! The probe on the reference path's callbacks: [`Probed`] wraps the crate
//! root's [`ChainState`] in a callback that counts each descriptor's
//! callbacks, records a late one or a failed terminate, and keeps the
//! notifying one running while process context synchronizes.

use crate::{
    dmaengine::{
        bindings,
        client::{
            Callback,
            CallbackCtl, //
        },
    },
    ChainState,
    Step,
    CHAIN, //
};
use core::sync::atomic::{
    AtomicU32,
    Ordering, //
};
use kernel::{
    prelude::*,
    sync::Arc,
    task::Task,
    time::{
        delay::udelay,
        Delta, //
    },
};

/// What the callbacks of a chain record for the checks.
pub(crate) struct Probe {
    /// Callbacks of each descriptor.
    pub(super) called: [AtomicU32; CHAIN],
    /// Late callbacks (and, by 1000, failed terminates).
    pub(super) late: AtomicU32,
    /// Callbacks currently running: must be 0 once synchronize returned.
    /// In its own allocation: a callback that a broken provider lets run
    /// past synchronize (the negative controls, upstream pl330 on SMP)
    /// decrements it there, not in the state that synchronize handed back,
    /// and the check can wait for it.
    pub(super) running: Arc<AtomicU32>,
    /// How long the notifying callback keeps running after waking process
    /// context (0: not at all).
    pub(super) hold_us: u32,
    /// The task that made the chain (and submits and issues it): a
    /// callback that runs in this task outside interrupt context was called
    /// from inside the client's own call, say `issue_pending`, instead of
    /// from the provider's deferred context (client.rst: callbacks come
    /// from the engine's tasklet).  Compared, never dereferenced.
    issuer: usize,
    /// Such nested callbacks.
    pub(super) nested: AtomicU32,
}

/// A callback of a chain, between [`Probe::enter`] and its drop.
pub(crate) struct Running<'a>(&'a AtomicU32);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Probe {
    pub(crate) fn new(hold_us: u32) -> Result<Self> {
        Ok(Self {
            called: Default::default(),
            late: AtomicU32::new(0),
            running: Arc::new(AtomicU32::new(0), GFP_KERNEL)?,
            hold_us,
            issuer: Task::current_raw() as usize,
            nested: AtomicU32::new(0),
        })
    }

    /// The callback of descriptor `index` starts; it ends when the result
    /// is dropped.
    pub(crate) fn enter(&self, index: usize) -> Running<'_> {
        self.running.fetch_add(1, Ordering::SeqCst);
        // SAFETY: Reads the preemption count; no requirements.
        let in_interrupt = unsafe { bindings::in_interrupt() };
        if !in_interrupt && Task::current_raw() as usize == self.issuer {
            self.nested.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(c) = self.called.get(index) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        Running(&self.running)
    }

    /// How many times the callback of descriptor `index` ran.
    pub(crate) fn calls(&self, index: usize) -> u32 {
        self.called
            .get(index)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// A callback came after the one that stopped the chain.
    pub(crate) fn late(&self) {
        self.late.fetch_add(1, Ordering::Relaxed);
    }

    /// `terminate_async` failed in the callback: counted as late callbacks,
    /// so the check fails.
    pub(crate) fn terminate_failed(&self) {
        self.late.fetch_add(1000, Ordering::Relaxed);
    }

    /// How long the notifying callback keeps running, in microseconds.
    pub(crate) fn hold_us(&self) -> u32 {
        self.hold_us
    }

    /// Keeps the callback running for `us` microseconds (without sleeping:
    /// this is softirq context) while process context calls synchronize,
    /// which must wait for it.  Takes no `&self`: the callback reads what
    /// it needs before it wakes process context.
    pub(crate) fn hold(us: u32) {
        for _ in 0..us / 100 {
            udelay(Delta::from_micros(100));
        }
    }
}

/// The reference path's callback state, watched: each callback is counted,
/// a late one or a failed terminate is recorded, and the notifying one
/// keeps running for `hold_us` after it woke process context.
pub(crate) struct Probed {
    pub(crate) chain: ChainState,
    pub(crate) probe: Probe,
}

impl Callback for Probed {
    fn done(&self, index: usize, ctl: &CallbackCtl<'_>) {
        let _running = self.probe.enter(index);
        match self.chain.step(index, ctl) {
            Step::Ok => {}
            Step::TerminateFailed => self.probe.terminate_failed(),
            Step::Late => self.probe.late(),
        }
        let hold_us = self.probe.hold_us();
        if self.chain.notify(index) {
            // Keep running for a while: synchronize must wait for us.  From
            // here on only `_running` (its own allocation) is touched, so a
            // broken provider that lets this run past synchronize is
            // measured, not turned into a use-after-free of `self`.
            Probe::hold(hold_us);
        }
    }
}

/// The state of a chain stopped by the callback of `stop_at` (`None`: by
/// process context), whose callback of `notify_at` wakes process context.
pub(crate) fn chain_state(
    stop_at: Option<usize>,
    notify_at: usize,
    hold_us: u32,
) -> Result<Probed> {
    Ok(Probed {
        chain: ChainState::new(stop_at, notify_at)?,
        probe: Probe::new(hold_us)?,
    })
}
