// SPDX-License-Identifier: GPL-2.0
/*
 * rde_softirq_load: a softirq-heavy background load for `make bench`
 * (tools/bench/dispatch.sh), the kind that pushes softirq processing to
 * ksoftirqd: @timers soft hrtimers (HRTIMER_SOFTIRQ), each firing every
 * @period_us microseconds and spinning @work_us microseconds, as a busy
 * network or block softirq would.  Load: timers * work_us / period_us of
 * one CPU.  Stops when unloaded.
 */

#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/slab.h>

static unsigned int timers = 8;
module_param(timers, uint, 0444);
MODULE_PARM_DESC(timers, "Number of soft hrtimers (1-256)");

static unsigned int period_us = 100;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "Period of each timer in microseconds (10-1000000)");

static unsigned int work_us = 5;
module_param(work_us, uint, 0444);
MODULE_PARM_DESC(work_us, "Busy time per expiry in microseconds (0-1000)");

static struct hrtimer *rde_timers;
static atomic_long_t rde_expiries = ATOMIC_LONG_INIT(0);

static enum hrtimer_restart rde_load_fn(struct hrtimer *t)
{
	udelay(work_us);
	atomic_long_inc(&rde_expiries);
	hrtimer_forward_now(t, us_to_ktime(period_us));
	return HRTIMER_RESTART;
}

static int __init rde_load_init(void)
{
	unsigned int i;

	if (timers < 1 || timers > 256 || period_us < 10 ||
	    period_us > 1000000 || work_us > 1000) {
		pr_err("rde_softirq_load: timers 1-256, period_us 10-1000000, work_us 0-1000\n");
		return -EINVAL;
	}
	rde_timers = kcalloc(timers, sizeof(*rde_timers), GFP_KERNEL);
	if (!rde_timers)
		return -ENOMEM;
	for (i = 0; i < timers; i++) {
		hrtimer_setup(&rde_timers[i], rde_load_fn, CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL_SOFT);
		/* Spread the expiries over the period. */
		hrtimer_start(&rde_timers[i],
			      us_to_ktime(period_us + i * period_us / timers),
			      HRTIMER_MODE_REL_SOFT);
	}
	pr_info("rde_softirq_load: %u soft hrtimers, every %u us, %u us each\n",
		timers, period_us, work_us);
	return 0;
}

static void __exit rde_load_exit(void)
{
	unsigned int i;

	for (i = 0; i < timers; i++)
		hrtimer_cancel(&rde_timers[i]);
	kfree(rde_timers);
	pr_info("rde_softirq_load: %ld expiries\n",
		atomic_long_read(&rde_expiries));
}

module_init(rde_load_init);
module_exit(rde_load_exit);
MODULE_DESCRIPTION("Soft hrtimer flood: a softirq load for make bench");
MODULE_LICENSE("GPL");
