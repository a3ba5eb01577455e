# Board description for scripts/*: sourced, sets variables only.
# The virt board's machine and command line, without the checkers' arguments.
CHECKER_ARGS=
. "$RDE_TOP/qemu/virt/board.sh"
