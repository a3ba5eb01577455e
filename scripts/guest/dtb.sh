# SPDX-License-Identifier: GPL-2.0
#
# board_dtb WORK APPEND: sets DTB_PATH, the board's device tree for its
# qemu_cmd.  Sourced by scripts/guest/boot and scripts/guest/shell after
# qemu/BOARD/board.sh; needs KDIR, KIMAGE and the initramfs WORK/initrd.cpio
# (APPEND: the kernel arguments of the boot).
#
# The tree is the kernel's (DTB, a path in KDIR) or none (QEMU generates
# one).  A board may change it:
# - DTB_FIXUP, a sed expression applied to the decompiled tree (see
#   qemu/zynq/board.sh);
# - DT_NODES, a file of nodes in dts source (relative to the repository, see
#   qemu/virt/audio.dtsi), appended to the decompiled tree: its "/ { }"
#   merges into the root.
# Without DTB, the base of these is the tree QEMU generates for the same
# command line, written out by -machine dumpdtb (QEMU then exits).  The
# result is compiled into WORK/board.dtb.
board_dtb() {
	DTB_PATH=
	[ -z "${DTB:-}" ] || DTB_PATH=$KDIR/$DTB
	if [ -n "${DTB_FIXUP:-}${DT_NODES:-}" ]; then
		dtc=$KDIR/scripts/dtc/dtc
		[ -x "$dtc" ] || die "no $dtc to apply the board's DTB_FIXUP or DT_NODES"
		if [ -z "$DTB_PATH" ]; then
			dump="$(qemu_cmd "$KDIR/$KIMAGE" "$1/initrd.cpio" "$2") -machine dumpdtb=$1/machine.dtb"
			if ! eval timeout 60 "$dump" </dev/null >"$1/dumpdtb.log" 2>&1 ||
				[ ! -s "$1/machine.dtb" ]; then
				die "QEMU did not write its device tree for $board (-machine dumpdtb): $(cat "$1/dumpdtb.log")"
			fi
			DTB_PATH=$1/machine.dtb
		fi
		"$dtc" -q -I dtb -O dts -o "$1/board.dts" "$DTB_PATH"
		cp "$1/board.dts" "$1/board-fixed.dts"
		if [ -n "${DTB_FIXUP:-}" ]; then
			sed "$DTB_FIXUP" "$1/board.dts" >"$1/board-fixed.dts"
			! cmp -s "$1/board.dts" "$1/board-fixed.dts" ||
				die "the board's DTB_FIXUP changed nothing in ${DTB:-the tree QEMU generates}"
		fi
		base_lines=$(wc -l <"$1/board-fixed.dts")
		if [ -n "${DT_NODES:-}" ]; then
			[ -f "$RDE_TOP/$DT_NODES" ] || die "no $RDE_TOP/$DT_NODES (the board's DT_NODES)"
			cat "$RDE_TOP/$DT_NODES" >>"$1/board-fixed.dts"
		fi
		"$dtc" -q -I dts -O dtb -o "$1/board.dtb" "$1/board-fixed.dts" ||
			die "dtc refused the board's device tree${DT_NODES:+ with $DT_NODES (its line N is line $base_lines+N above)}"
		DTB_PATH=$1/board.dtb
	fi
}
