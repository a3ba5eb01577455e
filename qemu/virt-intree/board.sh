# Board description for scripts/*: sourced, sets variables only.
# The virt board with the kernel that scripts/series builds in tree from the
# patch series (qemu/virt-intree/series names the board whose configuration
# it extends): same machine, same checkers.
. "$RDE_TOP/qemu/virt/board.sh"
