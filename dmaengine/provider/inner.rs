// SPDX-License-Identifier: GPL-2.0

//! The locked state of a channel: the descriptor queue and the driver's
//! engine state, under the channel's one lock.

use super::{
    desc::Desc,
    Provider,
    SlaveConfig,
    VirtChan, //
};
use crate::dmaengine::{
    queue::DescQueue,
    TxResult, //
};
use core::sync::atomic::Ordering;

/// The state of a channel that the channel lock protects.
///
/// The lock holds it with a zero-sized tail (`T = [(); 0]`); a driver sees
/// it as `Inner<P>`, with the default, unsized tail, and only by
/// reference, so no safe code can move it: `mem::swap()`, `mem::take()`
/// and `mem::replace()` need a sized type.  With a sized `&mut Inner` from
/// two channels' locks a driver could swap the two whole states, and with
/// them the descriptor lists: a client's descriptors would then run, and
/// be called back, on the other channel, whose `terminate_all` and
/// `synchronize` do not wait for them.
///
/// The driver reads the descriptor lists through [`Inner::queue`] and
/// moves descriptors along them with [`Inner::issue_pending`],
/// [`Inner::start_next`] and [`Inner::complete_active`]; it never gets
/// the `DescQueue` itself by `&mut`.  With that, safe driver code could
/// `mem::take()` or `mem::swap()` the lists, freeing descriptors whose `tx`
/// a client still holds, or moving one channel's descriptors (and their
/// callbacks) to another whose `synchronize` does not wait for them.
///
/// # Invariants
///
/// `owner` is the channel whose lock holds this value: it is made only in
/// `VirtChan::new`, inside that channel's lock, and never moved out of it
/// (the framework does not; drivers see it only unsized).
pub struct Inner<P: Provider, T: ?Sized = [()]> {
    /// The descriptor lists.
    pub(super) queue: DescQueue<Desc<P>>,
    /// The driver's engine state.
    pub engine: P::Engine,
    pub(super) periods: u32,
    /// The slave configuration the framework accepted last.
    pub(super) slave: SlaveConfig,
    /// Set when the `Registration` goes away: no new descriptor, no new
    /// engine work, no new client.
    pub(super) dead: bool,
    /// The channel whose lock holds this state ([`Inner::chan`],
    /// [`VirtChan::owns`]).
    pub(super) owner: *const VirtChan<P>,
    /// Zero-sized under the lock, unsized in [`Inner`].
    pub(super) _unsized: T,
}

// SAFETY: `owner` is dereferenced only to a shared `&VirtChan<P>`, which is
// `Sync`; the other fields are `Send` (the bounds).
unsafe impl<P: Provider, T: ?Sized + Send> Send for Inner<P, T>
where
    DescQueue<Desc<P>>: Send,
    P::Engine: Send,
{
}

impl<P: Provider, T: ?Sized> Inner<P, T> {
    /// Whether the device is going away: a driver must not start anything
    /// new (queue work, program hardware) on a dead channel.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The channel whose lock holds this state: what a driver that has the
    /// state (under the lock) needs to act on its channel, with no way to
    /// name the wrong one.
    pub fn chan(&self) -> &VirtChan<P> {
        // SAFETY: `owner` is the channel whose lock holds this state (type
        // invariant), so the channel outlives any reference to its state.
        unsafe { &*self.owner }
    }

    /// The active descriptor ended with `result` (an error of the engine,
    /// such as a bus fault) with `residue` bytes not transferred: its
    /// cookie completes and its callback is told both (`dmaengine_result`).
    /// Returns whether there was one.  Call
    /// [`VirtChan::schedule_callbacks`] afterwards.
    ///
    /// A result other than [`TxResult::NoError`] also makes `tx_status`
    /// answer `DMA_ERROR` for the descriptor's cookie (for the last failed
    /// cookie of the channel).
    pub fn complete_active_with(&mut self, result: TxResult, residue: u32) -> bool {
        if let Some(d) = self.queue.active() {
            d.result.store(result.to_raw(), Ordering::Relaxed);
            d.residue.store(residue, Ordering::Relaxed);
            if result != TxResult::NoError {
                // Before the cookie completes (under this lock), and so
                // before the snapshot that `tx_status` reads without it is
                // published (a `Release` store after this).
                self.chan()
                    .failed_cookie
                    .store(d.cookie().0, Ordering::Relaxed);
            }
        }
        self.queue.complete_active()
    }

    /// The descriptor lists, to read (the active descriptor, a cookie's
    /// descriptor, the cookies).
    pub fn queue(&self) -> &DescQueue<Desc<P>> {
        &self.queue
    }

    /// `issue_pending`: everything submitted becomes issued.  Returns
    /// whether anything is now waiting for the engine.
    pub fn issue_pending(&mut self) -> bool {
        self.queue.issue_pending()
    }

    /// If the engine is free, makes the next issued descriptor active, and
    /// returns the active one.  On a dead channel nothing starts: `None`.
    pub fn start_next(&mut self) -> Option<&Desc<P>> {
        if self.dead {
            return None;
        }
        self.queue.start_next()
    }

    /// The active descriptor finished: its cookie completes and its
    /// callback is due.  Returns whether there was one.  Call
    /// [`VirtChan::schedule_callbacks`] afterwards.
    pub fn complete_active(&mut self) -> bool {
        self.queue.complete_active()
    }

    /// Records that a cyclic period elapsed: its callback is due.  Call
    /// [`VirtChan::schedule_callbacks`] afterwards.
    pub fn period_elapsed(&mut self) {
        self.periods = self.periods.saturating_add(1);
    }
}
