// SPDX-License-Identifier: GPL-2.0
/*
 * rde_prof: a sampling profiler for the bench guest, for `make bench`.
 *
 * The bench guest has no perf tool, and Rust functions get no ftrace
 * entries, so this module samples instead: a pinned hard hrtimer on every
 * CPU records the interrupted program counter every period_us.  Loading it
 * starts sampling; unloading it stops and prints the functions with the
 * most samples (kernel and module symbols, Rust included), and the samples
 * per module, as lines starting "rde_prof:".
 */

#include <linux/hrtimer.h>
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <asm/irq_regs.h>
#include <asm/ptrace.h>

static unsigned int period_us = 100;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "Sampling period per CPU in microseconds (20-100000)");

static unsigned int max_samples = 1 << 20;
module_param(max_samples, uint, 0444);
MODULE_PARM_DESC(max_samples, "Samples kept at most (1024-16777216)");

static unsigned int top = 40;
module_param(top, uint, 0444);
MODULE_PARM_DESC(top, "Functions printed (1-1000)");

static DEFINE_PER_CPU(struct hrtimer, prof_timer);
static unsigned long *pcs;
static atomic_t nr_pcs = ATOMIC_INIT(0);
static atomic_t nr_user = ATOMIC_INIT(0);
static atomic_t nr_lost = ATOMIC_INIT(0);

static enum hrtimer_restart prof_tick(struct hrtimer *t)
{
	struct pt_regs *regs = get_irq_regs();
	int i;

	if (!regs || user_mode(regs)) {
		atomic_inc(&nr_user);
	} else {
		i = atomic_inc_return(&nr_pcs) - 1;
		if (i < max_samples)
			pcs[i] = instruction_pointer(regs);
		else
			atomic_inc(&nr_lost);
	}
	hrtimer_forward_now(t, ns_to_ktime((u64)period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void prof_start_cpu(void *unused)
{
	struct hrtimer *t = this_cpu_ptr(&prof_timer);

	hrtimer_setup(t, prof_tick, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	hrtimer_start(t, ns_to_ktime((u64)period_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED_HARD);
}

struct prof_fn {
	char name[KSYM_SYMBOL_LEN];
	unsigned int n;
};

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static int cmp_count_desc(const void *a, const void *b)
{
	const struct prof_fn *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

/* "func [mod]" -> "mod", "func" -> "vmlinux" */
static const char *module_of(const char *name, char *buf, size_t len)
{
	const char *b = strchr(name, '[');
	const char *e = b ? strchr(b, ']') : NULL;

	if (!b || !e || e - b - 1 >= len)
		return "vmlinux";
	memcpy(buf, b + 1, e - b - 1);
	buf[e - b - 1] = '\0';
	return buf;
}

static void prof_report(void)
{
	unsigned int n = min_t(unsigned int, atomic_read(&nr_pcs), max_samples);
	unsigned int i, nf = 0, shown;
	struct prof_fn *fns, *cur = NULL;
	char name[KSYM_SYMBOL_LEN];

	pr_info("rde_prof: %u kernel samples, %u in user mode, %u lost, period %u us\n",
		n, atomic_read(&nr_user), atomic_read(&nr_lost), period_us);
	if (!n)
		return;
	sort(pcs, n, sizeof(*pcs), cmp_ulong, NULL);
	fns = kvcalloc(n, sizeof(*fns), GFP_KERNEL);
	if (!fns) {
		pr_err("rde_prof: no memory for the report; lower max_samples\n");
		return;
	}
	/* Sorted PCs of one function are adjacent: merge runs by name. */
	for (i = 0; i < n; i++) {
		if (i && pcs[i] == pcs[i - 1]) {
			cur->n++;
			continue;
		}
		sprint_symbol_no_offset(name, pcs[i]);
		if (!cur || strcmp(cur->name, name)) {
			cur = &fns[nf++];
			strscpy(cur->name, name);
		}
		cur->n++;
	}
	sort(fns, nf, sizeof(*fns), cmp_count_desc, NULL);
	shown = min(nf, top);
	pr_info("rde_prof: top %u of %u functions (samples, share):\n", shown, nf);
	for (i = 0; i < shown; i++)
		pr_info("rde_prof: %7u %3u.%u%% %s\n", fns[i].n,
			fns[i].n * 100 / n, fns[i].n * 1000 / n % 10, fns[i].name);
	/* Samples per module: sum by the "[mod]" suffix. */
	for (i = 0; i < nf; i++) {
		char mb[MODULE_NAME_LEN], mo[MODULE_NAME_LEN];
		unsigned int j, sum = 0;
		const char *m = module_of(fns[i].name, mb, sizeof(mb));
		bool seen = false;

		for (j = 0; j < i && !seen; j++)
			seen = !strcmp(module_of(fns[j].name, mo, sizeof(mo)), m);
		if (seen)
			continue;
		for (j = i; j < nf; j++)
			if (!strcmp(module_of(fns[j].name, mo, sizeof(mo)), m))
				sum += fns[j].n;
		pr_info("rde_prof: module %s %u %u.%u%%\n", m, sum, sum * 100 / n,
			sum * 1000 / n % 10);
	}
	kvfree(fns);
}

static int __init prof_init(void)
{
	if (period_us < 20 || period_us > 100000 || max_samples < 1024 ||
	    max_samples > (1 << 24) || top < 1 || top > 1000) {
		pr_err("rde_prof: period_us must be 20-100000, max_samples 1024-16777216, top 1-1000\n");
		return -EINVAL;
	}
	pcs = vmalloc_array(max_samples, sizeof(*pcs));
	if (!pcs)
		return -ENOMEM;
	on_each_cpu(prof_start_cpu, NULL, 1);
	pr_info("rde_prof: sampling every %u us on %u CPUs; rmmod rde_prof prints the profile\n",
		period_us, num_online_cpus());
	return 0;
}

static void __exit prof_exit(void)
{
	int cpu;

	for_each_online_cpu(cpu)
		hrtimer_cancel(per_cpu_ptr(&prof_timer, cpu));
	prof_report();
	vfree(pcs);
}

module_init(prof_init);
module_exit(prof_exit);
MODULE_DESCRIPTION("Sampling profiler for make bench (hrtimer PC samples)");
MODULE_LICENSE("GPL");
