// SPDX-License-Identifier: GPL-2.0

__rust_helper int rust_helper___dma_has_cap(enum dma_transaction_type tx_type,
					    dma_cap_mask_t *srcp)
{
	return __dma_has_cap(tx_type, srcp);
}

__rust_helper const char *rust_helper_dma_chan_name(struct dma_chan *chan)
{
	return dma_chan_name(chan);
}

__rust_helper struct device *
rust_helper_dmaengine_get_dma_device(struct dma_chan *chan)
{
	return dmaengine_get_dma_device(chan);
}

__rust_helper struct dma_async_tx_descriptor *
rust_helper_dmaengine_prep_dma_memcpy(struct dma_chan *chan, dma_addr_t dest,
				      dma_addr_t src, size_t len,
				      unsigned long flags)
{
	return dmaengine_prep_dma_memcpy(chan, dest, src, len, flags);
}

__rust_helper struct dma_async_tx_descriptor *
rust_helper_dmaengine_prep_dma_cyclic(struct dma_chan *chan, dma_addr_t buf_addr,
				      size_t buf_len, size_t period_len,
				      enum dma_transfer_direction dir,
				      unsigned long flags)
{
	return dmaengine_prep_dma_cyclic(chan, buf_addr, buf_len, period_len,
					 dir, flags);
}

__rust_helper dma_cookie_t
rust_helper_dmaengine_submit(struct dma_async_tx_descriptor *desc)
{
	return dmaengine_submit(desc);
}

__rust_helper void rust_helper_dma_async_issue_pending(struct dma_chan *chan)
{
	dma_async_issue_pending(chan);
}

__rust_helper int rust_helper_dmaengine_terminate_async(struct dma_chan *chan)
{
	return dmaengine_terminate_async(chan);
}

__rust_helper void rust_helper_dmaengine_synchronize(struct dma_chan *chan)
{
	dmaengine_synchronize(chan);
}

__rust_helper int rust_helper_dmaengine_terminate_sync(struct dma_chan *chan)
{
	return dmaengine_terminate_sync(chan);
}

__rust_helper struct dma_async_tx_descriptor *
rust_helper_dmaengine_prep_slave_sg(struct dma_chan *chan,
				    struct scatterlist *sgl, unsigned int sg_len,
				    enum dma_transfer_direction dir,
				    unsigned long flags)
{
	return dmaengine_prep_slave_sg(chan, sgl, sg_len, dir, flags);
}

__rust_helper int
rust_helper_dmaengine_slave_config(struct dma_chan *chan,
				   struct dma_slave_config *config)
{
	return dmaengine_slave_config(chan, config);
}

__rust_helper int rust_helper_dmaengine_pause(struct dma_chan *chan)
{
	return dmaengine_pause(chan);
}

__rust_helper int rust_helper_dmaengine_resume(struct dma_chan *chan)
{
	return dmaengine_resume(chan);
}

__rust_helper enum dma_status
rust_helper_dmaengine_tx_status(struct dma_chan *chan, dma_cookie_t cookie,
				struct dma_tx_state *state)
{
	return dmaengine_tx_status(chan, cookie, state);
}
