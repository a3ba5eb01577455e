// SPDX-License-Identifier: GPL-2.0

//! The sleep check of the drops that wait for DMA: an `InFlight`, a
//! `Terminated` or a `Channel` dropped where it cannot sleep leaks instead
//! (see the [client module](super) docs).

use crate::dmaengine::bindings;
use kernel::prelude::*;

/// Whether the caller may sleep:
///
/// - `preemptible()`: interrupts on and no preemption count: not in hard or
///   softirq context (where DMA callbacks run), no raw spinlock and,
///   without `PREEMPT_RT`, no `spinlock_t` held;
/// - not `in_interrupt()`: with `PREEMPT_RT` the softirq count (a DMA
///   callback, run with BH disabled in a thread) is kept outside the
///   preemption count;
/// - no `rcu_preempt_depth()`: a read-side section of preemptible RCU, which
///   leaves preemption on, and with `PREEMPT_RT` a `spinlock_t`.
///
/// Without `CONFIG_PREEMPT_COUNT` a held spinlock leaves no trace: only
/// interrupt context and interrupts off are seen.
fn can_sleep() -> bool {
    if cfg!(CONFIG_PREEMPT_COUNT) {
        // SAFETY: Reads the preemption count, the interrupt state and the
        // current task's RCU nesting; no requirements.
        unsafe {
            bindings::preemptible()
                && !bindings::in_interrupt()
                && bindings::rcu_preempt_depth() == 0
        }
    } else {
        // SAFETY: As above.
        unsafe { !bindings::in_interrupt() && !bindings::irqs_disabled() }
    }
}

/// Whether the caller may sleep; if not, logs why `what` is leaked instead
/// of dropped.  A drop that must wait for DMA cannot do so from atomic
/// context (e.g. a callback), and freeing without waiting would be a
/// use-after-free: leaking is the only safe choice left.
pub(super) fn may_sleep(what: &str) -> bool {
    if can_sleep() {
        return true;
    }
    pr_err!(
        "dropping a {what} in atomic context (a DMA callback?): it must wait for the \
         channel, which cannot be done here; its memory is LEAKED.  Drop it in process \
         context.\n"
    );
    false
}

#[kunit_tests(rust_dma_engine_client_api)]
mod tests {
    use super::*;
    use crate::dmaengine::client::DmaBuf;
    use kernel::sync::{
        new_spinlock,
        new_spinlock_irq, //
    };

    // The drops that wait for DMA must see where they cannot.
    #[test]
    fn may_sleep_in_process_context() {
        assert!(can_sleep());
        // Returns at once, without the leak message.
        assert!(may_sleep("test object"));
    }

    #[test]
    fn may_not_sleep_under_a_spinlock() -> Result {
        let lock = KBox::pin_init(new_spinlock!(()), GFP_KERNEL)?;
        let guard = lock.lock();
        // A plain spinlock disables preemption (the build requires
        // CONFIG_PREEMPT_COUNT, which shows it); on PREEMPT_RT it is an
        // RCU read-side section.
        assert!(!can_sleep());
        drop(guard);
        assert!(can_sleep());
        Ok(())
    }

    // With preemptible RCU (CONFIG_PREEMPT_RCU) a
    // read-side section leaves preemption on, and the drop must still not
    // sleep there (`rcu_preempt_depth()`).  The rig's boards have TREE_RCU,
    // where the section disables preemption: the case holds either way.
    #[test]
    fn may_not_sleep_in_an_rcu_read_side_section() {
        let guard = kernel::sync::rcu::read_lock();
        let inside = can_sleep();
        drop(guard);
        assert!(!inside);
        assert!(can_sleep());
    }

    #[test]
    fn may_not_sleep_with_interrupts_off() -> Result {
        let lock = KBox::pin_init(new_spinlock_irq!(()), GFP_KERNEL)?;
        let guard = lock.lock();
        assert!(!can_sleep());
        drop(guard);
        assert!(can_sleep());
        Ok(())
    }

    // An empty buffer would map a dangling pointer.
    #[test]
    fn dma_buf_of_zero_bytes_is_einval() {
        assert!(matches!(DmaBuf::new(0), Err(e) if e == EINVAL));
        assert!(DmaBuf::new(1).is_ok_and(|b| b.len() == 1));
    }
}
