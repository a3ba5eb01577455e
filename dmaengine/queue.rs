// SPDX-License-Identifier: GPL-2.0

//! The descriptor queue of a virtual channel: cookies and the lists.
//!
//! This is the discipline of `drivers/dma/virt-dma.[ch]` and the cookie
//! helpers of `drivers/dma/dmaengine.h`, redone as types.  A descriptor is
//! always on exactly one list, and the list it is on is its state:
//!
//! ```text
//!  prep ──> allocated ──submit──> submitted ──issue_pending──> issued
//!                                                                │ start
//!     callback done <──callback── completed <──complete──── active
//!                                                                │
//!  terminate_all: active, issued, submitted, completed ──> terminated
//!  synchronize: terminated ──> freed
//! ```
//!
//! Ownership is explicit: each list holds [`ListArc`]s, the unique "this is
//! on a list" handle, so a descriptor cannot be on two lists, and taking one
//! off a list hands its ownership to the caller.  The queue is protected by
//! the channel lock as a whole: it is the `T` of the channel's lock, so none
//! of it can be reached without the guard.
//!
//! C header: [`drivers/dma/virt-dma.h`](srctree/drivers/dma/virt-dma.h)

use core::sync::atomic::{
    AtomicI32,
    AtomicU64,
    Ordering, //
};
use kernel::{
    list::{
        List,
        ListArc,
        ListItem, //
    },
    prelude::*,
    sync::ArcBorrow, //
};

/// The smallest valid cookie (`DMA_MIN_COOKIE`).
pub const DMA_MIN_COOKIE: i32 = 1;

/// A transaction cookie, as returned by `dmaengine_submit()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cookie(pub i32);

/// Cookie bookkeeping of one channel (`chan->cookie` and
/// `chan->completed_cookie` in C).
///
/// # Invariants
///
/// Both values are always `>= DMA_MIN_COOKIE`.
#[derive(Debug)]
pub struct Cookies {
    last_assigned: i32,
    completed: i32,
}

impl Default for Cookies {
    fn default() -> Self {
        Self::new()
    }
}

impl Cookies {
    /// Fresh bookkeeping, as `dma_cookie_init()`.
    pub const fn new() -> Self {
        Self {
            last_assigned: DMA_MIN_COOKIE,
            completed: DMA_MIN_COOKIE,
        }
    }

    /// The next cookie, as `dma_cookie_assign()`: wraps from `i32::MAX`
    /// back to [`DMA_MIN_COOKIE`], never to zero or a negative (error) value.
    pub fn assign(&mut self) -> Cookie {
        let mut c = self.last_assigned.wrapping_add(1);
        if c < DMA_MIN_COOKIE {
            c = DMA_MIN_COOKIE;
        }
        // INVARIANT: `c >= DMA_MIN_COOKIE`.
        self.last_assigned = c;
        Cookie(c)
    }

    /// Records `c` as the most recently completed cookie
    /// (`dma_cookie_complete()`).
    pub fn complete(&mut self, c: Cookie) {
        if c.0 >= DMA_MIN_COOKIE {
            self.completed = c.0;
        }
    }

    /// The last assigned cookie (`state->used`).
    pub fn last_assigned(&self) -> Cookie {
        Cookie(self.last_assigned)
    }

    /// The last completed cookie (`state->last`).
    pub fn last_completed(&self) -> Cookie {
        Cookie(self.completed)
    }

    /// Both values in one word, for a lock-free snapshot (see
    /// [`Cookies::from_bits`]).
    pub fn to_bits(&self) -> u64 {
        // CAST: Both are positive `i32`s (type invariant).
        (u64::from(self.last_assigned as u32) << 32) | u64::from(self.completed as u32)
    }

    /// The bookkeeping that [`Cookies::to_bits`] packed; values that no
    /// `Cookies` could have become [`DMA_MIN_COOKIE`].
    pub fn from_bits(bits: u64) -> Self {
        // CAST: Each half is an `i32` bit pattern.
        let valid = |v: u32| (v as i32).max(DMA_MIN_COOKIE);
        // INVARIANT: `valid` clamps both to `>= DMA_MIN_COOKIE`.
        Self {
            last_assigned: valid((bits >> 32) as u32),
            completed: valid(bits as u32),
        }
    }

