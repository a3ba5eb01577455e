// SPDX-License-Identifier: GPL-2.0

//! Deferred dispatch of completion callbacks: a work item on the BH
//! workqueue (`system_bh_wq`), owned by a struct.
//!
//! BH workqueues (v6.9) are the replacement the kernel offers for tasklets:
//! a work item queued on `system_bh_wq` runs in softirq context on the CPU
//! that queued it, like a tasklet, but through the workqueue core (flush,
//! cancel, per-CPU pools).  The tasklet→BH-work conversion of virt-dma and
//! the `dmaengine_bh_wq` RFC propose this for DMA callbacks.
//!
//! The shape is that of [`tasklet`](super::tasklet) and of
//! `kernel::workqueue`'s `HasWork`: a [`BhWork`] is a field of its owner,
//! and it is reached only *from* the owner ([`HasBhWork::queue_bh_work`],
//! [`HasBhWork::cancel_bh_work`]), through the field accessors that
//! `impl_has_bh_work!` generates.  The only `container_of` is in that
//! generated code.  A `BhWork` made anywhere else can be neither queued nor
//! cancelled.  (`kernel::workqueue::Work` needs an `Arc` or `KBox` owner to
//! hand to the queue; a channel's dispatcher is a borrowed field of a
//! pinned owner that outlives it, as a tasklet is, so this type does not
//! take a reference per queueing.)
//!
//! Guarantees (those of [`tasklet`](super::tasklet), so that a channel may
//! use either):
//! - [`HasBhWork::queue_bh_work`] may be called from any context,
//!   including hard interrupt context and the handler itself; a work item
//!   that is already pending is not queued twice.
//! - The handler never runs concurrently with itself (the workqueue core
//!   does not run a work item on two workers at once).
//! - After [`HasBhWork::cancel_bh_work`] returns, the handler is neither
//!   running nor pending (until the next queueing), and the work item can
//!   be queued again.  It sleeps.  Unlike `tasklet_kill()`, a pending run
//!   is cancelled rather than run first: an owner that may have work due
//!   after the cancel queues it again (a channel's `synchronize` does, for
//!   a batch submitted after the terminate).
//!
//! What the owner must do (the `# Safety` of [`HasBhWork`]): cancel the work
//! before any of its fields is dropped, and never drop itself from the
//! handler.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use super::bindings;
use crate::dmaengine::test_build;
use core::marker::PhantomData;
use kernel::{
    prelude::*,
    types::Opaque, //
};

/// The handler of a BH work item embedded in `Self`.
pub(super) trait BhWorkHandler: Sync {
    /// Runs in softirq context (BH work), never concurrently with itself.
    fn bh_work_run(&self);
}

/// A type that embeds a [`BhWork<Self>`] as a field.  Implement it with
/// `impl_has_bh_work!`.
///
/// # Safety
///
/// - [`HasBhWork::raw_get_bh_work`] and [`HasBhWork::bh_work_container_of`]
///   must be inverses that map a `Self` to one of its `BhWork<Self>` fields
///   (`impl_has_bh_work!` generates both).
/// - The implementer cancels the work ([`HasBhWork::cancel_bh_work`])
///   before any field of `Self` is dropped, and no handler run ever drops
///   the last reference to its `Self`.
pub(super) unsafe trait HasBhWork: BhWorkHandler + Sized {
    /// The `BhWork<Self>` field of `*ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid `Self`.
    unsafe fn raw_get_bh_work(ptr: *const Self) -> *const BhWork<Self>;

    /// The `Self` whose field `ptr` is.
    ///
    /// # Safety
    ///
    /// `ptr` must point at the `BhWork<Self>` field of a valid `Self`.
    unsafe fn bh_work_container_of(ptr: *const BhWork<Self>) -> *const Self;

