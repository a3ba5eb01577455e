/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for the Rust dmaengine abstraction.  Each wraps one static
 * inline function or macro that Rust cannot call directly, as
 * the files in rust/helpers/ do for the kernel crate.  Prefix: rde_.
 */
#ifndef RUST_DMAENGINE_HELPERS_H
#define RUST_DMAENGINE_HELPERS_H

#include <linux/amba/bus.h>
#include <linux/completion.h>
#include <linux/dmaengine.h>
#include <linux/interrupt.h>
#include <linux/ioport.h>
#include <linux/platform_device.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

/* Provider side. */
void rde_dma_cap_set(enum dma_transaction_type tx_type, dma_cap_mask_t *mask);
void rde_dma_chan_add(struct dma_device *dev, struct dma_chan *chan);
void rde_dma_device_init_channels(struct dma_device *dev);
bool rde_desc_has_callback(struct dma_async_tx_descriptor *tx);
void rde_dev_set_dma_coherent(struct device *dev);

/* Bus glue (amba.rs). */
bool rde_request_mem_region(resource_size_t start, size_t n, const char *name);
void rde_release_mem_region(resource_size_t start, size_t n);

/* The channel lock (lock.rs). */
unsigned long rde_spin_lock_irqsave(spinlock_t *lock);
bool rde_spin_trylock_irqsave(spinlock_t *lock, unsigned long *flags);
void rde_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);
bool rde_irqs_disabled(void);

/* Deferred work. */
void rde_init_work(struct work_struct *work,
		   void (*func)(struct work_struct *));
bool rde_queue_bh_work(struct work_struct *work);
int rde_queue_bh_work_elsewhere(struct work_struct *work);

/* Completion: what kernel::sync::Completion lacks. */
void rde_init_completion(struct completion *x);
void rde_reinit_completion(struct completion *x);
bool rde_completion_done(struct completion *x);

/* Client side. */
struct dma_chan *rde_dma_request_chan_by_mask(enum dma_transaction_type cap,
					      const char *chan_name,
					      const char *dev_name,
					      bool need_sync);
struct dma_async_tx_descriptor *
rde_prep_dma_memcpy(struct dma_chan *chan, dma_addr_t dst, dma_addr_t src,
		    size_t len, unsigned long flags);
struct dma_async_tx_descriptor *
rde_prep_dma_cyclic(struct dma_chan *chan, dma_addr_t buf, size_t buf_len,
		    size_t period_len, enum dma_transfer_direction dir,
		    unsigned long flags);
dma_cookie_t rde_dmaengine_submit(struct dma_async_tx_descriptor *tx);
void rde_dma_async_issue_pending(struct dma_chan *chan);
int rde_dmaengine_terminate_async(struct dma_chan *chan);
void rde_dmaengine_synchronize(struct dma_chan *chan);
int rde_dmaengine_terminate_sync(struct dma_chan *chan);
int rde_dmaengine_pause(struct dma_chan *chan);
int rde_dmaengine_resume(struct dma_chan *chan);
enum dma_status rde_dmaengine_tx_status(struct dma_chan *chan,
					dma_cookie_t cookie,
					struct dma_tx_state *state);
const char *rde_dma_chan_name(struct dma_chan *chan);
void rde_set_callback(struct dma_async_tx_descriptor *tx,
		      dma_async_tx_callback cb, void *param);
bool rde_dma_has_cap(struct dma_chan *chan, enum dma_transaction_type cap);
bool rde_dma_chan_can_synchronize(struct dma_chan *chan);
bool rde_may_sleep(void);
unsigned int rde_num_online_cpus(void);
struct device *rde_dma_chan_dma_device(struct dma_chan *chan);
dma_addr_t rde_dma_map_single(struct device *dev, void *ptr, size_t size);
int rde_dma_mapping_error(struct device *dev, dma_addr_t addr);
void rde_dma_unmap_single(struct device *dev, dma_addr_t addr, size_t size);

#endif
