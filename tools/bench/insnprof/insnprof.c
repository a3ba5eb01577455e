// SPDX-License-Identifier: GPL-2.0
/*
 * insnprof: a QEMU TCG plugin for make bench's instruction attribution
 * (scripts/bench/run, BENCH=icount): counts the guest instructions executed
 * per translation block, and writes the counts out each time the guest
 * executes the block at mark=ADDR (the guest calls that kernel function on
 * purpose between phases: sync(2) for __arm64_sys_sync), then counts
 * afresh.  out=PREFIX: files PREFIX.0, PREFIX.1, ... of
 * "vaddr instructions-in-block executions" lines, the last at exit.
 *
 * Exact, unlike a sampling profile: every executed block is counted, so
 * scripts/bench/attrib can say how many instructions each function costs
 * per transfer.  Needs QEMU with plugin support (Debian's has it); the few
 * plugin API calls used are declared in qemu-plugin-api.h, so that no
 * QEMU development package is needed.  One vCPU: the counters are not atomic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-api.h"

__attribute__((visibility("default"))) int qemu_plugin_version = 4;

/* One per translation: a block translated again gets another. */
struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t execs;
	struct block *next;
};

static struct block *blocks;
static uint64_t mark;
static const char *prefix = "insnprof";
static int seq;

static void dump(void)
{
	char name[4096];
	struct block *b;
	FILE *f;

	snprintf(name, sizeof(name), "%s.%d", prefix, seq++);
	f = fopen(name, "w");
	if (!f)
		perror(name);
	for (b = blocks; b; b = b->next) {
		if (f && b->execs)
			fprintf(f, "%llx %llu %llu\n",
				(unsigned long long)b->vaddr,
				(unsigned long long)b->insns,
				(unsigned long long)b->execs);
		b->execs = 0;
	}
	if (f)
		fclose(f);
}

static void exec_cb(unsigned int cpu, void *udata)
{
	((struct block *)udata)->execs++;
}

static void mark_cb(unsigned int cpu, void *udata)
{
	dump();
	((struct block *)udata)->execs++;
}

static void trans_cb(uint64_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->insns = qemu_plugin_tb_n_insns(tb);
	b->next = blocks;
	blocks = b;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, b->vaddr == mark ?
					     mark_cb : exec_cb, 0, b);
}

static void at_exit(uint64_t id, void *p)
{
	dump();
}

__attribute__((visibility("default")))
int qemu_plugin_install(uint64_t id, const struct qemu_info *info,
			int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "mark=", 5))
			mark = strtoull(argv[i] + 5, NULL, 16);
		else if (!strncmp(argv[i], "out=", 4))
			prefix = argv[i] + 4;
		else
			return fprintf(stderr, "insnprof: bad argument %s\n",
				       argv[i]), -1;
	}
	if (!mark)
		return fprintf(stderr, "insnprof: mark=ADDR missing\n"), -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, trans_cb);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
