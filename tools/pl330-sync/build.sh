#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/pl330-sync/build.sh [OUTDIR]: build pl330_sync.ko, the upstream
# pl330 driver with this directory's patches (0001 device_synchronize,
# 0002 the runtime-PM underflow fix), as an out-of-tree module.
#
# Copies the pristine drivers/dma/pl330.c of $KSRC into OUTDIR, applies the
# patches there and runs the kernel's module build.  The kernel source
# tree is never modified.
#
#   KSRC   kernel source (default ~/.cache/rust-dmaengine/src/linux)
#   KDIR   configured, built kernel tree with CONFIG_PL330_DMA
#          (default: scripts/kdir $BOARD)
#   BOARD  board whose cached build is the default KDIR (default zynq)
#   OUTDIR default out/pl330-sync/<basename of KDIR> in this checkout
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../../scripts/lib.sh
. "$here/../../scripts/lib.sh"

src=$(ksrc)
[ -f "$src/drivers/dma/pl330.c" ] || die "no drivers/dma/pl330.c in $src (set KSRC)"
KDIR=${KDIR:-$("$RDE_TOP/scripts/kdir" "${BOARD:-zynq}")}
[ -f "$KDIR/Module.symvers" ] || die "$KDIR is not a built kernel tree (set KDIR)"
grep -qE '^CONFIG_PL330_DMA=[ym]' "$KDIR/.config" ||
	die "$KDIR has no CONFIG_PL330_DMA"
out=${1:-$RDE_TOP/out/pl330-sync/$(basename "$KDIR")}

step "pl330_sync.ko: $src/drivers/dma/pl330.c + patches -> $out"
mkdir -p "$out"
rm -f "$out/pl330.c" "$out"/*.orig "$out"/*.rej
cp "$src/drivers/dma/pl330.c" "$here/Kbuild" "$out/"
for p in "$here"/0*.patch; do
	info "applying $(basename "$p")"
	# a/drivers/dma/pl330.c -> pl330.c
	patch -p3 -s -N -d "$out" <"$p" || die "$(basename "$p") does not apply"
done

kenv
step "make -C $KDIR M=$out ARCH=arm LLVM=-19 modules"
make -C "$KDIR" M="$out" ARCH=arm LLVM=-19 modules
[ -f "$out/pl330_sync.ko" ] || die "no pl330_sync.ko built"
info "built $out/pl330_sync.ko"
