// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtual DMA channel support for DMAengine
 *
 * Copyright (C) 2012 Russell King
 */
#include <linux/device.h>
#include <linux/dmaengine.h>
#include <linux/module.h>
#include <linux/spinlock.h>

#include "rde_virt_dma.h"

static struct rde_vdesc *to_rde_vdesc(struct dma_async_tx_descriptor *tx)
{
	return container_of(tx, struct rde_vdesc, tx);
}

dma_cookie_t rde_vchan_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct rde_vchan *vc = to_rde_vchan(tx->chan);
	struct rde_vdesc *vd = to_rde_vdesc(tx);
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&vc->lock, flags);
	cookie = dma_cookie_assign(tx);

	list_move_tail(&vd->node, &vc->desc_submitted);
	spin_unlock_irqrestore(&vc->lock, flags);

	dev_dbg(vc->chan.device->dev, "vchan %p: txd %p[%x]: submitted\n",
		vc, vd, cookie);

	return cookie;
}
EXPORT_SYMBOL_GPL(rde_vchan_tx_submit);

/**
 * rde_vchan_tx_desc_free - free a reusable descriptor
 * @tx: the transfer
 *
 * This function frees a previously allocated reusable descriptor. The only
 * other way is to clear the DMA_CTRL_REUSE flag and submit one last time the
 * transfer.
 *
 * Returns 0 upon success
 */
int rde_vchan_tx_desc_free(struct dma_async_tx_descriptor *tx)
{
	struct rde_vchan *vc = to_rde_vchan(tx->chan);
	struct rde_vdesc *vd = to_rde_vdesc(tx);
	unsigned long flags;

	spin_lock_irqsave(&vc->lock, flags);
	list_del(&vd->node);
	spin_unlock_irqrestore(&vc->lock, flags);

	dev_dbg(vc->chan.device->dev, "vchan %p: txd %p[%x]: freeing\n",
		vc, vd, vd->tx.cookie);
	vc->desc_free(vd);
	return 0;
}
EXPORT_SYMBOL_GPL(rde_vchan_tx_desc_free);

struct rde_vdesc *rde_vchan_find_desc(struct rde_vchan *vc,
				      dma_cookie_t cookie)
{
	struct rde_vdesc *vd;

	list_for_each_entry(vd, &vc->desc_issued, node)
		if (vd->tx.cookie == cookie)
			return vd;

	return NULL;
}
EXPORT_SYMBOL_GPL(rde_vchan_find_desc);

/*
 * This tasklet or BH work handles the completion of a DMA descriptor by
 * calling its callback and freeing it.
 */
static void rde_vchan_complete(struct rde_vchan *vc)
{
	struct rde_vdesc *vd, *_vd;
	struct dmaengine_desc_callback cb;
	LIST_HEAD(head);

	spin_lock_irq(&vc->lock);
	list_splice_tail_init(&vc->desc_completed, &head);
	vd = vc->cyclic;
	if (vd) {
		vc->cyclic = NULL;
		dmaengine_desc_get_callback(&vd->tx, &cb);
	} else {
		memset(&cb, 0, sizeof(cb));
	}
	spin_unlock_irq(&vc->lock);

	dmaengine_desc_callback_invoke(&cb, &vd->tx_result);

	list_for_each_entry_safe(vd, _vd, &head, node) {
		dmaengine_desc_get_callback(&vd->tx, &cb);

		list_del(&vd->node);
		dmaengine_desc_callback_invoke(&cb, &vd->tx_result);
		rde_vchan_vdesc_fini(vd);
	}
}

static void rde_vchan_complete_tasklet(struct tasklet_struct *t)
{
	struct rde_vchan *vc = from_tasklet(vc, t, task);

	rde_vchan_complete(vc);
}

static void rde_vchan_complete_work(struct work_struct *w)
{
	rde_vchan_complete(container_of(w, struct rde_vchan, work));
}

void rde_vchan_dma_desc_free_list(struct rde_vchan *vc, struct list_head *head)
{
	struct rde_vdesc *vd, *_vd;

	list_for_each_entry_safe(vd, _vd, head, node) {
		list_del(&vd->node);
		rde_vchan_vdesc_fini(vd);
	}
}
EXPORT_SYMBOL_GPL(rde_vchan_dma_desc_free_list);

void rde_vchan_init(struct rde_vchan *vc, struct dma_device *dmadev, bool bh)
{
	dma_cookie_init(&vc->chan);

	spin_lock_init(&vc->lock);
	INIT_LIST_HEAD(&vc->desc_allocated);
	INIT_LIST_HEAD(&vc->desc_submitted);
	INIT_LIST_HEAD(&vc->desc_issued);
	INIT_LIST_HEAD(&vc->desc_completed);
	INIT_LIST_HEAD(&vc->desc_terminated);

	vc->bh = bh;
	tasklet_setup(&vc->task, rde_vchan_complete_tasklet);
	INIT_WORK(&vc->work, rde_vchan_complete_work);

	vc->chan.device = dmadev;
	list_add_tail(&vc->chan.device_node, &dmadev->channels);
}
EXPORT_SYMBOL_GPL(rde_vchan_init);

MODULE_AUTHOR("Russell King");
MODULE_DESCRIPTION("virt-dma with tasklet or BH-work dispatch, for make bench");
MODULE_LICENSE("GPL");