    /// Whether `c` has completed, as `dma_async_is_complete()`: correct
    /// across the wrap of the cookie counter.
    pub fn is_complete(&self, c: Cookie) -> bool {
        let (done, used, c) = (self.completed, self.last_assigned, c.0);
        if done <= used {
            c <= done || c > used
        } else {
            c <= done && c > used
        }
    }
}

/// What a descriptor must provide to live in a [`DescQueue`].
///
/// # Safety
///
/// [`QueueItem::queue_state`] must return a reference to the same
/// [`ItemState`] every time it is called on an item, for the item's whole
/// life, and no two items may share one: the queue keeps in it which list
/// of which queue the item is on, and relies on that to unlink it.
pub unsafe trait QueueItem: ListItem<0> {
    /// The per-descriptor bookkeeping the queue keeps.
    fn queue_state(&self) -> &ItemState;
}

/// Queue bookkeeping inside each descriptor.
///
/// # Invariants
///
/// `owner` is 0 until a [`DescQueue`] takes the item with
/// [`DescQueue::add_allocated`], and from then on that queue's (even) id,
/// with bit 0 set once the item is submitted, unless the item
/// is made new while no one else references it (a recycled descriptor is
/// written a fresh `ItemState`: no queue holds it).  One word, so that
/// submit checks "ours, and not submitted yet" with one compare.
#[derive(Default)]
pub struct ItemState {
    cookie: AtomicI32,
    owner: AtomicU64,
}

impl ItemState {
    /// Fresh state: not submitted, no cookie, on no queue.
    pub const fn new() -> Self {
        Self {
            cookie: AtomicI32::new(0),
            owner: AtomicU64::new(0),
        }
    }

    /// The cookie assigned at submit, or 0 before.
    pub fn cookie(&self) -> Cookie {
        Cookie(self.cookie.load(Ordering::Relaxed))
    }
}

/// Errors of queue operations.
#[derive(Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The descriptor was submitted already.
    AlreadySubmitted,
    /// The descriptor was not prepared on this queue.
    NotOurs,
}

/// Source of [`DescQueue`] ids; 0 means "no queue".
static NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);

/// The lists of one channel.
///
/// # Invariants
///
/// - `id` is unique among all queues, even, and never 0 (a count from 1,
///   shifted left by one: bit 0 of an item's `owner` is its submitted
///   bit).
/// - An item whose `owner` is `id` (ours, not submitted) is on
///   `allocated` (and on no other list); bit 0 (submitted) is only set under
///   the same `&mut self` that removes it.
/// - `active` is the descriptor the engine is working on, if any.
///
/// Methods that free descriptors or hand them out of the queue are visible
/// to the rest of the abstraction only: a C client may still hold the `tx`
/// of a prepared descriptor, so only the framework knows when it may go.
pub struct DescQueue<T: QueueItem> {
    id: u64,
    cookies: Cookies,
    allocated: List<T>,
    submitted: List<T>,
    issued: List<T>,
    active: Option<ListArc<T>>,
    completed: List<T>,
    terminated: List<T>,
}

impl<T: QueueItem> Default for DescQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: QueueItem> DescQueue<T> {
    /// An empty queue with fresh cookies.
    pub fn new() -> Self {
        // INVARIANT: the count starts at 1 and 2^63 queues are never made,
        // so the shifted ids are distinct, even and not 0.
        Self {
            id: NEXT_QUEUE_ID.fetch_add(1, Ordering::Relaxed) << 1,
            cookies: Cookies::new(),
            allocated: List::new(),
            submitted: List::new(),
            issued: List::new(),
            active: None,
            completed: List::new(),
            terminated: List::new(),
        }
    }

    /// The cookie bookkeeping.
    pub fn cookies(&self) -> &Cookies {
        &self.cookies
    }

