// SPDX-License-Identifier: GPL-2.0
/*
 * rde_c_twin: the C twin of rust_dmaengine, for `make bench` only.
 *
 * The same software engine with the same semantics, written the way a C
 * author would: on virt-dma (rde_virt_dma.[ch], a private copy of
 * drivers/dma/virt-dma.[ch] whose callback dispatch is a tasklet or, with
 * dispatch=bh, a work item on system_bh_wq), with rde_vchan_synchronize().
 * Each channel's "hardware" is a work item that copies one burst at a time
 * without the lock, checking an attention flag between bursts; at the end
 * of a descriptor it raises an irq_work ("interrupt") that completes the
 * descriptor and starts the next.
 * terminate_all asks the engine to stop (state and flag); synchronize waits
 * until it acknowledged.  Addresses are checked and translated once, at
 * prep, by the same reachability check as rust_dmaengine's (reach.h, a
 * copy of soft/reach.h made by scripts/bench/run): both engines give the
 * same guarantee that a bad bus address is refused, not written.  MEMCPY
 * only: that is what the benchmark measures.
 *
 * With chain=N (1-64) the engine chains, as rust_dmaengine's chain=N does:
 * at the end of a descriptor the work item completes it and goes on with
 * the next issued one itself, and raises its interrupt (which then only
 * schedules callback dispatch) after N descriptors or when it stops.
 */

#include <linux/dma-direct.h>
#include <linux/dmaengine.h>
#include <linux/irq_work.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dmaengine.h"
#include "rde_virt_dma.h"
#include "reach.h"

#define DRV_NAME "rde_c_twin"

static unsigned int channels = 4;
module_param(channels, uint, 0444);
MODULE_PARM_DESC(channels, "Number of DMA channels (1-32)");

static unsigned int burst_size = 4096;
module_param(burst_size, uint, 0444);
MODULE_PARM_DESC(burst_size, "Bytes the engine moves per burst (64-1048576)");

static char *dispatch = "tasklet";
module_param(dispatch, charp, 0444);
MODULE_PARM_DESC(dispatch,
		 "Callback dispatch: tasklet (default) or bh (system_bh_wq)");
static bool dispatch_bh;
static unsigned int chain;
module_param(chain, uint, 0444);
MODULE_PARM_DESC(chain,
		 "Deep queue: descriptors run back to back per interrupt (0: one at a time; 1-64)");

enum twin_state { TWIN_IDLE, TWIN_RUNNING, TWIN_IRQ_PENDING, TWIN_STOPPING };

struct twin_desc {
	struct rde_vdesc vd;
	void *dst, *src;	/* CPU addresses, translated at prep */
	size_t len;
};

struct twin_chan {
	struct rde_vchan vc;	/* lists and lock: vc.lock */
	struct work_struct work;	/* the "hardware" */
	struct irq_work irq;		/* its "interrupt" */
	struct completion stopped;
	struct device *dev;
	/* protected by vc.lock */
	enum twin_state state;
	struct twin_desc *cur;
	unsigned int unsignalled;	/* chain: completed since the last irq */
	/* set under vc.lock, read by the engine between bursts */
	bool attention;
	/* written by the engine after each burst, read for the residue */
	size_t progress;
	/*
	 * The pause handshake of rust_dmaengine's BurstGate (soft/mod.rs),
	 * so that both sides of the comparison pay for it: each burst moves
	 * with interrupts off and @moving set, after a full barrier, unless
	 * @pausing.  The twin has no device_pause: @pausing stays false.
	 */
	bool pausing;
	bool moving;
	/*
	 * A freed descriptor, kept for the next prep (xchg() only), as
	 * rust_dmaengine keeps a spare: a kfree() and a kzalloc() less per
	 * transfer on both sides of the comparison.
	 */
	struct twin_desc *spare;
};

struct twin_dev {
	struct dma_device dd;
	struct workqueue_struct *wq;
	struct twin_chan *chans;
	unsigned int nr;
};

static struct twin_chan *to_twin(struct dma_chan *c)
{
	return container_of(to_rde_vchan(c), struct twin_chan, vc);
}

static void twin_desc_free(struct rde_vdesc *vd)
{
	struct twin_chan *tc = to_twin(vd->tx.chan);

	kfree(xchg(&tc->spare, container_of(vd, struct twin_desc, vd)));
}

