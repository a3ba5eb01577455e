// SPDX-License-Identifier: GPL-2.0
/*
 * rde_caps_test: what a DMA device claims against what it has.  For every
 * channel whose name starts with `prefix` (default "dma0chan"), it reads the
 * struct dma_device and dma_get_slave_caps() and checks, one KTAP case per
 * channel, that a client choosing channels by capability is told the truth:
 *
 * - each capability bit has its prep callback (DMA_MEMCPY and
 *   device_prep_dma_memcpy, DMA_MEMSET, DMA_SLAVE and device_prep_slave_sg,
 *   DMA_CYCLIC and device_prep_dma_cyclic), and each prep its bit;
 * - the device directions (MEM_TO_DEV, DEV_TO_MEM, DEV_TO_DEV) are claimed
 *   only by a device with slave, cyclic or interleaved transfers, and
 *   MEM_TO_MEM only by one with memory-to-memory transfers;
 * - slave bus widths and a max burst only with device_config and slave or
 *   cyclic transfers;
 * - with slave or cyclic transfers, dma_get_slave_caps() succeeds and
 *   reports the device's directions and widths, pause and terminate as the
 *   callbacks are, and a residue granularity; without, it says -ENXIO.
 *
 * Loads only to run: insmod runs the checks, reports in KTAP to the kernel
 * log ("not ok" and the reason for each failed check), and returns 0;
 * rmmod it after.  The channels must be free (it requests each in turn).
 */
#include <linux/dmaengine.h>
#include <linux/module.h>
#include <linux/string.h>

#define CT_MAX_CHANS	64

static char *prefix = "dma0chan";
module_param(prefix, charp, 0444);
MODULE_PARM_DESC(prefix, "Channels whose name starts with this are checked");

static DECLARE_BITMAP(ct_seen, CT_MAX_CHANS);

static bool ct_filter(struct dma_chan *chan, void *param)
{
	const char *name = dma_chan_name(chan);

	return !strncmp(name, prefix, strlen(prefix)) &&
	       chan->chan_id < CT_MAX_CHANS && !test_bit(chan->chan_id, ct_seen);
}

static int ct_bad;

#define ct_check(cond, chan, fmt, ...) do {				\
	if (!(cond)) {							\
		pr_err("rde_caps_test: %s: " fmt "\n", dma_chan_name(chan), \
		       ##__VA_ARGS__);					\
		ct_bad++;						\
	}								\
} while (0)

