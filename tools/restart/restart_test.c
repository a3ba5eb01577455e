// SPDX-License-Identifier: GPL-2.0
/*
 * rde_restart_test: a C client that restarts a channel between
 * dmaengine_terminate_async() and dmaengine_synchronize(), as the C API
 * allows and the Rust client API does not (its Terminated borrows the
 * channel until synchronize).  The guest-side evidence for the two gaps
 * the protocol model found in VirtChan::synchronize (Documentation/model.rst):
 *
 * - batch A of a_descs memcpys; the callback of A[1] calls
 *   dmaengine_terminate_async();
 * - process context, woken by it, submits and issues batch B at once, then
 *   calls dmaengine_synchronize() (for A);
 * - B's callbacks are slow (cb_delay_us): while synchronize's
 *   tasklet_kill() or cancel_work_sync() waits for one, the engine
 *   completes the next B descriptors, and their dispatch must not be lost.
 *
 * Checks, per iteration: no A callback after the terminate's (late), every
 * B callback within 3 s of synchronize (lost otherwise), B's data.  Loads
 * only to run: insmod runs `iterations` rounds on the first free memcpy
 * channel of the provider `provider` (default rust_dmaengine) and reports
 * in KTAP to the kernel log, "not ok" if a check failed; rmmod it after.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#define RT_MAX_DESCS	8
#define RT_LEN		4096

static unsigned int iterations = 50;
module_param(iterations, uint, 0444);
MODULE_PARM_DESC(iterations, "Rounds (1-1000)");

static unsigned int b_descs = 4;
module_param(b_descs, uint, 0444);
MODULE_PARM_DESC(b_descs, "Descriptors of the batch submitted before synchronize (1-8)");

static unsigned int cb_delay_us = 2000;
module_param(cb_delay_us, uint, 0444);
MODULE_PARM_DESC(cb_delay_us, "Time each callback of that batch takes (0-20000)");

static char *provider = "rust_dmaengine";
module_param(provider, charp, 0444);
MODULE_PARM_DESC(provider, "Driver name of the provider whose first channel is tested");

struct rt_state {
	struct dma_chan *chan;
	struct device *dev;
	void *buf[2][RT_MAX_DESCS][2];
	dma_addr_t addr[2][RT_MAX_DESCS][2];
	struct completion terminated;
	struct completion b_done;
	atomic_t a_calls;
	atomic_t a_late;
	atomic_t b_calls;
	bool a_terminated;
};

struct rt_cb {
	struct rt_state *st;
	int batch;
	int idx;
};

static struct rt_cb rt_cbs[2][RT_MAX_DESCS];

static void rt_callback(void *arg)
{
	struct rt_cb *c = arg;
	struct rt_state *st = c->st;

	if (c->batch == 0) {
		if (READ_ONCE(st->a_terminated))
			atomic_inc(&st->a_late);
		atomic_inc(&st->a_calls);
		if (c->idx == 1) {
			WRITE_ONCE(st->a_terminated, true);
			dmaengine_terminate_async(st->chan);
			complete(&st->terminated);
		}
		return;
	}
	udelay(cb_delay_us);
	if (atomic_inc_return(&st->b_calls) == b_descs)
		complete(&st->b_done);
}

static bool rt_filter(struct dma_chan *chan, void *param)
{
	const struct device_driver *drv = chan->device->dev->driver;

	return drv && !strcmp(drv->name, param);
}

static int rt_submit(struct rt_state *st, int batch, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct dma_async_tx_descriptor *tx;

		memset(st->buf[batch][i][0], 0x5a + i + batch, RT_LEN);
		memset(st->buf[batch][i][1], 0, RT_LEN);
		tx = dmaengine_prep_dma_memcpy(st->chan, st->addr[batch][i][1],
					       st->addr[batch][i][0], RT_LEN,
					       DMA_PREP_INTERRUPT);
		if (!tx)
			return -ENOMEM;
		rt_cbs[batch][i] = (struct rt_cb){ st, batch, i };
		tx->callback = rt_callback;
		tx->callback_param = &rt_cbs[batch][i];
		if (dma_submit_error(dmaengine_submit(tx)))
			return -EIO;
	}
	dma_async_issue_pending(st->chan);
	return 0;
}

/* One round; returns the number of failed checks, or a negative errno. */
static int rt_round(struct rt_state *st, int round)
{
	int i, bad = 0, ret;

	reinit_completion(&st->terminated);
	reinit_completion(&st->b_done);
	atomic_set(&st->a_calls, 0);
	atomic_set(&st->a_late, 0);
	atomic_set(&st->b_calls, 0);
	WRITE_ONCE(st->a_terminated, false);

	ret = rt_submit(st, 0, 4);
	if (ret)
		return ret;
	if (!wait_for_completion_timeout(&st->terminated, 3 * HZ)) {
		pr_err("rde_restart_test: round %d: A[1]'s callback never came\n", round);
		return -ETIMEDOUT;
	}
	/* The restart: a new batch before synchronizing the old one. */
	ret = rt_submit(st, 1, b_descs);
	if (ret)
		return ret;
	dmaengine_synchronize(st->chan);
	if (atomic_read(&st->a_late)) {
		pr_err("rde_restart_test: round %d: %d callbacks of batch A after its terminate\n",
		       round, atomic_read(&st->a_late));
		bad++;
	}
	if (!wait_for_completion_timeout(&st->b_done, 3 * HZ)) {
		pr_err("rde_restart_test: round %d: lost callbacks: %d of %u of the batch submitted before synchronize came in 3 s\n",
		       round, atomic_read(&st->b_calls), b_descs);
		bad++;
	}
	for (i = 0; i < b_descs; i++) {
		if (memcmp(st->buf[1][i][0], st->buf[1][i][1], RT_LEN)) {
			pr_err("rde_restart_test: round %d: B[%d]: data differs\n", round, i);
			bad++;
		}
	}
	dmaengine_terminate_sync(st->chan);
	return bad;
}

