# Board description for scripts/*: sourced, sets variables only.
# The virt board's machine and command line, without the checkers' arguments.
CHECKER_ARGS=
. "$RDE_TOP/qemu/virt/board.sh"
# Built with clang 22, the LLVM of rustc 1.95: with the same LLVM on both
# sides the kernel can inline its C helpers (rust/helpers/) into Rust code
# (CONFIG_RUST_INLINE_HELPERS), as a kernel tuned for speed would be.  Rust
# then pays no call for, e.g., an Arc's reference count, where C inlines
# refcount_dec_and_test().  The test boards keep LLVM 19.
LLVM_VERSION=22
