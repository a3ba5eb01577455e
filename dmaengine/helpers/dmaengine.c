// SPDX-License-Identifier: GPL-2.0

#include <linux/dmaengine.h>

__rust_helper void rust_helper___dma_cap_set(enum dma_transaction_type tx_type,
					     dma_cap_mask_t *dstp)
{
	__dma_cap_set(tx_type, dstp);
}
