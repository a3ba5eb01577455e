# Board description for scripts/*: sourced, sets variables only.
ARCH=arm
KIMAGE=arch/arm/boot/zImage
KTARGETS="zImage dtbs modules"
DTB=arch/arm/boot/dts/xilinx/zynq-zc702.dtb
BUSYBOX_ARCH=armhf
# `poweroff` halts without exiting QEMU here; reboot + -no-reboot exits.
GUEST_OFF="reboot -f"
# Timed sleeps end far too early in this guest (`sleep 1` takes 0.03 s of
# /proc/uptime), so busybox's timeout kills any command at once.  The guest
# gets no timeout utility: kselftest's runner then runs each test without
# one, and scripts/guest's timeout still catches a hang.
GUEST_TIMEOUT=none
# The zc702 console is the second UART, hence `-serial null` first.
# Single CPU: QEMU's zynq model refuses -smp 2.
qemu_cmd() { # $1 kernel image, $2 initrd, $3 extra append
	echo qemu-system-arm -M xilinx-zynq-a9 -m 512 -display none \
		-serial null -serial stdio -monitor none -no-reboot -nic none \
		-kernel "$1" -dtb "$KDIR/$DTB" -initrd "$2" \
		-append "\"console=ttyPS0,115200 panic=-1 kmemleak=on kunit.enable=1 kunit.autorun=1 $3\""
}
# make run: the PL330's channels and an upstream dmatest run on them.
RUN_CMD='echo "== DMA channels (PL330):"; ls /sys/class/dma
echo "== /sys/kernel/debug/dmaengine/summary:"; cat /sys/kernel/debug/dmaengine/summary
echo "== dmatest memcpy, 100 iterations on every PL330 channel:"
rde_run dmatest.sh memcpy dma0chan 100 1 16384 | grep -v "^RDE-"
dmesg | grep "dmatest: .*summary"'
