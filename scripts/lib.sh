# SPDX-License-Identifier: GPL-2.0
# Shared helpers for scripts/*: paths of the cache and progress output.

RDE_CACHE=${RDE_CACHE:-$HOME/.cache/rust-dmaengine}
RDE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export RDE_CACHE

step() { printf '==> %s\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# kernel_version DIR: "7.3.4" from a source tree's Makefile.
kernel_version() {
	awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3}
	     END{print v "." p "." s}' "$1/Makefile"
}

ksrc() { echo "${KSRC:-$RDE_CACHE/src/linux}"; }

# llvm_version BOARD: the LLVM (clang, lld, libclang) major version that
# builds BOARD's kernel and modules: the board's LLVM_VERSION (board.sh),
# else 19.  virt-bench uses rustc's own (see qemu/virt-bench/board.sh).
llvm_version() {
	(
		LLVM_VERSION=
		# shellcheck disable=SC1090
		. "$RDE_TOP/qemu/$1/board.sh"
		echo "${LLVM_VERSION:-19}"
	)
}

rust_lib_src() {
	if [ -n "${RUST_LIB_SRC:-}" ]; then
		echo "$RUST_LIB_SRC"
	else
		echo "$RDE_CACHE/rust-src/$(rustc --version | awk '{print $2}')/usr/lib/rustlib/src/rust/library"
	fi
}

# Environment the kernel build needs for Rust (bindgen's libclang: the
# board's LLVM, from LLVM_VERSION, which board.sh may set).
kenv() {
	export LIBCLANG_PATH=/usr/lib/llvm-${LLVM_VERSION:-19}/lib
	export RUST_LIB_SRC=$(rust_lib_src)
	export PATH=$RDE_CACHE/cargo/bin:$PATH
}

# retry CMD...: run a network command up to 3 times (mirrors mid-sync).
retry() {
	local i
	for i in 1 2 3; do
		"$@" && return 0
		info "attempt $i of '$*' failed; retrying in 5 s"
		sleep 5
	done
	die "'$*' failed three times; check the network or the Debian mirror"
}

# `scripts/lib.sh FUNCTION`: print one of the defaults above (for the Makefile).
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
	case $1 in
	ksrc | rust_lib_src) "$1" ;;
	llvm_version) "$@" ;;
	*) die "lib.sh: no such query '$1'" ;;
	esac
fi
