# Board description for scripts/*: sourced, sets variables only.
ARCH=arm
KIMAGE=arch/arm/boot/zImage
KTARGETS="zImage dtbs modules"
DTB=arch/arm/boot/dts/xilinx/zynq-zc702.dtb
BUSYBOX_ARCH=armhf
# `poweroff` halts without exiting QEMU here; reboot + -no-reboot exits.
GUEST_OFF="reboot -f"
# The Cortex-A9 global timer (the kernel's clock event device here) is
# described as an edge-triggered PPI, but QEMU models its line as a level
# that stays high while the event flag is set.  Under host load the flag
# can still be set when the next compare fires: no new edge, the GIC never
# raises the tick again, and every timed wait in the guest hangs (this was
# the zynq hang: an fsleep from a module, `sleep` after a busy callback,
# busybox timeout's watcher).  Level-triggered, a pending flag re-raises
# the interrupt.  Measured 2026-11-25 under load: the stock tree hung in
# 2 of 2 runs (rust_pl330, the client, 10 x sleep 1), the fixed one passed
# 3 of 3.  A TTC-only tree (global timer disabled) does not boot in QEMU.
DTB_FIXUP='s/interrupts = <0x01 0x0b 0x301>;/interrupts = <0x01 0x0b 0x304>;/'
# The zc702 console is the second UART, hence `-serial null` first.
# Single CPU: QEMU's zynq model refuses -smp 2, so RDE_SMP is not read.
# RDE_QEMU_ARGS: more QEMU arguments (make bench: -icount shift=0,sleep=off).
# Under -icount, boot with initcall_blacklist=ttc_timer_driver_init (as
# scripts/bench/pl330 does): QEMU's Cadence TTC livelocks under icount
# near its counter's wrap, about 1 s after Linux starts it (pl330.rst,
# Performance).  That may be why a TTC-only tree did not boot either.
qemu_cmd() { # $1 kernel image, $2 initrd, $3 extra append
	echo qemu-system-arm -M xilinx-zynq-a9 -m 512 -display none ${RDE_QEMU_ARGS:-} \
		-serial null -serial stdio -monitor none -no-reboot -nic none \
		-kernel "$1" -dtb "$DTB_PATH" -initrd "$2" \
		-append "\"console=ttyPS0,115200 panic=-1 kmemleak=on kunit.enable=1 kunit.autorun=1 $3\""
}
# make run: our rust_pl330.ko on the PL330, its channels, an upstream
# dmatest run on them and the client's seed scenario, then 3 lines by DMA
# into the console UART (line 0).  Upstream pl330.ko is the
# upstream_pl330 test's (qemu/zynq/tests): with CONFIG_PM its runtime PM
# underflows when a client releases a channel.  scripts/run-summary reads
# the console.
RUN_CMD='insmod /lib/modules/extra/rust_pl330.ko || exit 1
rde_channels
echo "== upstream dmatest memcpy, 100 iterations on every PL330 channel (rust_pl330):"
rde_run dmatest.sh memcpy dma0chan 100 1 16384
echo "== rust_dmaengine_client: async_in_callback on rust_pl330, 10 iterations:"
insmod /lib/modules/extra/rust_dmaengine_client.ko || exit 1
D=/sys/kernel/debug/rust_dmaengine_client; echo 10 >$D/iterations; echo 1 >$D/run; cat $D/results
echo "== rust_dmaengine_client: uart_tx, 3 lines by DMA into the console UART (dma0chan0):"
echo uart_tx >$D/scenario; echo dma0chan0 >$D/channel; echo 0xe0001030 >$D/fifo; echo 3 >$D/iterations; echo 1 >$D/run
rmmod rust_dmaengine_client'