    /// Makes [`BhWorkHandler::bh_work_run`] run soon, in softirq context on
    /// this CPU (`system_bh_wq`).  Any context.
    fn queue_bh_work(&self) {
        // SAFETY: `self` is a valid `Self`.
        let w = unsafe { &*Self::raw_get_bh_work(self) };
        // SAFETY: By the type invariant of `BhWork` it is initialised; it is
        // a field of `self` (trait contract), so its handler finds `self`.
        // `system_bh_wq` is a C global, always available.
        unsafe {
            bindings::queue_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as kernel::ffi::c_int,
                bindings::system_bh_wq,
                w.inner.get(),
            )
        };
    }

    /// Cancels a pending run and waits for a running one: afterwards the
    /// handler is neither running nor pending.  Sleeps; must not be called
    /// from the handler.
    fn cancel_bh_work(&self) {
        // SAFETY: `self` is a valid `Self`.
        let w = unsafe { &*Self::raw_get_bh_work(self) };
        w.cancel();
    }
}

/// Implements [`HasBhWork`] for a struct with a `BhWork<Self>` field.
///
/// The `unsafe` in the invocation is the implementer's promise of the
/// second half of [`HasBhWork`]'s `# Safety` (cancel before drop); the
/// field accessors are generated and only compile for a field of the right
/// type.
///
/// ```ignore
/// impl_has_bh_work! {
///     unsafe impl{P: Provider} HasBhWork for VirtChan<P> { self.bh_work }
/// }
/// ```
macro_rules! impl_has_bh_work {
    // SAFETY: (the pattern) the invoker writes `unsafe` for the drop rule.
    (unsafe impl$({$($generics:tt)*})? HasBhWork for $self:ty { self.$field:ident }) => {
        // SAFETY: The accessors below only compile if `$field` is a
        // `BhWork<Self>`; the invoker wrote `unsafe` for the drop rule.
        unsafe impl$(<$($generics)*>)? $crate::dmaengine::bh_work::HasBhWork for $self {
            /// # Safety
            ///
            /// As for [`HasBhWork::raw_get_bh_work`].
            #[inline]
            unsafe fn raw_get_bh_work(
                ptr: *const Self,
            ) -> *const $crate::dmaengine::bh_work::BhWork<Self> {
                // SAFETY: The caller promises that `ptr` is a valid `Self`.
                unsafe { ::core::ptr::addr_of!((*ptr).$field) }
            }

            /// # Safety
            ///
            /// As for [`HasBhWork::bh_work_container_of`].
            #[inline]
            unsafe fn bh_work_container_of(
                ptr: *const $crate::dmaengine::bh_work::BhWork<Self>,
            ) -> *const Self {
                // SAFETY: The caller promises that `ptr` is the `$field` of
                // a `Self`.
                unsafe { ::kernel::container_of!(ptr.cast_mut(), Self, $field).cast_const() }
            }
        }
    };
}
pub(crate) use impl_has_bh_work;

/// The lockdep name of every [`BhWork`] (one class for all: a `BhWork`
/// is only ever cancelled by its owner).
static BH_WORK_NAME: &CStr = c"dma_engine::BhWork";

/// A work item for `system_bh_wq` embedded in a `T`, whose handler is
/// [`BhWorkHandler::bh_work_run`].
///
/// # Invariants
///
/// `inner` is a `work_struct` initialised by `INIT_WORK` with
/// `BhWork::trampoline`.
#[pin_data(PinnedDrop)]
#[repr(transparent)]
pub(super) struct BhWork<T: HasBhWork> {
    #[pin]
    inner: Opaque<bindings::work_struct>,
    _p: PhantomData<T>,
}

// SAFETY: Work items are queued and cancelled from any thread; the
// workqueue core synchronises with its own state bits.
unsafe impl<T: HasBhWork> Send for BhWork<T> {}
// SAFETY: As above.
unsafe impl<T: HasBhWork> Sync for BhWork<T> {}