    /// A freshly prepared descriptor: kept on `allocated` until submitted,
    /// so that one prepared but never submitted is still freed with the
    /// channel.
    ///
    /// Fails with `EBUSY` (and drops `d`) if the item was on a queue before.
    pub fn add_allocated(&mut self, d: ListArc<T>) -> Result {
        let st = d.queue_state();
        // A load and a store, not a compare-exchange: `owner` is written
        // only here and while the item is made new, and both need the one
        // `ListArc` of the item (we own it), so no other write can race.
        if st.owner.load(Ordering::Relaxed) != 0 {
            return Err(EBUSY);
        }
        st.owner.store(self.id, Ordering::Relaxed);
        // INVARIANT: the item is ours now, not submitted, on `allocated`.
        self.allocated.push_back(d);
        Ok(())
    }

    /// `tx_submit`: assign a cookie and queue on `submitted`.
    ///
    /// Any `d` is accepted: one that was not prepared on this queue is
    /// refused with [`QueueError::NotOurs`], one submitted already with
    /// [`QueueError::AlreadySubmitted`].
    pub fn submit(&mut self, d: &T) -> Result<Cookie, QueueError> {
        let st = d.queue_state();
        let owner = st.owner.load(Ordering::Relaxed);
        if owner != self.id {
            return Err(if owner == self.id | 1 {
                QueueError::AlreadySubmitted
            } else {
                QueueError::NotOurs
            });
        }
        // A load and a store, not a compare-exchange: the item is ours, and
        // only the holder of `&mut self` writes `owner` of an item we own
        // (or `Desc::reuse`, while the item is unreachable: no one else
        // holds a reference to it).
        st.owner.store(owner | 1, Ordering::Relaxed);
        // SAFETY: `d` belongs to this queue (`owner`, set only by our
        // `add_allocated`, and `QueueItem` promises the state is `d`'s own)
        // and was not submitted: by the type invariant it is on `allocated`,
        // and we hold `&mut self`, so nothing else moved it.
        let Some(arc) = (unsafe { self.allocated.remove(d) }) else {
            return Err(QueueError::AlreadySubmitted);
        };
        let c = self.cookies.assign();
        st.cookie.store(c.0, Ordering::Relaxed);
        self.submitted.push_back(arc);
        Ok(c)
    }

    /// `issue_pending`: everything submitted becomes issued.  Returns whether
    /// anything is now waiting for the engine.
    pub fn issue_pending(&mut self) -> bool {
        self.issued.push_all_back(&mut self.submitted);
        !self.issued.is_empty()
    }

    /// The descriptor the engine works on.
    pub fn active(&self) -> Option<&T> {
        self.active.as_deref()
    }

    /// If the engine is free, make the next issued descriptor active.
    pub fn start_next(&mut self) -> Option<&T> {
        if self.active.is_none() {
            self.active = self.issued.pop_front();
        }
        self.active.as_deref()
    }

    /// The `ListArc` of the active descriptor.
    pub fn active_list_arc(&self) -> Option<&ListArc<T>> {
        self.active.as_ref()
    }

    /// The active descriptor finished: complete its cookie and queue it for
    /// its callback.  Returns whether there was one.
    pub fn complete_active(&mut self) -> bool {
        let Some(d) = self.active.take() else {
            return false;
        };
        self.cookies.complete(d.queue_state().cookie());
        self.completed.push_back(d);
        true
    }

    /// The next completed descriptor whose callback is due, taken off the
    /// queue.  Dispatch takes one at a time, so a callback that terminates
    /// the channel stops the callbacks of the ones behind it.
    pub(super) fn pop_completed(&mut self) -> Option<ListArc<T>> {
        self.completed.pop_front()
    }

    /// Whether callbacks are pending.
    pub fn has_completed(&self) -> bool {
        !self.completed.is_empty()
    }

    /// `terminate_all`: every descriptor that is not done moves to
    /// `terminated`, where it stays until `synchronize` frees it; none of
    /// them will get its callback.  Returns how many were aborted.
    pub fn terminate_all(&mut self) -> usize {
        let mut n = 0;
        if let Some(d) = self.active.take() {
            self.terminated.push_back(d);
            n += 1;
        }
        for l in [&mut self.issued, &mut self.submitted, &mut self.completed] {
            n += l.iter().count();
            self.terminated.push_all_back(l);
        }
        n
    }

