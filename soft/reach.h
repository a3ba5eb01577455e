/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reachability check of a software DMA engine: the CPU address of a
 * client's DMA range, or NULL if the engine cannot reach all of it.
 *
 * A software engine "does DMA" with the CPU, so a bad bus address from a
 * client would make it write anywhere; both software engines check every
 * range at prep, the Rust provider through rde_dma_range_to_virt()
 * (helpers.c) and its C twin (tools/bench/rde_c_twin.c) directly, so that
 * `make bench` compares the two at the same guarantee.
 *
 * Static functions and data: include this file from exactly one C file per
 * module.
 */
#ifndef RDE_REACH_H
#define RDE_REACH_H

#include <linux/dma-direct.h>
#include <linux/mm.h>

/*
 * The CPU address of the DMA range [@addr, @addr + @len) of @dev, for a
 * software engine that "does DMA" with the CPU.  NULL unless the whole
 * range is in the linear map: pfn_valid() works per memory subsection, so
 * the first and last page and every subsection boundary between are
 * checked (one or two checks for ranges up to a few MiB, once per
 * descriptor rather than once per burst).  Without sparsemem subsections
 * the step is 2 MiB.
 */
#ifdef PAGES_PER_SUBSECTION
#define RDE_PFN_STEP PAGES_PER_SUBSECTION
#else
#define RDE_PFN_STEP (SZ_2M >> PAGE_SHIFT)
#endif

/*
 * With SPARSEMEM, pfn_valid() answers per subsection, and without memory
 * hot-remove a subsection that is valid stays valid: the subsections found
 * valid (and, without highmem, in the linear map) are remembered, a few,
 * direct-mapped by subsection number and shared by the module's channels.
 * A client reuses its buffers, so a prep whose range lies in a remembered
 * subsection costs a compare instead of a section lookup under
 * rcu_read_lock_sched().  Each slot is one word, written and read whole: a
 * racing writer can only replace one valid subsection with another.
 * Elsewhere every check asks pfn_valid().
 */
#if defined(CONFIG_SPARSEMEM) && !defined(CONFIG_MEMORY_HOTREMOVE) && \
	!defined(CONFIG_HIGHMEM)
#define RDE_REACH_SLOTS 4
static unsigned long rde_reach_seen[RDE_REACH_SLOTS];

static bool rde_reach_cached(unsigned long key)
{
	return READ_ONCE(rde_reach_seen[key % RDE_REACH_SLOTS]) == key;
}

static void rde_reach_remember(unsigned long key)
{
	WRITE_ONCE(rde_reach_seen[key % RDE_REACH_SLOTS], key);
}
#else
static bool rde_reach_cached(unsigned long key)
{
	return false;
}

static void rde_reach_remember(unsigned long key)
{
}
#endif

static noinline void *rde_dma_range_to_virt_slow(phys_addr_t phys,
						 unsigned long pfn,
						 unsigned long last)
{
	for (;;) {
		if (!pfn_valid(pfn))
			return NULL;
		if (pfn == last)
			break;
		pfn = min(last, ALIGN(pfn + 1, RDE_PFN_STEP));
	}
	/* Highmem (32-bit) is above the linear map: check the end. */
	if (PageHighMem(pfn_to_page(last)))
		return NULL;
	if (PHYS_PFN(phys) / RDE_PFN_STEP == last / RDE_PFN_STEP)
		rde_reach_remember(last / RDE_PFN_STEP + 1);
	return phys_to_virt(phys);
}

/*
 * The common case of rde_reach_virt() alone, for a caller that does the
 * rest out of line: a range in one remembered subsection, or NULL.
 */
static inline void *rde_reach_virt_cached(struct device *dev,
					  dma_addr_t addr, size_t len)
{
	phys_addr_t phys = dma_to_phys(dev, addr);
	unsigned long last;

	if (!len || phys + len - 1 < phys)
		return NULL;
	last = PHYS_PFN(phys + len - 1);
	if (PHYS_PFN(phys) / RDE_PFN_STEP == last / RDE_PFN_STEP &&
	    rde_reach_cached(last / RDE_PFN_STEP + 1))
		return phys_to_virt(phys);
	return NULL;
}

static void *rde_reach_virt(struct device *dev, dma_addr_t addr, size_t len)
{
	phys_addr_t phys = dma_to_phys(dev, addr);
	unsigned long pfn, last;

	if (!len || phys + len - 1 < phys)
		return NULL;
	pfn = PHYS_PFN(phys);
	last = PHYS_PFN(phys + len - 1);
	if (pfn / RDE_PFN_STEP == last / RDE_PFN_STEP &&
	    rde_reach_cached(last / RDE_PFN_STEP + 1))
		return phys_to_virt(phys);
	return rde_dma_range_to_virt_slow(phys, pfn, last);
}

#endif /* RDE_REACH_H */