impl<T: HasBhWork> BhWork<T> {
    /// Initialiser for the `BhWork<T>` field of a `T`.
    ///
    /// Safe: the work can only be queued through `T`'s [`HasBhWork`], which
    /// names this field.
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `init_work_with_key`
            // (`INIT_WORK`) initialises every field of it; the name and
            // the lock class are static.
            inner <- Opaque::ffi_init(|slot| unsafe {
                bindings::init_work_with_key(
                    slot,
                    Some(Self::trampoline),
                    false,
                    BH_WORK_NAME.as_char_ptr(),
                    kernel::static_lock_class!().as_ptr(),
                )
            }),
            _p: PhantomData,
        })
    }

    /// `cancel_work_sync()`: the work is neither pending nor running when
    /// this returns.  Sleeps.
    fn cancel(&self) {
        if test_build::BH_SKIP_CANCEL {
            return;
        }
        // SAFETY: By the type invariant the work item is initialised.
        unsafe { bindings::cancel_work_sync(self.inner.get()) };
    }

    /// # Safety
    ///
    /// Called by the workqueue core with a work item initialised by
    /// [`BhWork::new`] and queued by [`HasBhWork::queue_bh_work`].
    unsafe extern "C" fn trampoline(w: *mut bindings::work_struct) {
        // CAST: `BhWork` is `repr(transparent)` over the C struct.
        let w = w.cast_const().cast::<Self>();
        // SAFETY: Only `queue_bh_work` queues it, on the field of a `T`
        // (trait contract); the `T` is alive because it cancels the work
        // before its fields are dropped.
        let owner = unsafe { &*T::bh_work_container_of(w) };
        owner.bh_work_run();
    }
}

#[pinned_drop]
impl<T: HasBhWork> PinnedDrop for BhWork<T> {
    fn drop(self: Pin<&mut Self>) {
        // Not pending by now if the owner keeps its contract; this makes
        // sure for a work item that was never part of an owner.
        self.cancel();
    }
}

#[kunit_tests(rust_dma_engine_bh_work)]
mod tests {
    use super::*;
    use crate::dmaengine::completion::Completion;
    use core::sync::atomic::{
        AtomicBool,
        AtomicU32,
        Ordering, //
    };
    use kernel::time::Delta;

    #[pin_data(PinnedDrop)]
    struct Owner {
        #[pin]
        work: BhWork<Owner>,
        #[pin]
        done: Completion,
        runs: AtomicU32,
        in_process_context: AtomicBool,
        /// Microseconds each run spins, and whether one is spinning.
        spin_us: u32,
        running: AtomicBool,
        /// Set by the test once it saw `running`: a spinning run waits for
        /// it (at most 1 s), so that a test thread the host did not
        /// schedule for a while still finds the run in progress.
        seen: AtomicBool,
    }

    impl_has_bh_work! {
        // SAFETY: `Owner`'s `PinnedDrop` cancels the work before any field
        // is dropped; the handler only borrows the owner.
        unsafe impl HasBhWork for Owner { self.work }
    }

    impl BhWorkHandler for Owner {
        fn bh_work_run(&self) {
            // SAFETY: Reads the preemption and softirq counts; no
            // requirements.
            if !unsafe { bindings::in_interrupt() } {
                self.in_process_context.store(true, Ordering::Relaxed);
            }
            self.running.store(true, Ordering::Release);
            // In steps of 1 ms: `udelay` takes at most `MAX_UDELAY_MS`.
            if self.spin_us > 0 {
                let mut waited = 0;
                while !self.seen.load(Ordering::Acquire) && waited < 1000 {
                    kernel::time::delay::udelay(Delta::from_micros(1000));
                    waited += 1;
                }
            }
            for _ in 0..self.spin_us / 1000 {
                kernel::time::delay::udelay(Delta::from_micros(1000));
            }
            self.runs.fetch_add(1, Ordering::Relaxed);
            self.running.store(false, Ordering::Release);
            self.done.complete_all();
        }
    }

    #[pinned_drop]
    impl PinnedDrop for Owner {
        fn drop(self: Pin<&mut Self>) {
            self.cancel_bh_work();
        }
    }