    /// Takes the terminated descriptors, to be freed outside the lock.
    ///
    /// Only the framework calls this, from `synchronize`, after the engine
    /// stopped and no callback runs.
    pub(super) fn take_terminated(&mut self) -> List<T> {
        core::mem::take(&mut self.terminated)
    }

    /// Takes every descriptor of the queue, including prepared but never
    /// submitted ones (for `free_chan_resources`, when no client holds a
    /// `tx` of this channel any more).
    pub(super) fn take_all(&mut self) -> List<T> {
        self.terminate_all();
        let mut all = self.take_terminated();
        all.push_all_back(&mut self.allocated);
        all
    }

    /// Finds a not-yet-complete descriptor by cookie (for residue).
    pub fn find(&self, c: Cookie) -> Option<ArcBorrow<'_, T>> {
        if let Some(a) = &self.active {
            if a.queue_state().cookie() == c {
                return Some(a.as_arc_borrow());
            }
        }
        Iterator::chain(self.issued.iter(), self.submitted.iter())
            .find(|d| d.queue_state().cookie() == c)
    }

    /// Whether nothing is queued, active, waiting for a callback or for
    /// `synchronize`.
    pub fn is_idle(&self) -> bool {
        self.active.is_none()
            && self.submitted.is_empty()
            && self.issued.is_empty()
            && self.completed.is_empty()
            && self.terminated.is_empty()
    }
}

#[kunit_tests(rust_dma_engine_queue)]
mod tests {
    use super::*;
    use kernel::list::{
        impl_list_arc_safe,
        impl_list_item,
        ListLinks, //
    };

    #[pin_data]
    struct Item {
        #[pin]
        links: ListLinks,
        st: ItemState,
        id: u32,
    }

    impl_list_arc_safe! {
        impl ListArcSafe<0> for Item { untracked; }
    }
    impl_list_item! {
        impl ListItem<0> for Item { using ListLinks { self.links }; }
    }
    // SAFETY: `st` is the item's own field, the same on every call.
    unsafe impl QueueItem for Item {
        fn queue_state(&self) -> &ItemState {
            &self.st
        }
    }

    fn item(id: u32) -> Result<ListArc<Item>> {
        ListArc::pin_init(
            try_pin_init!(Item {
                links <- ListLinks::new(),
                st: ItemState::new(),
                id,
            }),
            GFP_KERNEL,
        )
    }

    #[test]
    fn cookies_start_at_min_and_increase() {
        let mut c = Cookies::new();
        assert_eq!(c.assign(), Cookie(2));
        assert_eq!(c.assign(), Cookie(3));
        assert!(!c.is_complete(Cookie(2)));
        c.complete(Cookie(2));
        assert!(c.is_complete(Cookie(2)));
        assert!(!c.is_complete(Cookie(3)));
    }

    #[test]
    fn cookie_snapshot_round_trips() {
        // The lock-free snapshot that tx_status reads must answer exactly
        // as the bookkeeping it was taken from, also across the wrap.
        let mut c = Cookies {
            last_assigned: i32::MAX - 1,
            completed: i32::MAX - 2,
        };
        c.assign();
        let k = c.assign();
        c.complete(Cookie(i32::MAX));
        let s = Cookies::from_bits(c.to_bits());
        assert_eq!(s.last_assigned(), c.last_assigned());
        assert_eq!(s.last_completed(), c.last_completed());
        for x in [1, 2, 3, i32::MAX - 2, i32::MAX - 1, i32::MAX] {
            assert_eq!(s.is_complete(Cookie(x)), c.is_complete(Cookie(x)));
        }
        // A snapshot taken when a cookie was assigned does not call it
        // complete (tx_status would report a transfer done too early).
        assert!(!s.is_complete(k));
        // Words no `Cookies` produced decode to valid bookkeeping.
        for bits in [0u64, u64::MAX, 0xffff_ffff_0000_0000] {
            let z = Cookies::from_bits(bits);
            assert!(z.last_assigned().0 >= DMA_MIN_COOKIE);
            assert!(z.last_completed().0 >= DMA_MIN_COOKIE);
        }
    }

