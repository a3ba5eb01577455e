/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtual DMA channel support for DMAengine
 *
 * Copyright (C) 2012 Russell King
 *
 * rde_virt_dma: a private copy of drivers/dma/virt-dma.[ch] for the C twin
 * of `make bench` (tools/bench/rde_c_twin.c), with every symbol renamed
 * (rde_vchan_*).  The one change: callbacks are dispatched from a tasklet,
 * as upstream virt-dma does, or from a work item on system_bh_wq, chosen
 * per channel at rde_vchan_init(), as the 2025 virt-dma tasklet-to-BH
 * conversion and the dmaengine_bh_wq RFC propose.  Synchronize waits for
 * the one in use (tasklet_kill() or cancel_work_sync()).
 */
#ifndef RDE_VIRT_DMA_H
#define RDE_VIRT_DMA_H

#include <linux/dmaengine.h>
#include <linux/interrupt.h>
#include <linux/workqueue.h>

#include "dmaengine.h"

struct rde_vdesc {
	struct dma_async_tx_descriptor tx;
	struct dmaengine_result tx_result;
	/* protected by vc.lock */
	struct list_head node;
};

struct rde_vchan {
	struct dma_chan	chan;
	struct tasklet_struct task;
	struct work_struct work;	/* instead of task if bh */
	bool bh;
	void (*desc_free)(struct rde_vdesc *vd);

	spinlock_t lock;	/* protects the lists and cyclic */

	/* protected by vc.lock */
	struct list_head desc_allocated;
	struct list_head desc_submitted;
	struct list_head desc_issued;
	struct list_head desc_completed;
	struct list_head desc_terminated;

	struct rde_vdesc *cyclic;
};

static inline struct rde_vchan *to_rde_vchan(struct dma_chan *chan)
{
	return container_of(chan, struct rde_vchan, chan);
}

void rde_vchan_dma_desc_free_list(struct rde_vchan *vc, struct list_head *head);
void rde_vchan_init(struct rde_vchan *vc, struct dma_device *dmadev, bool bh);
struct rde_vdesc *rde_vchan_find_desc(struct rde_vchan *vc, dma_cookie_t cookie);
dma_cookie_t rde_vchan_tx_submit(struct dma_async_tx_descriptor *tx);
int rde_vchan_tx_desc_free(struct dma_async_tx_descriptor *tx);

/**
 * rde_vchan_schedule - schedule callback dispatch: the tasklet or the BH work
 * @vc: virtual channel
 */
static inline void rde_vchan_schedule(struct rde_vchan *vc)
{
	if (vc->bh)
		queue_work(system_bh_wq, &vc->work);
	else
		tasklet_schedule(&vc->task);
}

/**
 * rde_vchan_kill - wait until callback dispatch neither runs nor is pending
 * @vc: virtual channel
 */
static inline void rde_vchan_kill(struct rde_vchan *vc)
{
	if (vc->bh)
		cancel_work_sync(&vc->work);
	else
		tasklet_kill(&vc->task);
}

/**
 * rde_vchan_tx_prep - prepare a descriptor
 * @vc: virtual channel allocating this descriptor
 * @vd: virtual descriptor to prepare
 * @tx_flags: flags argument passed in to prepare function
 */
static inline struct dma_async_tx_descriptor *
rde_vchan_tx_prep(struct rde_vchan *vc, struct rde_vdesc *vd,
		  unsigned long tx_flags)
{
	unsigned long flags;

	dma_async_tx_descriptor_init(&vd->tx, &vc->chan);
	vd->tx.flags = tx_flags;
	vd->tx.tx_submit = rde_vchan_tx_submit;
	vd->tx.desc_free = rde_vchan_tx_desc_free;

	vd->tx_result.result = DMA_TRANS_NOERROR;
	vd->tx_result.residue = 0;

	spin_lock_irqsave(&vc->lock, flags);
	list_add_tail(&vd->node, &vc->desc_allocated);
	spin_unlock_irqrestore(&vc->lock, flags);

	return &vd->tx;
}

/**
 * rde_vchan_issue_pending - move submitted descriptors to issued list
 * @vc: virtual channel to update
 *
 * vc.lock must be held by caller
 */
static inline bool rde_vchan_issue_pending(struct rde_vchan *vc)
{
	lockdep_assert_held(&vc->lock);

	list_splice_tail_init(&vc->desc_submitted, &vc->desc_issued);
	return !list_empty(&vc->desc_issued);
}

/**
 * rde_vchan_cookie_complete - report completion of a descriptor
 * @vd: virtual descriptor to update
 *
 * vc.lock must be held by caller
 */
