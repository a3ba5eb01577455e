#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/zynqmp_dma-sync/build.sh OUTDIR: build upstream zynqmp_dma.ko (as
# it is) and zynqmp_dma_sync.ko (with this directory's patches) out of
# tree, into OUTDIR, against KDIR.
#
# The sweep's versal board runs the virt kernel, which does not build the
# driver (CONFIG_XILINX_ZYNQMP_DMA is not in qemu/virt/config): the
# pristine source of $KSRC is built here instead, so the board needs no
# kernel of its own.  The kernel source tree is never modified.
#
#   KSRC   kernel source (default ~/.cache/rust-dmaengine/src/linux)
#   KDIR   configured, built arm64 kernel tree (default: scripts/kdir virt)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
. "$here/../../scripts/lib.sh"

src=$(ksrc)
drv=$src/drivers/dma/xilinx/zynqmp_dma.c
[ -f "$drv" ] || die "no $drv (set KSRC)"
KDIR=${KDIR:-$("$RDE_TOP/scripts/kdir" virt)}
[ -f "$KDIR/Module.symvers" ] || die "$KDIR is not a built kernel tree (set KDIR)"
grep -qE '^CONFIG_DMA_ENGINE=y' "$KDIR/.config" || die "$KDIR has no CONFIG_DMA_ENGINE"
out=$(realpath -m "${1:?usage: tools/zynqmp_dma-sync/build.sh OUTDIR}")
kenv
for variant in upstream sync; do
	d=$out/$variant/xilinx
	step "zynqmp_dma ($variant): $drv -> $d"
	rm -rf "$out/$variant"
	mkdir -p "$d"
	# "../dmaengine.h": the private header one level up.
	cp "$src/drivers/dma/dmaengine.h" "$out/$variant/"
	cp "$drv" "$here/Kbuild" "$d/"
	patched=0
	if [ $variant = sync ]; then
		patched=1
		for p in "$here"/0*.patch; do
			info "applying $(basename "$p")"
			# a/drivers/dma/xilinx/zynqmp_dma.c -> zynqmp_dma.c
			patch -p4 -s -N -d "$d" <"$p" || die "$(basename "$p") does not apply"
		done
	fi
	make -C "$KDIR" M="$d" ARCH=arm64 LLVM=-"$(llvm_version virt)" RDE_ZDMA_PATCHED=$patched modules
done
cp "$out/upstream/xilinx/zynqmp_dma.ko" "$out/sync/xilinx/zynqmp_dma_sync.ko" "$out/"
info "built $out/zynqmp_dma.ko and $out/zynqmp_dma_sync.ko"
