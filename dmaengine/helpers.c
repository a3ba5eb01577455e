// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for the Rust dmaengine abstraction.
 *
 * Each function wraps one static inline function or macro that bindgen
 * cannot turn into a callable symbol, in the style of the files in rust/helpers/.
 * They contain no logic of their own beyond the wrapped call, except
 * rde_dma_request_chan_by_mask(), whose filter function must be C because
 * dma_request_channel() takes a C function pointer, and one on a provider's
 * hot path, whose comment says why: rde_spin_unlock_irqrestore().
 */

#include <linux/cpumask.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/interrupt_rc.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/string.h>

/* The provider-private cookie and callback helpers (drivers/dma/dmaengine.h). */
#include "dmaengine.h"
#include "helpers.h"

void rde_dma_cap_set(enum dma_transaction_type tx_type, dma_cap_mask_t *mask)
{
	__dma_cap_set(tx_type, mask);
}

void rde_dma_device_init_channels(struct dma_device *dev)
{
	INIT_LIST_HEAD(&dev->channels);
}

void rde_dma_chan_add(struct dma_device *dev, struct dma_chan *chan)
{
	chan->device = dev;
	list_add_tail(&chan->device_node, &dev->channels);
}

bool rde_desc_has_callback(struct dma_async_tx_descriptor *tx)
{
	return tx->callback || tx->callback_result;
}

/*
 * A software engine copies through the CPU's cache: it is cache-coherent,
 * and the DMA API must not invalidate what it wrote.
 */
void rde_dev_set_dma_coherent(struct device *dev)
{
	dev_set_dma_coherent(dev);
}

/* A driver's claim on its register window (amba.rs). */
bool rde_request_mem_region(resource_size_t start, size_t n, const char *name)
{
	return !!request_mem_region(start, n, name);
}

void rde_release_mem_region(resource_size_t start, size_t n)
{
	release_mem_region(start, n);
}

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

void rde_init_work(struct work_struct *work,
		   void (*func)(struct work_struct *))
{
	INIT_WORK(work, func);
}

bool rde_queue_bh_work(struct work_struct *work)
{
	return queue_work(system_bh_wq, work);
}

/*
 * For a KUnit case (bh_work.rs): queues @work on system_bh_wq of an online
 * CPU other than this one; returns that CPU, or -1 if there is none.
 */
int rde_queue_bh_work_elsewhere(struct work_struct *work)
{
	int cpu = get_cpu();
	int other = cpumask_any_but(cpu_online_mask, cpu);

	if (other >= nr_cpu_ids)
		other = -1;
	else
		queue_work_on(other, system_bh_wq, work);
	put_cpu();
	return other;
}

void rde_init_completion(struct completion *x)
{
	init_completion(x);
}

void rde_reinit_completion(struct completion *x)
{
	reinit_completion(x);
}

bool rde_completion_done(struct completion *x)
{
	return completion_done(x);
}

struct rde_chan_filter {
	const char *chan_name;
	const char *dev_name;
	bool need_sync;
};

static bool rde_chan_filter_fn(struct dma_chan *chan, void *param)
{
	const struct rde_chan_filter *f = param;

	if (f->chan_name && *f->chan_name &&
	    strcmp(dma_chan_name(chan), f->chan_name))
		return false;
	if (f->dev_name && *f->dev_name &&
	    strcmp(dev_name(chan->device->dev), f->dev_name))
		return false;
	if (f->need_sync && !rde_dma_chan_can_synchronize(chan))
		return false;
	return true;
}

/*
 * A free channel with @cap, named @chan_name and on device @dev_name if
 * given; with @need_sync only one whose provider implements
 * device_synchronize (and device_terminate_all).
 */
struct dma_chan *rde_dma_request_chan_by_mask(enum dma_transaction_type cap,
					      const char *chan_name,
					      const char *dev_name,
					      bool need_sync)
{
	struct rde_chan_filter f = {
		.chan_name = chan_name,
		.dev_name = dev_name,
		.need_sync = need_sync,
	};
	dma_cap_mask_t mask;

	dma_cap_zero(mask);
	dma_cap_set(cap, mask);
	return dma_request_channel(mask, rde_chan_filter_fn, &f);
}

struct dma_async_tx_descriptor *
rde_prep_dma_memcpy(struct dma_chan *chan, dma_addr_t dst, dma_addr_t src,
		    size_t len, unsigned long flags)
{
	return dmaengine_prep_dma_memcpy(chan, dst, src, len, flags);
}

