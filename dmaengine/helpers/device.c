// SPDX-License-Identifier: GPL-2.0

__rust_helper void rust_helper_dev_set_dma_coherent(struct device *dev)
{
	dev_set_dma_coherent(dev);
}
