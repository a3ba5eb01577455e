# Board description for scripts/*: sourced, sets variables only.
# smdkc210: Exynos4210, 2 CPUs, 3 PL330s (12680000 and 12690000 with 8
# channels each, 12850000 the mdma).  All three PL330 interrupts arrive on
# CPU0, so a waiter on CPU1 really overlaps the callback: the SMP board
# where a broken device_synchronize is caught.
ARCH=arm
KIMAGE=arch/arm/boot/zImage
KTARGETS="zImage dtbs modules"
DTB=arch/arm/boot/dts/samsung/exynos4210-smdkv310.dtb
BUSYBOX_ARCH=armhf
SMP=2
# `reboot -f` does not end QEMU here ("Unable to restart system"):
# scripts/guest/boot ends QEMU itself once the guest printed its exit marker.
GUEST_OFF="reboot -f"
GUEST_KILL_AFTER_EXIT=1
# The console is the second UART (ttySAC1), hence `-serial null` first.
# smdkc210 has 2 CPUs, fixed: RDE_SMP is not read.  RDE_QEMU_ARGS: more
# QEMU arguments (make bench: -icount shift=0,sleep=off).
qemu_cmd() { # $1 kernel image, $2 initrd, $3 extra append
	echo qemu-system-arm -M smdkc210 -m 1024 -display none ${RDE_QEMU_ARGS:-} \
		-serial null -serial stdio -monitor none -no-reboot \
		-kernel "$1" -dtb "$KDIR/$DTB" -initrd "$2" \
		-append "\"console=ttySAC1,115200 panic=-1 kmemleak=on kunit.enable=1 kunit.autorun=1 $3\""
}
# make run: rust_pl330 on the three PL330s, their channels, an upstream
# dmatest run on all of them, the client's seed scenario with the
# waiter pinned to CPU1 (the PL330 interrupts arrive on CPU0), no opt-in,
# and three lines of text written by DMA into the console UART's transmit
# register (uart_tx: UART1 on pdma1's request line 16, its TX line in
# exynos4.dtsi).  scripts/run-summary reads the console.
RUN_CMD='insmod /lib/modules/extra/rust_pl330.ko || exit 1
rde_channels
echo "== upstream dmatest memcpy, 100 iterations on 8 channels of each PL330 (rust_pl330):"
rde_run dmatest.sh memcpy dma 100 1 16384 8
echo "== rust_dmaengine_client: async_in_callback on rust_pl330, 10 iterations, waiter on CPU1:"
insmod /lib/modules/extra/rust_dmaengine_client.ko || exit 1
D=/sys/kernel/debug/rust_dmaengine_client; echo 10 >$D/iterations; taskset -c 1 sh -c "echo 1 >$D/run"; cat $D/results
echo "== rust_dmaengine_client: uart_tx, 3 lines by DMA into the console UART (dma1chan16):"
echo uart_tx >$D/scenario; echo dma1chan16 >$D/channel; echo 0x13810020 >$D/fifo; echo 3 >$D/iterations; echo 1 >$D/run
rmmod rust_dmaengine_client'