static int __init rt_init(void)
{
	struct rt_state *st;
	dma_cap_mask_t mask;
	int b, i, k, r, bad = 0, ret = 0;

	/* KTAP in the kernel log: scripts/guest/lib.sh's rde_kmsg_ktap reads it. */
	pr_info("KTAP version 1\n");
	pr_info("1..1\n");
	if (!iterations || iterations > 1000 || !b_descs || b_descs > RT_MAX_DESCS ||
	    cb_delay_us > 20000) {
		pr_err("rde_restart_test: iterations 1-1000, b_descs 1-%d, cb_delay_us 0-20000\n",
		       RT_MAX_DESCS);
		return -EINVAL;
	}
	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	init_completion(&st->terminated);
	init_completion(&st->b_done);
	dma_cap_zero(mask);
	dma_cap_set(DMA_MEMCPY, mask);
	st->chan = dma_request_channel(mask, rt_filter, provider);
	if (!st->chan) {
		pr_err("rde_restart_test: no memcpy channel of %s: load the provider first\n",
		       provider);
		kfree(st);
		return -ENODEV;
	}
	st->dev = st->chan->device->dev;
	for (b = 0; b < 2; b++)
		for (i = 0; i < RT_MAX_DESCS; i++)
			for (k = 0; k < 2; k++) {
				st->buf[b][i][k] = dma_alloc_coherent(st->dev, RT_LEN,
								      &st->addr[b][i][k],
								      GFP_KERNEL);
				if (!st->buf[b][i][k]) {
					ret = -ENOMEM;
					goto out;
				}
			}
	for (r = 0; r < iterations; r++) {
		ret = rt_round(st, r);
		if (ret < 0)
			goto out;
		bad += ret;
	}
	ret = 0;
	pr_info("rde_restart_test: %s: %u rounds, %d failed checks\n",
		dma_chan_name(st->chan), iterations, bad);
out:
	dmaengine_terminate_sync(st->chan);
	for (b = 0; b < 2; b++)
		for (i = 0; i < RT_MAX_DESCS; i++)
			for (k = 0; k < 2; k++)
				if (st->buf[b][i][k])
					dma_free_coherent(st->dev, RT_LEN, st->buf[b][i][k],
							  st->addr[b][i][k]);
	dma_release_channel(st->chan);
	kfree(st);
	if (ret)
		pr_err("rde_restart_test: aborted: %d\n", ret);
	pr_info("%sok 1 restart_before_synchronize\n", ret || bad ? "not " : "");
	/*
	 * A failed check is reported above, not by failing the load: busybox
	 * insmod would try again with init_module() and run it all twice.
	 */
	return ret;
}

static void __exit rt_exit(void)
{
}

module_init(rt_init);
module_exit(rt_exit);
MODULE_DESCRIPTION("Restart a DMA channel between terminate_async and synchronize");
MODULE_LICENSE("GPL");
