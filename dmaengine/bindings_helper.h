/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input of the build-time bindgen run for the dmaengine abstraction (see
 * Kbuild): the DMA-engine API, the AMBA bus's driver registration, and our
 * C helpers (helpers.c, whose rust_helper_<name> functions become
 * bindings::<name>).
 */
#include <linux/amba/bus.h>
#include <linux/dmaengine.h>
#include <linux/of_dma.h>
#include <linux/platform_device.h>
#include <linux/preempt.h>
#include <linux/irq_work.h>
#include <linux/workqueue.h>
#include "helpers.c"

/*
 * For lock.rs, which reads preempt_count() inline on arm64: the bits that
 * count refcounted local_interrupt_disable() regions.
 */
const unsigned int RDE_HARDIRQ_DISABLE_MASK = HARDIRQ_DISABLE_MASK;
