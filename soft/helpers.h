/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers of the software engine's hardware model (soft/), for
 * rust_dmaengine: what the DMA-engine framework (dmaengine/) does not
 * need.  Prefix: rde_.
 */
#ifndef RUST_DMAENGINE_SOFT_HELPERS_H
#define RUST_DMAENGINE_SOFT_HELPERS_H

#include <linux/device.h>
#include <linux/irq_work.h>
#include <linux/types.h>

/* The engine's window on DMA memory (soft/window.rs). */
void *rde_dma_range_to_virt(struct device *dev, dma_addr_t addr, size_t len);
/* The CPU addresses of a copy's two ranges; both NULL if either fails. */
struct rde_pair {
	void *dst;
	void *src;
};

struct rde_pair rde_dma_pair_to_virt(struct device *dev, dma_addr_t dst,
				     dma_addr_t src, size_t len);

/* The engine's "interrupt" (soft/chan.rs) and burst gate (soft/gate.rs). */
void rde_init_irq_work(struct irq_work *work,
		       void (*func)(struct irq_work *));
unsigned long rde_local_irq_save(void);
void rde_local_irq_restore(unsigned long flags);

/* rust_dmaengine's `dispatch` module parameter. */
const char *rde_dispatch_param(void);

/* Whether the device tree has an available node compatible with @compat. */
bool rde_of_has_compatible(const char *compat);

#endif /* RUST_DMAENGINE_SOFT_HELPERS_H */
