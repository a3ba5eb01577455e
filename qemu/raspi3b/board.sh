# Board description for scripts/*: sourced, sets variables only.
#
# raspi3b: QEMU's Raspberry Pi 3B (BCM2837, 4 Cortex-A53s, 1 GiB), for the
# conformance sweep (make sweep, Documentation/conformance.rst): the BCM2835
# DMA controller (hw/dma/bcm2835_dma.c) under upstream bcm2835-dma, with
# the kernel's device tree.  The machine has no PSCI and no way for the
# guest to stop QEMU: the rig ends it after the guest's exit marker
# (GUEST_KILL_AFTER_EXIT).
ARCH=arm64
KIMAGE=arch/arm64/boot/Image
KTARGETS="Image dtbs modules"
DTB=arch/arm64/boot/dts/broadcom/bcm2837-rpi-3-b.dtb
BUSYBOX_ARCH=arm64
GUEST_OFF="poweroff -f"
GUEST_KILL_AFTER_EXIT=1
CHECKER_ARGS=${CHECKER_ARGS-kmemleak=on}
qemu_cmd() { # $1 kernel image, $2 initrd, $3 extra append
	echo qemu-system-aarch64 -M raspi3b ${RDE_QEMU_ARGS:-} -nographic \
		-kernel "$1" -initrd "$2" -dtb "$(printf %q "$DTB_PATH")" \
		-append "\"console=ttyAMA0 panic=-1 $CHECKER_ARGS kunit.enable=1 kunit.autorun=1 $3\""
}
