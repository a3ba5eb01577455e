# Board description for scripts/*: sourced, sets variables only.
ARCH=arm64
KIMAGE=arch/arm64/boot/Image
KTARGETS="Image modules"
DTB=
BUSYBOX_ARCH=arm64
# The guest powers itself off with `poweroff -f` (PSCI).
GUEST_OFF="poweroff -f"
# Kernel arguments of the checkers this board enables (virt-bench clears it).
CHECKER_ARGS=${CHECKER_ARGS-kmemleak=on}
# Nodes added to QEMU's device tree (scripts/guest/boot): the ASoC test's
# DMA controller and simulated I2S FIFO (issue 23).
DT_NODES=qemu/virt/audio.dtsi
# The guest gets ALSA's aplay and arecord (Debian arm64, scripts/setup).
GUEST_ALSA=arm64
# The generic dmaengine PCM allocates each stream's buffer at hw_params and
# frees it at hw_free, instead of once per card: a buffer freed under a
# running engine is then a KASAN report (the audio negative control).
AUDIO_ARGS=snd_soc_core.prealloc_buffer_size_kbytes=0
# DTB_PATH: the tree scripts/guest/boot built (QEMU's own with DT_NODES);
# without one, QEMU's own.
qemu_cmd() { # $1 kernel image, $2 initrd, $3 extra append
	echo qemu-system-aarch64 -M virt -cpu max -smp ${RDE_SMP:-2} ${RDE_QEMU_ARGS:-} -m 1536 -nographic -nic none \
		-no-reboot -kernel "$1" -initrd "$2" ${DTB_PATH:+-dtb "$(printf %q "$DTB_PATH")"} \
		-append "\"console=ttyAMA0 panic=-1 $CHECKER_ARGS $AUDIO_ARGS kunit.enable=1 kunit.autorun=1 $3\""
}
# make run: load the provider and the client, list the channels, run
# dmatest and the seed scenario; then the audio test.  scripts/run-summary reads the console.
RUN_CMD='insmod /lib/modules/extra/rust_dmaengine.ko burst_delay_us=50 || exit 1
rde_channels
echo "== upstream dmatest memcpy, 50 iterations on every channel:"
rde_run dmatest.sh memcpy dma0 50 1 16384
echo "== rust_dmaengine_client: async_in_callback (terminate_async in callback k, synchronize, check), 10 iterations:"
insmod /lib/modules/extra/rust_dmaengine_client.ko
D=/sys/kernel/debug/rust_dmaengine_client; echo 10 >$D/iterations; echo 1 >$D/run; cat $D/results
rmmod rust_dmaengine_client; rmmod rust_dmaengine
echo "== ALSA aplay/arecord through the kernel generic dmaengine PCM on rust_dmaengine (audio.sh, 10 cycles):"
cd /selftests && sh audio.sh 10'