static void ct_check_chan(struct dma_chan *chan)
{
	struct dma_device *d = chan->device;
	struct dma_slave_caps caps = {};
	u32 dev_dirs = BIT(DMA_MEM_TO_DEV) | BIT(DMA_DEV_TO_MEM) | BIT(DMA_DEV_TO_DEV);
	bool mem = d->device_prep_dma_memcpy || d->device_prep_dma_memset ||
		   d->device_prep_dma_xor || d->device_prep_dma_pq ||
		   d->device_prep_dma_memset_sg || d->device_prep_interleaved_dma;
	bool slave = d->device_prep_slave_sg || d->device_prep_dma_cyclic ||
		     d->device_prep_interleaved_dma || d->device_prep_peripheral_dma_vec;
	const struct {
		enum dma_transaction_type cap;
		bool set;
		const char *name;
	} preps[] = {
		{ DMA_MEMCPY, d->device_prep_dma_memcpy, "DMA_MEMCPY" },
		{ DMA_MEMSET, d->device_prep_dma_memset, "DMA_MEMSET" },
		{ DMA_SLAVE, d->device_prep_slave_sg, "DMA_SLAVE" },
		{ DMA_CYCLIC, d->device_prep_dma_cyclic, "DMA_CYCLIC" },
	};
	unsigned int k;
	int ret;

	for (k = 0; k < ARRAY_SIZE(preps); k++)
		ct_check(dma_has_cap(preps[k].cap, d->cap_mask) == preps[k].set, chan,
			 "%s %d but its prep callback is %s", preps[k].name,
			 dma_has_cap(preps[k].cap, d->cap_mask), preps[k].set ? "set" : "NULL");
	ct_check(!(d->directions & dev_dirs) || slave, chan,
		 "claims device directions %#x without slave, cyclic or interleaved transfers",
		 d->directions);
	ct_check(!(d->directions & BIT(DMA_MEM_TO_MEM)) || mem, chan,
		 "claims MEM_TO_MEM without memory-to-memory transfers");
	ct_check(!(d->src_addr_widths | d->dst_addr_widths | d->max_burst) ||
		 (slave && d->device_config), chan,
		 "claims slave widths %#x/%#x or max_burst %u without device_config and slave transfers",
		 d->src_addr_widths, d->dst_addr_widths, d->max_burst);

	ret = dma_get_slave_caps(chan, &caps);
	if (!(dma_has_cap(DMA_SLAVE, d->cap_mask) || dma_has_cap(DMA_CYCLIC, d->cap_mask))) {
		ct_check(ret == -ENXIO, chan,
			 "no DMA_SLAVE or DMA_CYCLIC, yet dma_get_slave_caps() says %d", ret);
		return;
	}
	ct_check(!ret, chan, "dma_get_slave_caps() failed: %d", ret);
	if (ret)
		return;
	ct_check(caps.directions == d->directions && caps.directions & dev_dirs, chan,
		 "slave caps directions %#x (device %#x)", caps.directions, d->directions);
	ct_check(caps.src_addr_widths && caps.dst_addr_widths, chan,
		 "slave or cyclic transfers, but no bus widths");
	ct_check(caps.cmd_pause == !!d->device_pause, chan, "cmd_pause %d", caps.cmd_pause);
	ct_check(caps.cmd_resume == !!d->device_resume, chan, "cmd_resume %d", caps.cmd_resume);
	ct_check(caps.cmd_terminate && d->device_terminate_all, chan,
		 "cannot terminate (cmd_terminate %d)", caps.cmd_terminate);
	pr_info("rde_caps_test: %s: directions %#x widths %#x/%#x max_burst %u residue %d pause %d terminate %d\n",
		dma_chan_name(chan), caps.directions, caps.src_addr_widths,
		caps.dst_addr_widths, caps.max_burst, caps.residue_granularity,
		caps.cmd_pause, caps.cmd_terminate);
}

static struct dma_chan *ct_chans[CT_MAX_CHANS];

static int __init ct_init(void)
{
	dma_cap_mask_t mask;
	int n = 0, i;

	/* KTAP in the kernel log: scripts/guest/lib.sh's rde_kmsg_ktap reads it. */
	pr_info("KTAP version 1\n");
	dma_cap_zero(mask);
	bitmap_zero(ct_seen, CT_MAX_CHANS);
	/* Held until all are checked, so that each request finds a new one. */
	while (n < CT_MAX_CHANS) {
		struct dma_chan *chan = __dma_request_channel(&mask, ct_filter, NULL, NULL);

		if (!chan)
			break;
		set_bit(chan->chan_id, ct_seen);
		ct_chans[n++] = chan;
	}
	pr_info("1..%d\n", n ? n : 1);
	if (!n)
		pr_info("not ok 1 no free channel named %s*\n", prefix);
	for (i = 0; i < n; i++) {
		int before = ct_bad;

		ct_check_chan(ct_chans[i]);
		pr_info("%sok %d %s: claims match callbacks\n", ct_bad > before ? "not " : "",
			i + 1, dma_chan_name(ct_chans[i]));
	}
	for (i = 0; i < n; i++)
		dma_release_channel(ct_chans[i]);
	return 0;
}

static void __exit ct_exit(void)
{
}

module_init(ct_init);
module_exit(ct_exit);
MODULE_DESCRIPTION("Check a DMA device's claimed capabilities against its callbacks");
MODULE_LICENSE("GPL");