    /// Queues `w` on `system_bh_wq` of an online CPU other than this one;
    /// returns that CPU, or -1 if there is none.
    ///
    /// # Safety
    ///
    /// `w` must be an initialised work item that stays valid until it ran or
    /// was cancelled.
    unsafe fn queue_elsewhere(w: *mut bindings::work_struct) -> i32 {
        let this = kernel::cpu::CpuId::current();
        // SAFETY: `__cpu_online_mask` is a valid cpumask for the kernel's
        // lifetime.
        let online =
            unsafe { kernel::cpumask::Cpumask::from_raw(&raw const bindings::__cpu_online_mask) };
        let other = (0..kernel::cpu::nr_cpu_ids())
            .filter_map(kernel::cpu::CpuId::from_u32)
            .find(|&c| c != this && online.test(c));
        let Some(cpu) = other else {
            return -1;
        };
        // CAST: CPU ids fit an `i32`.
        let id = cpu.as_u32() as i32;
        // SAFETY: `w` is valid (the caller's promise); `system_bh_wq` is a
        // C global, always available.
        unsafe { bindings::queue_work_on(id, bindings::system_bh_wq, w) };
        id
    }

    fn owner(spin_us: u32) -> Result<Pin<KBox<Owner>>> {
        KBox::pin_init(
            pin_init!(Owner {
                work <- BhWork::new(),
                done <- Completion::new(),
                runs: AtomicU32::new(0),
                in_process_context: AtomicBool::new(false),
                spin_us,
                running: AtomicBool::new(false),
                seen: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
    }

    // The handler runs in softirq context, never in the queuer's, and the
    // work item can be queued again after a cancel (a channel is reusable
    // after synchronize).
    #[test]
    fn runs_in_softirq_and_again_after_cancel() -> Result {
        let o = owner(0)?;
        for round in 1..=2u32 {
            o.done.reinit();
            o.queue_bh_work();
            assert!(o
                .done
                .wait_for_completion_timeout(kernel::time::msecs_to_jiffies(5000)));
            o.cancel_bh_work();
            assert_eq!(o.runs.load(Ordering::Relaxed), round);
        }
        assert!(!o.in_process_context.load(Ordering::Relaxed));
        Ok(())
    }

    // A cancel with nothing queued returns at once and leaves it usable.
    #[test]
    fn cancel_when_idle_is_harmless() -> Result {
        let o = owner(0)?;
        o.cancel_bh_work();
        o.queue_bh_work();
        assert!(o
            .done
            .wait_for_completion_timeout(kernel::time::msecs_to_jiffies(5000)));
        Ok(())
    }

    // What synchronize relies on: a cancel waits for a run in progress on
    // another CPU (BH work runs on the CPU that queued it, as the engine's
    // interrupt does).  Fails in the `BH_SKIP_CANCEL` test build.
    #[test]
    fn cancel_waits_for_a_run_on_another_cpu() -> Result {
        let o = owner(20_000)?;
        // SAFETY: `work` is the initialised `BhWork` of `o`, which cancels it
        // before it is dropped.
        let cpu = unsafe { queue_elsewhere(o.work.inner.get()) };
        if cpu < 0 {
            // One CPU: nothing runs beside us.
            return Ok(());
        }
        // Wait (up to about 1 s) for the run to be in its 20 ms spin.
        let mut n = 0;
        while !o.running.load(Ordering::Acquire) && n < 1000 {
            kernel::time::delay::fsleep(Delta::from_micros(1000));
            n += 1;
        }
        assert!(o.running.load(Ordering::Acquire));
        // The run goes on for 20 ms from here: the cancel must wait for it.
        o.seen.store(true, Ordering::Release);
        o.cancel_bh_work();
        assert!(!o.running.load(Ordering::Acquire));
        assert_eq!(o.runs.load(Ordering::Relaxed), 1);
        Ok(())
    }

    #[test]
    fn dispatch_names_parse() {
        use crate::dmaengine::provider::Dispatch;
        assert_eq!(Dispatch::from_name(b"tasklet"), Some(Dispatch::Tasklet));
        assert_eq!(Dispatch::from_name(b"bh"), Some(Dispatch::Bh));
        assert_eq!(Dispatch::from_name(b"BH"), None);
        assert_eq!(Dispatch::from_name(b""), None);
        assert_eq!(Dispatch::default(), Dispatch::Tasklet);
        assert_eq!(Dispatch::Bh.name(), "bh");
    }
}