/* Called with vc.lock held: the next issued descriptor becomes current. */
static bool twin_take_next(struct twin_chan *tc)
{
	struct rde_vdesc *vd = rde_vchan_next_desc(&tc->vc);

	if (!vd) {
		tc->state = TWIN_IDLE;
		return false;
	}
	list_del(&vd->node);
	tc->cur = container_of(vd, struct twin_desc, vd);
	WRITE_ONCE(tc->progress, 0);
	tc->state = TWIN_RUNNING;
	return true;
}

/* Called with vc.lock held. */
static void twin_start_next(struct twin_chan *tc)
{
	struct twin_dev *td = container_of(tc->vc.chan.device, struct twin_dev, dd);

	if (twin_take_next(tc))
		queue_work(td->wq, &tc->work);
}

/*
 * chain: the current descriptor is done.  Called with vc.lock held.
 * Completes it as vchan_cookie_complete() does, but leaves the tasklet to
 * the interrupt, raised after chain descriptors or when the engine stops;
 * returns whether the engine goes on with the next issued descriptor.
 */
static bool twin_chain_done(struct twin_chan *tc)
{
	struct rde_vdesc *vd = &tc->cur->vd;
	bool next;

	dma_cookie_complete(&vd->tx);
	list_add_tail(&vd->node, &tc->vc.desc_completed);
	tc->cur = NULL;
	tc->unsignalled++;
	next = twin_take_next(tc);
	if (!next || tc->unsignalled >= chain) {
		tc->unsignalled = 0;
		irq_work_queue(&tc->irq);
	}
	return next;
}

static void twin_work(struct work_struct *w)
{
	struct twin_chan *tc = container_of(w, struct twin_chan, work);
	struct twin_desc *d;
	unsigned long flags;
	size_t off, len, n;
	void *dst, *src;

	for (;;) {
		spin_lock_irqsave(&tc->vc.lock, flags);
		if (tc->state == TWIN_STOPPING) {
			tc->state = TWIN_IDLE;
			complete_all(&tc->stopped);
			twin_start_next(tc);
		}
		if (tc->state != TWIN_RUNNING || !tc->cur) {
			spin_unlock_irqrestore(&tc->vc.lock, flags);
			return;
		}
		WRITE_ONCE(tc->attention, false);
		/*
		 * Copy what the bursts need: terminate_all frees the descriptor
		 * (rde_vchan_get_all_descriptors() takes desc_terminated too), while
		 * the buffers stay valid until synchronize, which waits for us.
		 */
		d = tc->cur;
		dst = d->dst;
		src = d->src;
		len = d->len;
		off = tc->progress;
		spin_unlock_irqrestore(&tc->vc.lock, flags);

		do {
			unsigned long iflags;
			bool go;

			n = min_t(size_t, burst_size, len - off);
			local_irq_save(iflags);
			WRITE_ONCE(tc->moving, true);
			/* Orders @moving before @pausing, as a pause would. */
			smp_mb();
			go = !READ_ONCE(tc->pausing);
			if (go) {
				memcpy(dst + off, src + off, n);
				off += n;
				WRITE_ONCE(tc->progress, off);
			}
			/* Publishes the burst to a pause that sees !@moving. */
			smp_store_release(&tc->moving, false);
			local_irq_restore(iflags);
			if (!go)
				break;
			/* Pairs with the release in twin_terminate_all(). */
		} while (off < len && !smp_load_acquire(&tc->attention));

		spin_lock_irqsave(&tc->vc.lock, flags);
		if (tc->state == TWIN_RUNNING && tc->cur == d && off >= len &&
		    chain) {
			if (twin_chain_done(tc)) {
				spin_unlock_irqrestore(&tc->vc.lock, flags);
				continue;
			}
		} else if (tc->state == TWIN_RUNNING && tc->cur == d && off >= len) {
			tc->state = TWIN_IRQ_PENDING;
			irq_work_queue(&tc->irq);
			spin_unlock_irqrestore(&tc->vc.lock, flags);
			return;
		}
		spin_unlock_irqrestore(&tc->vc.lock, flags);
	}
}

