#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pl330_fault.sh [MODULE] [ITERATIONS]: the fault path of rust_pl330, with
# its fault-test build (default rust_pl330_fault_test.ko), in which every
# 4th descriptor of a channel starts with an undefined instruction.  Upstream
# dmatest copies ITERATIONS (default 42) buffers on one channel:
#
# - exactly ITERATIONS/4 of them fail (their data is not copied), the others
#   pass, including those after the last fault (ITERATIONS is not a
#   multiple of 4): the channel recovers;
# - each fault is logged, naming the fault ("undefined instruction");
# - the module unloads afterwards (kmemleak and lockdep are the judge's);
# - a bad knob (fault_every=5000) is refused at load with a message.
#
# Needs a PL330 that no driver has bound (zynq: upstream pl330 is a module
# that is not loaded).  Not in TEST_PROGS: run by the rig on zynq
# (qemu/zynq/tests).
DIR=$(dirname "$0")
. "$DIR/lib.sh"

mod=${1:-rust_pl330_fault_test}
it=${2:-42}
expect=$((it / 4))

ktap_print_header
ktap_set_plan 4

kmsg_mark pl330-fault
load_mod "$mod" || ktap_exit_fail_msg "cannot load $mod"
ch=$(dma_channels dma | head -n1)
[ -n "$ch" ] || ktap_exit_fail_msg "$mod registered no channel"
load_dmatest || ktap_exit_fail_msg "cannot load dmatest.ko"
p=/sys/module/dmatest/parameters
echo 0 >$p/dmatest
echo "$it" >$p/iterations
echo 1 >$p/threads_per_chan
echo 4096 >$p/test_buf_size
echo 5000 >$p/timeout
echo 0 >$p/max_channels
echo "$ch" >$p/channel || ktap_exit_fail_msg "dmatest refused channel $ch"
ktap_print_msg "dmatest memcpy on $ch: $it iterations, every 4th faults"
echo 1 >$p/run
cat $p/wait >/dev/null
kmsg_since pl330-fault >/tmp/pl330-fault.log
rmmod dmatest

line=$(grep "dmatest: $ch-copy0: summary" /tmp/pl330-fault.log)
ktap_print_msg "${line#*dmatest: }"
case $line in
*" summary $it tests, $expect failures "*)
	ktap_test_pass "$expect of $it transfers failed (the injected faults), the others passed, also after the last fault" ;;
*)
	ktap_test_fail "$expect of $it transfers failed (the injected faults), the others passed" ;;
esac

n=$(grep -c "thread fault .*(undefined instruction).*transfer failed, thread reset" /tmp/pl330-fault.log)
if [ "$n" = "$expect" ]; then
	ktap_test_pass "each fault is logged by name ($n)"
else
	ktap_test_fail "each fault is logged by name ($n of $expect)"
fi

if rmmod "$mod"; then
	ktap_test_pass "$mod unloads after the faults"
else
	ktap_test_fail "$mod unloads after the faults"
fi

kmsg_mark pl330-knobs
if load_mod "$mod" fault_every=5000 2>/dev/null; then
	rmmod "$mod"
	ktap_test_fail "fault_every=5000 is refused"
elif kmsg_since pl330-knobs | grep -q "fault_every=5000 is out of range"; then
	ktap_test_pass "fault_every=5000 is refused with a message"
else
	ktap_test_fail "fault_every=5000 is refused (no message)"
fi

ktap_finished