struct dma_async_tx_descriptor *
rde_prep_dma_cyclic(struct dma_chan *chan, dma_addr_t buf, size_t buf_len,
		    size_t period_len, enum dma_transfer_direction dir,
		    unsigned long flags)
{
	return dmaengine_prep_dma_cyclic(chan, buf, buf_len, period_len, dir,
					 flags);
}

dma_cookie_t rde_dmaengine_submit(struct dma_async_tx_descriptor *tx)
{
	return dmaengine_submit(tx);
}

void rde_dma_async_issue_pending(struct dma_chan *chan)
{
	dma_async_issue_pending(chan);
}

int rde_dmaengine_terminate_async(struct dma_chan *chan)
{
	return dmaengine_terminate_async(chan);
}

void rde_dmaengine_synchronize(struct dma_chan *chan)
{
	dmaengine_synchronize(chan);
}

int rde_dmaengine_terminate_sync(struct dma_chan *chan)
{
	return dmaengine_terminate_sync(chan);
}

int rde_dmaengine_pause(struct dma_chan *chan)
{
	return dmaengine_pause(chan);
}

int rde_dmaengine_resume(struct dma_chan *chan)
{
	return dmaengine_resume(chan);
}

enum dma_status rde_dmaengine_tx_status(struct dma_chan *chan,
					dma_cookie_t cookie,
					struct dma_tx_state *state)
{
	return dmaengine_tx_status(chan, cookie, state);
}

const char *rde_dma_chan_name(struct dma_chan *chan)
{
	return dma_chan_name(chan);
}

void rde_set_callback(struct dma_async_tx_descriptor *tx,
		      dma_async_tx_callback cb, void *param)
{
	tx->callback = cb;
	tx->callback_param = param;
}

bool rde_dma_has_cap(struct dma_chan *chan, enum dma_transaction_type cap)
{
	return dma_has_cap(cap, chan->device->cap_mask);
}

struct device *rde_dma_chan_dma_device(struct dma_chan *chan)
{
	return dmaengine_get_dma_device(chan);
}

dma_addr_t rde_dma_map_single(struct device *dev, void *ptr, size_t size)
{
	return dma_map_single(dev, ptr, size, DMA_BIDIRECTIONAL);
}

int rde_dma_mapping_error(struct device *dev, dma_addr_t addr)
{
	return dma_mapping_error(dev, addr);
}

void rde_dma_unmap_single(struct device *dev, dma_addr_t addr, size_t size)
{
	dma_unmap_single(dev, addr, size, DMA_BIDIRECTIONAL);
}

/*
 * Whether @chan's provider keeps the termination contract: it can stop a
 * channel (device_terminate_all) and wait for it (device_synchronize).
 * Without the latter dmaengine_synchronize() returns at once.
 */
bool rde_dma_chan_can_synchronize(struct dma_chan *chan)
{
	return chan->device->device_terminate_all &&
	       chan->device->device_synchronize;
}

/*
 * The client API leaks, with an error, what it cannot drop without
 * sleeping, so it must see every context where sleeping is a bug.  Without
 * CONFIG_PREEMPT_COUNT a spinlock (and, without preemptible RCU, an RCU
 * read-side section) leaves no trace it could see.
 */
#ifndef CONFIG_PREEMPT_COUNT
#error "rust-dmaengine needs CONFIG_PREEMPT_COUNT: enable PREEMPTION or DEBUG_ATOMIC_SLEEP"
#endif

/*
 * Whether the caller may sleep:
 * - preemptible(): interrupts on and preempt_count() zero: no hard or soft
 *   interrupt context, no raw spinlock, and on !PREEMPT_RT no spinlock_t;
 * - !in_interrupt(): on PREEMPT_RT the softirq count (a DMA callback, run
 *   with BH disabled in a thread) is kept outside preempt_count();
 * - !rcu_preempt_depth(): a read-side section of preemptible RCU, which
 *   leaves preemption on, and on PREEMPT_RT a spinlock_t (rt_spin_lock()
 *   takes rcu_read_lock()).
 */
bool rde_may_sleep(void)
{
	return preemptible() && !in_interrupt() && !rcu_preempt_depth();
}

unsigned int rde_num_online_cpus(void)
{
	return num_online_cpus();
}
