// SPDX-License-Identifier: GPL-2.0
/*
 * rde_asoc_card: a minimal ASoC sound card on a simulated I2S FIFO, the
 * real-client test of issue 23.  The DMA client here is not ours: it is
 * the kernel's generic dmaengine PCM (sound/soc/soc-generic-dmaengine-pcm.c
 * and sound/core/pcm_dmaengine.c), which requests its channels from the
 * device tree, configures them with dmaengine_slave_config(), runs cyclic
 * transfers and stops them with dmaengine_terminate_async() and
 * dmaengine_synchronize(); the provider of those channels is
 * rust_dmaengine.
 *
 * The device tree node (compatible "rust,rde-soft-i2s"; on QEMU virt see
 * qemu/virt/audio.dtsi) has:
 *
 * - reg: the bus address of the simulated FIFO, TX data register at +0x0,
 *   RX data register at +0x4.  Nothing here maps or touches it: it is only
 *   what the DMA engine is told (dma_slave_config's dst_addr/src_addr).
 * - dmas, dma-names = "tx", "rx": the provider's channels.
 *
 * One DAI, "rde-i2s": playback and capture, 2 channels, S16_LE, 8 to
 * 48 kHz, so that one frame is one 32-bit FIFO word.  The card "rde" links
 * it to the dummy codec, with this device's generic dmaengine PCM as the
 * platform.  Until the provider has registered its DMA controller for the
 * node in "dmas", the probe is deferred (see /sys/kernel/debug/devices_deferred).
 *
 * While the card is bound, ASoC holds a reference on the module of its
 * components' driver, this one, and the generic PCM holds its channels, so
 * neither this module nor the provider unloads: unbind the device first
 * (echo c000000.rde-i2s >/sys/bus/platform/drivers/rde-asoc-card/unbind).
 */
#include <linux/dmaengine.h>
#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <sound/dmaengine_pcm.h>
#include <sound/pcm.h>
#include <sound/soc.h>

#define RDE_I2S_TX	0x0	/* TX data register, from reg's start */
#define RDE_I2S_RX	0x4	/* RX data register */

#define RDE_I2S_RATES	SNDRV_PCM_RATE_8000_48000
#define RDE_I2S_FORMATS	SNDRV_PCM_FMTBIT_S16_LE

struct rde_i2s {
	struct snd_dmaengine_dai_dma_data playback;
	struct snd_dmaengine_dai_dma_data capture;
	struct snd_soc_card card;
	struct snd_soc_dai_link link;
	struct snd_soc_dai_link_component cpu;
	struct snd_soc_dai_link_component platform;
};

/*
 * The card is registered on this same device and sets its driver data to
 * itself, so the DAI finds our state through the card.
 */
static int rde_i2s_dai_probe(struct snd_soc_dai *dai)
{
	struct rde_i2s *i2s = snd_soc_card_get_drvdata(dai->component->card);

	snd_soc_dai_init_dma_data(dai, &i2s->playback, &i2s->capture);
	return 0;
}

static const struct snd_soc_dai_ops rde_i2s_dai_ops = {
	.probe = rde_i2s_dai_probe,
};

static struct snd_soc_dai_driver rde_i2s_dai = {
	.name = "rde-i2s",
	.playback = {
		.stream_name = "Playback",
		.channels_min = 2,
		.channels_max = 2,
		.rates = RDE_I2S_RATES,
		.formats = RDE_I2S_FORMATS,
	},
	.capture = {
		.stream_name = "Capture",
		.channels_min = 2,
		.channels_max = 2,
		.rates = RDE_I2S_RATES,
		.formats = RDE_I2S_FORMATS,
	},
	.ops = &rde_i2s_dai_ops,
};

static const struct snd_soc_component_driver rde_i2s_component = {
	.name = "rde-i2s",
};

/* The channels are the node's dmas/dma-names "tx" and "rx". */
static const struct snd_dmaengine_pcm_config rde_i2s_pcm_config = {
	.prepare_slave_config = snd_dmaengine_pcm_prepare_slave_config,
};

static int rde_i2s_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct resource *res;
	struct rde_i2s *i2s;
	int ret;

	res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res)
		return dev_err_probe(dev, -EINVAL,
				     "no reg: the node must give the FIFO's bus address\n");

	i2s = devm_kzalloc(dev, sizeof(*i2s), GFP_KERNEL);
	if (!i2s)
		return -ENOMEM;

	i2s->playback.addr = res->start + RDE_I2S_TX;
	i2s->playback.addr_width = DMA_SLAVE_BUSWIDTH_4_BYTES;
	i2s->playback.maxburst = 4;
	i2s->capture.addr = res->start + RDE_I2S_RX;
	i2s->capture.addr_width = DMA_SLAVE_BUSWIDTH_4_BYTES;
	i2s->capture.maxburst = 4;

	ret = devm_snd_soc_register_component(dev, &rde_i2s_component,
					      &rde_i2s_dai, 1);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register the DAI\n");

	/*
	 * -EPROBE_DEFER while no DMA controller is registered for the
	 * node in "dmas": dev_err_probe() records the reason (shown in
	 * /sys/kernel/debug/devices_deferred) and the driver core retries
	 * when another driver binds.
	 */
	ret = devm_snd_dmaengine_pcm_register(dev, &rde_i2s_pcm_config, 0);
	if (ret)
		return dev_err_probe(dev, ret,
				     "no DMA channel 'tx'/'rx' (dmas, dma-names): is rust_dmaengine loaded and bound to the DT's DMA controller?\n");

	i2s->cpu.of_node = dev->of_node;
	i2s->cpu.dai_name = rde_i2s_dai.name;
	i2s->platform.of_node = dev->of_node;

	i2s->link.name = "rde-i2s";
	i2s->link.stream_name = "rde-i2s";
	i2s->link.cpus = &i2s->cpu;
	i2s->link.num_cpus = 1;
	i2s->link.codecs = &snd_soc_dummy_dlc;
	i2s->link.num_codecs = 1;
	i2s->link.platforms = &i2s->platform;
	i2s->link.num_platforms = 1;
	/* The dummy codec is the clock and frame consumer. */
	i2s->link.dai_fmt = SND_SOC_DAIFMT_I2S | SND_SOC_DAIFMT_NB_NF |
			    SND_SOC_DAIFMT_CBC_CFC;

	i2s->card.name = "rde";
	i2s->card.owner = THIS_MODULE;
	i2s->card.dev = dev;
	i2s->card.dai_link = &i2s->link;
	i2s->card.num_links = 1;
	snd_soc_card_set_drvdata(&i2s->card, i2s);

	ret = devm_snd_soc_register_card(dev, &i2s->card);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register the card\n");

	dev_info(dev, "card %s registered, FIFO %pR (tx +0x%x, rx +0x%x)\n",
		 i2s->card.name, res, RDE_I2S_TX, RDE_I2S_RX);
	return 0;
}

static const struct of_device_id rde_i2s_of_match[] = {
	{ .compatible = "rust,rde-soft-i2s" },
	{ }
};
MODULE_DEVICE_TABLE(of, rde_i2s_of_match);

static struct platform_driver rde_i2s_driver = {
	.driver = {
		.name = "rde-asoc-card",
		.of_match_table = rde_i2s_of_match,
	},
	.probe = rde_i2s_probe,
};
module_platform_driver(rde_i2s_driver);

MODULE_DESCRIPTION("Test ASoC card on a simulated I2S FIFO, DMA by rust_dmaengine");
MODULE_LICENSE("GPL");
