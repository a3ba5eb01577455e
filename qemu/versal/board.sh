# Board description for scripts/*: sourced, sets variables only.
#
# versal: QEMU's xlnx-versal-virt, for the conformance sweep (make sweep,
# Documentation/conformance.rst): the eight channels of the Versal LPD
# DMA (ZDMA), which QEMU writes into the device tree it generates
# (xlnx,zynqmp-dma-1.0 at 0xffa80000 + n * 0x10000), driven by upstream
# zynqmp_dma.  The board runs virt's kernel and modules (KERNEL_BOARD):
# virt's kernel does not build the driver, so tools/zynqmp_dma-sync/build.sh
# builds it out of tree, as it is and with our patches.  Two Cortex-A72s,
# GICv3, the PL011 console at 0xff000000.
KERNEL_BOARD=virt
# What scripts/check builds for the board before its tests (after virt's
# kernel and modules), and the modules that go into the guest's
# /lib/modules/extra with virt's.
BOARD_PREPARE='KDIR=$(scripts/kdir virt) tools/zynqmp_dma-sync/build.sh out/zynqmp_dma-sync'
GUEST_MODS="out/zynqmp_dma-sync/zynqmp_dma.ko out/zynqmp_dma-sync/zynqmp_dma_sync.ko"
ARCH=arm64
KIMAGE=arch/arm64/boot/Image
DTB=
BUSYBOX_ARCH=arm64
GUEST_OFF="poweroff -f"
# After a driver stalled a CPU (the upstream zynqmp_dma test) poweroff does
# not finish: the rig ends QEMU once the guest printed its exit marker.
GUEST_KILL_AFTER_EXIT=1
CHECKER_ARGS=${CHECKER_ARGS-kmemleak=on}
qemu_cmd() { # $1 kernel image, $2 initrd, $3 extra append
	echo qemu-system-aarch64 -M xlnx-versal-virt -m 2G ${RDE_QEMU_ARGS:-} -nographic -nic none \
		-no-reboot -kernel "$1" -initrd "$2" ${DTB_PATH:+-dtb "$(printf %q "$DTB_PATH")"} \
		-append "\"console=ttyAMA0 panic=-1 $CHECKER_ARGS kunit.enable=1 kunit.autorun=1 $3\""
}