static void twin_irq(struct irq_work *w)
{
	struct twin_chan *tc = container_of(w, struct twin_chan, irq);
	unsigned long flags;

	spin_lock_irqsave(&tc->vc.lock, flags);
	if (tc->state == TWIN_IRQ_PENDING && tc->cur) {
		rde_vchan_cookie_complete(&tc->cur->vd);
		tc->cur = NULL;
		twin_start_next(tc);
	} else if (chain) {
		rde_vchan_schedule(&tc->vc);
	}
	spin_unlock_irqrestore(&tc->vc.lock, flags);
}

static struct dma_async_tx_descriptor *
twin_prep_memcpy(struct dma_chan *c, dma_addr_t dst, dma_addr_t src,
		 size_t len, unsigned long flags)
{
	struct twin_desc *d;

	if (!len)
		return NULL;
	d = xchg(&to_twin(c)->spare, NULL);
	if (d)
		memset(d, 0, sizeof(*d));
	else
		d = kzalloc_obj(*d, GFP_NOWAIT);
	if (!d)
		return NULL;
	d->dst = rde_reach_virt(to_twin(c)->dev, dst, len);
	d->src = rde_reach_virt(to_twin(c)->dev, src, len);
	if (!d->dst || !d->src) {
		dev_err(to_twin(c)->dev,
			"DMA range %pad or %pad (+%zu) is not RAM the engine can reach\n",
			&dst, &src, len);
		kfree(d);
		return NULL;
	}
	d->len = len;
	return rde_vchan_tx_prep(&to_twin(c)->vc, &d->vd, flags);
}

static void twin_issue_pending(struct dma_chan *c)
{
	struct twin_chan *tc = to_twin(c);
	unsigned long flags;

	spin_lock_irqsave(&tc->vc.lock, flags);
	if (rde_vchan_issue_pending(&tc->vc) && tc->state == TWIN_IDLE)
		twin_start_next(tc);
	spin_unlock_irqrestore(&tc->vc.lock, flags);
}

static enum dma_status twin_tx_status(struct dma_chan *c, dma_cookie_t cookie,
				      struct dma_tx_state *state)
{
	struct twin_chan *tc = to_twin(c);
	struct rde_vdesc *vd;
	enum dma_status ret;
	unsigned long flags;
	u32 residue = 0;

	ret = dma_cookie_status(c, cookie, state);
	if (ret == DMA_COMPLETE || !state)
		return ret;
	spin_lock_irqsave(&tc->vc.lock, flags);
	if (tc->cur && tc->cur->vd.tx.cookie == cookie) {
		residue = tc->cur->len - READ_ONCE(tc->progress);
	} else {
		vd = rde_vchan_find_desc(&tc->vc, cookie);
		if (vd)
			residue = container_of(vd, struct twin_desc, vd)->len;
	}
	spin_unlock_irqrestore(&tc->vc.lock, flags);
	dma_set_residue(state, residue);
	return ret;
}

static int twin_terminate_all(struct dma_chan *c)
{
	struct twin_chan *tc = to_twin(c);
	unsigned long flags;
	LIST_HEAD(head);

	spin_lock_irqsave(&tc->vc.lock, flags);
	if (tc->state == TWIN_RUNNING) {
		reinit_completion(&tc->stopped);
		tc->state = TWIN_STOPPING;
		/* Pairs with the acquire in twin_work()'s burst loop. */
		smp_store_release(&tc->attention, true);
	} else if (tc->state == TWIN_IRQ_PENDING) {
		tc->state = TWIN_IDLE;
	}
	tc->unsignalled = 0;
	if (tc->cur) {
		rde_vchan_terminate_vdesc(&tc->cur->vd);
		tc->cur = NULL;
	}
	rde_vchan_get_all_descriptors(&tc->vc, &head);
	spin_unlock_irqrestore(&tc->vc.lock, flags);
	rde_vchan_dma_desc_free_list(&tc->vc, &head);
	return 0;
}

static void twin_synchronize(struct dma_chan *c)
{
	struct twin_chan *tc = to_twin(c);

	wait_for_completion(&tc->stopped);
	irq_work_sync(&tc->irq);
	rde_vchan_synchronize(&tc->vc);
}

static void twin_free_chan_resources(struct dma_chan *c)
{
	twin_terminate_all(c);
	twin_synchronize(c);
	rde_vchan_free_chan_resources(to_rde_vchan(c));
	kfree(xchg(&to_twin(c)->spare, NULL));
}