    #[test]
    fn cookies_wrap_to_min_not_to_error_values() {
        let mut c = Cookies {
            last_assigned: i32::MAX - 1,
            completed: i32::MAX - 1,
        };
        assert_eq!(c.assign(), Cookie(i32::MAX));
        assert_eq!(c.assign(), Cookie(DMA_MIN_COOKIE));
        assert_eq!(c.assign(), Cookie(2));
        // Completed is before the wrap: the wrapped cookies are in flight,
        // and old ones from before the last completion are done.
        assert!(!c.is_complete(Cookie(2)));
        assert!(!c.is_complete(Cookie(i32::MAX)));
        assert!(c.is_complete(Cookie(i32::MAX - 1)));
        c.complete(Cookie(i32::MAX));
        assert!(c.is_complete(Cookie(i32::MAX)));
        assert!(!c.is_complete(Cookie(DMA_MIN_COOKIE)));
        c.complete(Cookie(2));
        assert!(c.is_complete(Cookie(DMA_MIN_COOKIE)));
        assert!(c.is_complete(Cookie(2)));
    }

    #[test]
    fn lifecycle_submit_issue_complete_callback() -> Result {
        let mut q = DescQueue::<Item>::new();
        let a = item(1)?;
        // The C client's handle on a prepared descriptor: a second reference.
        let a_ref = a.clone_arc();
        q.add_allocated(a)?;
        assert_eq!(q.submit(&a_ref), Ok(Cookie(2)));
        assert_eq!(q.submit(&a_ref), Err(QueueError::AlreadySubmitted));
        // Not issued yet: nothing to start.
        assert!(q.start_next().is_none());
        assert!(q.issue_pending());
        assert_eq!(q.start_next().map(|d| d.id), Some(1));
        assert_eq!(q.find(Cookie(2)).map(|d| d.id), Some(1));
        assert!(!q.cookies().is_complete(Cookie(2)));
        q.complete_active();
        assert!(q.cookies().is_complete(Cookie(2)));
        let done = q.pop_completed();
        assert_eq!(done.map(|d| d.id), Some(1));
        assert!(q.is_idle());
        Ok(())
    }

    #[test]
    fn terminate_moves_everything_but_done_callbacks() -> Result {
        let mut q = DescQueue::<Item>::new();
        let mut refs = KVec::new();
        for id in 0..4 {
            let d = item(id)?;
            refs.push(d.clone_arc(), GFP_KERNEL)?;
            q.add_allocated(d)?;
        }
        for r in &refs {
            q.submit(r).map_err(|_| EINVAL)?;
        }
        q.issue_pending();
        q.start_next();
        // 0: completed, callback pending.
        q.complete_active();
        // 1: active; 2, 3: issued.  Active, two issued and one completed
        // are aborted.
        q.start_next();
        assert_eq!(q.terminate_all(), 4);
        // No callback after terminate, and nothing left to run.
        assert!(q.pop_completed().is_none());
        assert!(q.start_next().is_none());
        let mut t = q.take_terminated();
        let mut n = 0;
        while t.pop_front().is_some() {
            n += 1;
        }
        assert_eq!(n, 4);
        assert!(q.is_idle());
        Ok(())
    }

    #[test]
    fn items_of_another_queue_or_none_are_refused() -> Result {
        // `submit` must refuse an item of another queue, or of none:
        // unlinking it from a list it is not on would corrupt that list.
        let mut q = DescQueue::<Item>::new();
        let mut other = DescQueue::<Item>::new();
        let stray = item(1)?;
        assert_eq!(q.submit(&stray), Err(QueueError::NotOurs));
        let b = item(2)?;
        let b_ref = b.clone_arc();
        other.add_allocated(b)?;
        assert_eq!(q.submit(&b_ref), Err(QueueError::NotOurs));
        assert_eq!(other.submit(&b_ref), Ok(Cookie(2)));
        assert!(q.is_idle());
        Ok(())
    }

    #[test]
    fn never_submitted_descriptors_are_reclaimed() -> Result {
        let mut q = DescQueue::<Item>::new();
        q.add_allocated(item(7)?)?;
        let mut all = q.take_all();
        assert_eq!(all.pop_front().map(|d| d.id), Some(7));
        assert!(q.is_idle());
        Ok(())
    }
}
