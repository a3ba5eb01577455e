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
# - a failed transfer is DMA_ERROR from tx_status (dmatest: "completion
#   error status");
# - with kill_lag=250000 (each killed thread reads Killing for that many
#   reads, past the interrupt handler's poll) the same holds, and nothing
#   completes or restarts before the thread reads Stopped (issue 21, hole 1);
# - bad knobs (fault_every=5000, kill_lag=20000000) are refused at load
#   with a message.
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
ktap_set_plan 11

# faults MARK [PARAMS...]: load the module with PARAMS, run dmatest on its
# first channel, keep the kernel log of the run in /tmp/MARK.log.
faults() {
	mark=$1
	shift
	kmsg_mark "$mark"
	load_mod "$mod" "$@" || ktap_exit_fail_msg "cannot load $mod $*"
	ch=$(dma_channels dma | head -n1)
	[ -n "$ch" ] || ktap_exit_fail_msg "$mod registered no channel"
	load_dmatest || ktap_exit_fail_msg "cannot load dmatest.ko"
	p=/sys/module/dmatest/parameters
	echo 0 >$p/dmatest
	echo "$it" >$p/iterations
	echo 1 >$p/threads_per_chan
	echo 4096 >$p/test_buf_size
	# Generous: a slow host must not turn a late callback into a failure.
	echo 30000 >$p/timeout
	echo 0 >$p/max_channels
	echo "$ch" >$p/channel || ktap_exit_fail_msg "dmatest refused channel $ch"
	ktap_print_msg "dmatest memcpy on $ch: $it iterations, every 4th faults ${*:-}"
	echo 1 >$p/run
	dmatest_wait "$mark" 1
	kmsg_since "$mark" >/tmp/$mark.log
	rmmod dmatest
	line=$(grep "dmatest: $ch-copy0: summary" /tmp/$mark.log)
	ktap_print_msg "${line#*dmatest: }"
}

# expect_count DESCRIPTION LOG REGEX N: ok when N lines of /tmp/LOG.log
# match REGEX.
expect_count() {
	n=$(grep -c "$3" /tmp/$2.log)
	if [ "$n" = "$4" ]; then
		ktap_test_pass "$1 ($n)"
	else
		ktap_test_fail "$1 ($n, expected $4)"
	fi
}

# expect_summary DESCRIPTION: ok when dmatest's summary shows exactly the
# injected failures.
expect_summary() {
	case $line in
	*" summary $it tests, $expect failures "*) ktap_test_pass "$1" ;;
	*) ktap_test_fail "$1" ;;
	esac
}

# expect_unload DESCRIPTION
expect_unload() {
	if rmmod "$mod"; then ktap_test_pass "$1"; else ktap_test_fail "$1"; fi
}

faults pl330-fault
expect_summary "$expect of $it transfers failed (the injected faults), the others passed, also after the last fault"
expect_count "each fault is logged by name" pl330-fault \
	"thread fault .*(undefined instruction).*transfer failed, thread reset" "$expect"
# A failed transfer is DMA_ERROR from tx_status, not DMA_COMPLETE: upstream
# dmatest then says "completion error status" (and not "data mismatch").
expect_count "each failed transfer is DMA_ERROR to dmatest" pl330-fault \
	"'completion error status'" "$expect"
expect_unload "$mod unloads after the faults"

# The same faults with each killed thread held in Killing for 250000 reads
# of its state, longer than the interrupt handler polls (100000): nothing
# may complete, and the microcode slot may not be reused, before the thread
# reads Stopped (the module's own check warns, which fails the boot, and
# says "still Killing"); the transfers still fail as errors, not timeouts.
lag=250000
faults pl330-killing kill_lag=$lag
expect_summary "kill_lag=$lag: $expect of $it transfers failed, the others passed"
expect_count "kill_lag=$lag: each killed thread is seen still Killing" pl330-killing \
	"thread not stopped after DMAKILL.*completes.*only once it stops" "$expect"
expect_count "kill_lag=$lag: nothing completed or restarted before its thread stopped" \
	pl330-killing "while its thread is still Killing" 0
expect_count "kill_lag=$lag: each failed transfer is DMA_ERROR, none timed out" \
	pl330-killing "'completion error status'" "$expect"
expect_unload "$mod unloads after kill_lag=$lag"

# expect_refused PARAM=VALUE: the load is refused, with a message naming it.
expect_refused() {
	kmsg_mark "pl330-knob-$1"
	if load_mod "$mod" "$1" 2>/dev/null; then
		rmmod "$mod"
		ktap_test_fail "$1 is refused"
	elif kmsg_since "pl330-knob-$1" | grep -q "$1 is out of range"; then
		ktap_test_pass "$1 is refused with a message"
	else
		ktap_test_fail "$1 is refused (no message)"
	fi
}

expect_refused fault_every=5000
expect_refused kill_lag=20000000

ktap_finished
