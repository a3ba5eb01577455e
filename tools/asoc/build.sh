#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/asoc/build.sh KDIR OUT: builds pcm_pause (tools/asoc/pcm_pause.c)
# for KDIR's architecture into OUT/pcm_pause: static, on the kernel's
# nolibc (tools/include/nolibc), with KDIR's uapi headers, so a guest
# without a C library runs it.  The headers are installed once per KDIR
# into OUT/sysroot.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
kdir=${1:?usage: tools/asoc/build.sh KDIR OUT}
out=${2:?usage: tools/asoc/build.sh KDIR OUT}
src=$(ksrc)
arch=$(sed -n 's/^CONFIG_ARM64=y$/arm64/p; s/^CONFIG_ARM=y$/arm/p' "$kdir/.config" | head -n1)
case $arch in
arm64) target=aarch64-linux-gnu ;;
arm) target=arm-linux-gnueabi ;;
*) die "tools/asoc/build.sh: no target for the architecture of $kdir" ;;
esac
mkdir -p "$out"
out=$(cd "$out" && pwd)
sys=$out/sysroot
if [ ! -f "$sys/include/nolibc.h" ] || [ "$kdir/.config" -nt "$sys/include/nolibc.h" ]; then
	rm -rf "$sys"
	make -s -C "$src" O="$kdir" ARCH="$arch" LLVM=-"${LLVM_VERSION:-19}" \
		headers_install INSTALL_HDR_PATH="$sys" >/dev/null
	make -s -C "$src/tools/include/nolibc" headers OUTPUT="$out/" ARCH="$arch" >/dev/null
fi
clang-"${LLVM_VERSION:-19}" --target=$target -nostdlib -nostdinc -static -ffreestanding \
	-fno-stack-protector -Os -Wall -Wextra -Werror -I"$sys/include" -include nolibc.h \
	-fuse-ld=lld -o "$out/pcm_pause" "$RDE_TOP/tools/asoc/pcm_pause.c"
