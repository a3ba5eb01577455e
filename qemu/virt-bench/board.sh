# Board description for scripts/*: sourced, sets variables only.
ARCH=arm64
KIMAGE=arch/arm64/boot/Image
KTARGETS="Image modules"
DTB=
BUSYBOX_ARCH=arm64
# The guest powers itself off with `poweroff -f` (PSCI).
GUEST_OFF="poweroff -f"
qemu_cmd() { # $1 kernel image, $2 initrd, $3 extra append
	echo qemu-system-aarch64 -M virt -cpu max -smp 2 -m 1536 -nographic -nic none \
		-no-reboot -kernel "$1" -initrd "$2" \
		-append "\"console=ttyAMA0 panic=-1 kunit.enable=1 kunit.autorun=1 $3\""
}