static inline void rde_vchan_cookie_complete(struct rde_vdesc *vd)
{
	struct rde_vchan *vc = to_rde_vchan(vd->tx.chan);
	dma_cookie_t cookie;

	lockdep_assert_held(&vc->lock);

	cookie = vd->tx.cookie;
	dma_cookie_complete(&vd->tx);
	dev_vdbg(vc->chan.device->dev, "txd %p[%x]: marked complete\n",
		 vd, cookie);
	list_add_tail(&vd->node, &vc->desc_completed);

	rde_vchan_schedule(vc);
}

/**
 * rde_vchan_vdesc_fini - Free or reuse a descriptor
 * @vd: virtual descriptor to free/reuse
 */
static inline void rde_vchan_vdesc_fini(struct rde_vdesc *vd)
{
	struct rde_vchan *vc = to_rde_vchan(vd->tx.chan);

	if (dmaengine_desc_test_reuse(&vd->tx)) {
		unsigned long flags;

		spin_lock_irqsave(&vc->lock, flags);
		list_add(&vd->node, &vc->desc_allocated);
		spin_unlock_irqrestore(&vc->lock, flags);
	} else {
		vc->desc_free(vd);
	}
}

/**
 * rde_vchan_cyclic_callback - report the completion of a period
 * @vd: virtual descriptor
 */
static inline void rde_vchan_cyclic_callback(struct rde_vdesc *vd)
{
	struct rde_vchan *vc = to_rde_vchan(vd->tx.chan);

	vc->cyclic = vd;
	rde_vchan_schedule(vc);
}

/**
 * rde_vchan_terminate_vdesc - Disable pending cyclic callback
 * @vd: virtual descriptor to be terminated
 *
 * vc.lock must be held by caller
 */
static inline void rde_vchan_terminate_vdesc(struct rde_vdesc *vd)
{
	struct rde_vchan *vc = to_rde_vchan(vd->tx.chan);

	lockdep_assert_held(&vc->lock);

	list_add_tail(&vd->node, &vc->desc_terminated);

	if (vc->cyclic == vd)
		vc->cyclic = NULL;
}

/**
 * rde_vchan_next_desc - peek at the next descriptor to be processed
 * @vc: virtual channel to obtain descriptor from
 *
 * vc.lock must be held by caller
 */
static inline struct rde_vdesc *rde_vchan_next_desc(struct rde_vchan *vc)
{
	lockdep_assert_held(&vc->lock);

	return list_first_entry_or_null(&vc->desc_issued,
					struct rde_vdesc, node);
}

/**
 * rde_vchan_get_all_descriptors - obtain all submitted and issued descriptors
 * @vc: virtual channel to get descriptors from
 * @head: list of descriptors found
 *
 * vc.lock must be held by caller
 *
 * Removes all submitted and issued descriptors from internal lists, and
 * provides a list of all descriptors found
 */
static inline void rde_vchan_get_all_descriptors(struct rde_vchan *vc,
						 struct list_head *head)
{
	lockdep_assert_held(&vc->lock);

	list_splice_tail_init(&vc->desc_allocated, head);
	list_splice_tail_init(&vc->desc_submitted, head);
	list_splice_tail_init(&vc->desc_issued, head);
	list_splice_tail_init(&vc->desc_completed, head);
	list_splice_tail_init(&vc->desc_terminated, head);
}

static inline void rde_vchan_free_chan_resources(struct rde_vchan *vc)
{
	struct rde_vdesc *vd;
	unsigned long flags;
	LIST_HEAD(head);

	spin_lock_irqsave(&vc->lock, flags);
	rde_vchan_get_all_descriptors(vc, &head);
	list_for_each_entry(vd, &head, node)
		dmaengine_desc_clear_reuse(&vd->tx);
	spin_unlock_irqrestore(&vc->lock, flags);

	rde_vchan_dma_desc_free_list(vc, &head);
}

/**
 * rde_vchan_synchronize() - synchronize callback execution to the current context
 * @vc: virtual channel to synchronize
 *
 * Makes sure that all scheduled or active callbacks have finished running. For
 * proper operation the caller has to ensure that no new callbacks are scheduled
 * after the invocation of this function started.
 * Free up the terminated cyclic descriptor to prevent memory leakage.
 */
static inline void rde_vchan_synchronize(struct rde_vchan *vc)
{
	LIST_HEAD(head);
	unsigned long flags;

	rde_vchan_kill(vc);

	spin_lock_irqsave(&vc->lock, flags);

	list_splice_tail_init(&vc->desc_terminated, &head);

	spin_unlock_irqrestore(&vc->lock, flags);

	rde_vchan_dma_desc_free_list(vc, &head);
}

#endif
