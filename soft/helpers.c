// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of the software engine's hardware model (soft/), in the style
 * of the files in rust/helpers/: each wraps a static inline function or
 * macro, except the reachability check (reach.h), whose comments say why
 * it is C, and the `dispatch` module parameter, which the Rust module!
 * macro cannot declare.
 */

#include <linux/irq_work.h>
#include <linux/moduleparam.h>
#include <linux/of.h>
#include <linux/irqflags.h>

#include "helpers.h"
#include "reach.h"

/* The reachability check (reach.h), for engine_range(). */
void *rde_dma_range_to_virt(struct device *dev, dma_addr_t addr, size_t len)
{
	return rde_reach_virt(dev, addr, len);
}

static noinline struct rde_pair
rde_dma_pair_to_virt_slow(struct device *dev, dma_addr_t dst, dma_addr_t src,
			  size_t len)
{
	struct rde_pair p = {
		.dst = rde_reach_virt(dev, dst, len),
		.src = rde_reach_virt(dev, src, len),
	};

	if (!p.dst || !p.src)
		return (struct rde_pair){};
	return p;
}

/*
 * Both ranges of a copy, in one call, for engine_pair(), returned in
 * two registers.  The common case (both in remembered subsections) calls
 * nothing but dma_to_phys()'s translation, if the device has DMA ranges,
 * so it mostly needs no stack frame; anything else is redone out of line.
 */
struct rde_pair rde_dma_pair_to_virt(struct device *dev, dma_addr_t dst,
				     dma_addr_t src, size_t len)
{
	struct rde_pair p = {
		.dst = rde_reach_virt_cached(dev, dst, len),
		.src = rde_reach_virt_cached(dev, src, len),
	};

	if (unlikely(!p.dst || !p.src))
		return rde_dma_pair_to_virt_slow(dev, dst, src, len);
	return p;
}

void rde_init_irq_work(struct irq_work *work, void (*func)(struct irq_work *))
{
	init_irq_work(work, func);
}

/* The engine's burst, which a pause waits for (soft/gate.rs). */
unsigned long rde_local_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void rde_local_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

/*
 * rust_dmaengine's `dispatch` module parameter: a string, which the Rust
 * module! macro cannot declare.  The driver validates it
 * (Dispatch::from_name).
 */
static char rde_dispatch[16] = "tasklet";
module_param_string(dispatch, rde_dispatch, sizeof(rde_dispatch), 0444);
MODULE_PARM_DESC(dispatch,
		 "Callback dispatch: tasklet (default) or bh (system_bh_wq)");

const char *rde_dispatch_param(void)
{
	return rde_dispatch;
}

bool rde_of_has_compatible(const char *compat)
{
	struct device_node *np = of_find_compatible_node(NULL, NULL, compat);
	bool ok = np && of_device_is_available(np);

	of_node_put(np);
	return ok;
}
