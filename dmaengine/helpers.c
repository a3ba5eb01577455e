// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of the Rust dmaengine abstraction, built into each module.
 *
 * helpers/ holds the helpers as the series adds them to the kernel's
 * rust/helpers/ (dmaengine.c is copied there, dmaengine_client.c appended
 * to it, and each other file appended to the file of that name; see
 * tools/series/plan): one function per static inline function or
 * macro, named rust_helper_<name>, which the build's bindgen run exposes to
 * Rust as bindings::<name>, as the kernel's rust/Makefile does.  Out of
 * tree they are not inlined into Rust (no LLVM bitcode of them):
 * __rust_helper is empty.
 *
 * Below them, what only the out-of-tree build has: the channel lock's
 * backend (lock.rs), which the series leaves out.
 */

#ifndef __rust_helper
#define __rust_helper
#endif

#include <linux/completion.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt_rc.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>

/*
 * The client API leaks, with an error, what it cannot drop without
 * sleeping, so it must see every context where sleeping is a bug.  Without
 * CONFIG_PREEMPT_COUNT a spinlock (and, without preemptible RCU, an RCU
 * read-side section) leaves no trace it could see (client/sleep.rs).
 */
#ifndef CONFIG_PREEMPT_COUNT
#error "rust-dmaengine needs CONFIG_PREEMPT_COUNT: enable PREEMPTION or DEBUG_ATOMIC_SLEEP"
#endif

#include "helpers/completion.c"
#include "helpers/device.c"
#include "helpers/dma.c"
#include "helpers/dmaengine.c"
#include "helpers/dmaengine_client.c"
#include "helpers/interrupt.c"
#include "helpers/interrupt_client.c"
#include "helpers/rcu.c"

/*
 * The channel lock (lock.rs): spin_lock_irqsave() and
 * spin_unlock_irqrestore(), one call each as in C.
 */
unsigned long rde_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

bool rde_spin_trylock_irqsave(spinlock_t *lock, unsigned long *flags)
{
	return spin_trylock_irqsave(lock, *flags);
}

/*
 * Rust guards may be dropped in any order.  If a refcounted
 * local_interrupt_disable() region (the kernel crate's SpinLockIrq or
 * LocalInterruptDisabled) began inside this critical section and is still
 * open, interrupts must stay off until it ends: it takes over @flags, the
 * state to restore, instead of the "disabled" it saved.  Otherwise this is
 * spin_unlock_irqrestore(), reached by a tail call: the rare case is out of
 * line, so the common one costs the test and a branch (lock.rs).
 */
static noinline void __cold rde_spin_unlock_to_region(spinlock_t *lock,
						      unsigned long flags)
{
	spin_unlock(lock);
	_local_interrupt_save_state(flags);
}

void rde_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	if (unlikely(!irqs_disabled_flags(flags) &&
		     (preempt_count() & HARDIRQ_DISABLE_MASK))) {
		rde_spin_unlock_to_region(lock, flags);
		return;
	}
	spin_unlock_irqrestore(lock, flags);
}

bool rde_irqs_disabled(void)
{
	return irqs_disabled();
}