static int twin_probe(struct platform_device *pdev)
{
	struct twin_dev *td;
	unsigned int i;
	int ret;

	td = devm_kzalloc(&pdev->dev, sizeof(*td), GFP_KERNEL);
	if (!td)
		return -ENOMEM;
	td->nr = channels;
	td->chans = devm_kcalloc(&pdev->dev, td->nr, sizeof(*td->chans),
				 GFP_KERNEL);
	if (!td->chans)
		return -ENOMEM;
	td->wq = alloc_workqueue("%s", WQ_UNBOUND, 0, DRV_NAME);
	if (!td->wq)
		return -ENOMEM;
	dev_set_dma_coherent(&pdev->dev);

	INIT_LIST_HEAD(&td->dd.channels);
	dma_cap_set(DMA_MEMCPY, td->dd.cap_mask);
	td->dd.dev = &pdev->dev;
	td->dd.device_prep_dma_memcpy = twin_prep_memcpy;
	td->dd.device_issue_pending = twin_issue_pending;
	td->dd.device_tx_status = twin_tx_status;
	td->dd.device_terminate_all = twin_terminate_all;
	td->dd.device_synchronize = twin_synchronize;
	td->dd.device_free_chan_resources = twin_free_chan_resources;
	td->dd.residue_granularity = DMA_RESIDUE_GRANULARITY_BURST;
	for (i = 0; i < td->nr; i++) {
		struct twin_chan *tc = &td->chans[i];

		tc->dev = &pdev->dev;
		tc->vc.desc_free = twin_desc_free;
		rde_vchan_init(&tc->vc, &td->dd, dispatch_bh);
		INIT_WORK(&tc->work, twin_work);
		init_irq_work(&tc->irq, twin_irq);
		init_completion(&tc->stopped);
		complete_all(&tc->stopped);
	}
	ret = dma_async_device_register(&td->dd);
	if (ret) {
		destroy_workqueue(td->wq);
		return ret;
	}
	platform_set_drvdata(pdev, td);
	dev_info(&pdev->dev, "registered %u channels: burst %u B, dispatch %s, chain %u\n",
		 td->nr, burst_size, dispatch_bh ? "bh" : "tasklet", chain);
	return 0;
}

static void twin_remove(struct platform_device *pdev)
{
	struct twin_dev *td = platform_get_drvdata(pdev);
	unsigned int i;

	dma_async_device_unregister(&td->dd);
	for (i = 0; i < td->nr; i++) {
		irq_work_sync(&td->chans[i].irq);
		rde_vchan_kill(&td->chans[i].vc);
		kfree(xchg(&td->chans[i].spare, NULL));
	}
	destroy_workqueue(td->wq);
}

static struct platform_driver twin_driver = {
	.probe = twin_probe,
	.remove = twin_remove,
	.driver = { .name = DRV_NAME },
};

static struct platform_device *twin_pdev;

static int __init twin_init(void)
{
	struct platform_device_info info = {
		.name = DRV_NAME,
		.id = PLATFORM_DEVID_NONE,
		.dma_mask = DMA_BIT_MASK(64),
	};
	int ret;

	if (channels < 1 || channels > 32 || burst_size < 64 ||
	    burst_size > SZ_1M || chain > 64) {
		pr_err(DRV_NAME ": channels must be 1-32, burst_size 64-1048576, chain 0-64\n");
		return -EINVAL;
	}
	if (!strcmp(dispatch, "bh")) {
		dispatch_bh = true;
	} else if (strcmp(dispatch, "tasklet")) {
		pr_err(DRV_NAME ": dispatch=%s is not valid: use one of tasklet, bh\n",
		       dispatch);
		return -EINVAL;
	}
	twin_pdev = platform_device_register_full(&info);
	if (IS_ERR(twin_pdev))
		return PTR_ERR(twin_pdev);
	ret = platform_driver_register(&twin_driver);
	if (ret)
		platform_device_unregister(twin_pdev);
	return ret;
}

static void __exit twin_exit(void)
{
	platform_driver_unregister(&twin_driver);
	platform_device_unregister(twin_pdev);
}

module_init(twin_init);
module_exit(twin_exit);
MODULE_DESCRIPTION("C twin of rust_dmaengine for benchmarks (virt-dma)");
MODULE_LICENSE("GPL");
