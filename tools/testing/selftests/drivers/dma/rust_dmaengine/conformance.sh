#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# conformance.sh [CHANNEL-PREFIX [MODULE [PARAM...]]]: the termination
# contract of Documentation/driver-api/dmaengine/{client,provider}.rst,
# checked on any provider's DMA_MEMCPY channel through
# rust_dmaengine_client's debugfs interface.
#
# MODULE (with PARAMs) is loaded first and unloaded at the end; "-" uses a
# provider that is already there (built in, or loaded by the caller, e.g.
# upstream pl330 or zynqmp_dma).  Default: "dma0chan rust_dmaengine
# burst_size=1024 burst_delay_us=100", our software engine, slowed so that
# terminates land mid-transfer.  The kselftest runner passes the arguments
# in KSELFTEST_CONFORMANCE_SH_ARGS, e.g. "dma0chan -".
#
# One KTAP result per rule, and a line "# case NAME FAILURES RUNS" before
# each for scripts/sweep's table:
#   device_synchronize        the provider has one (a provider without one
#                             is reported here, and the racing cases still
#                             run through the client's test-only opt-in)
#   terminate_from_callback   terminate_async from a completion callback
#                             stops the chain; the completed part is right
#   synchronize_waits         synchronize returns only after a callback
#                             that is still running has returned (SMP)
#   no_write_after_sync       no engine write lands after synchronize (SMP)
#   no_callback_after_sync    no callback runs after the one that
#                             terminated for a transfer that was not
#                             complete by then ("no callback functions will
#                             be called for any incomplete transfers",
#                             client.rst), nor after synchronize
#   terminate_sync_inflight   terminate_sync from process context while the
#                             chain runs; the completed prefix is right
#   not_nested                no callback runs inside the client's own call
#                             (issue_pending), only in deferred context
#   new_batch_after_sync      the channel takes and completes new work
#                             after a terminate and synchronize
#   status_after_terminate    tx_status and residue right after a
#                             terminate agree with what called back
#
# On SMP the script runs pinned to the last CPU, so that the waiter in
# dmaengine_synchronize() sits on another CPU than the interrupt and the
# callbacks.  A provider that hangs in a case leaves the last "# running
# NAME" line as the evidence (scripts/sweep reports it as a hang).
DIR=$(dirname "$0")
. "$DIR/lib.sh"

ncpu=$(grep -c ^processor /proc/cpuinfo)
if [ "$ncpu" -gt 1 ] && [ -z "${CONTRACT_PINNED:-}" ] && command -v taskset >/dev/null; then
	CONTRACT_PINNED=$((ncpu - 1)) exec taskset -c $((ncpu - 1)) sh "$0" "$@"
fi

if [ $# = 0 ]; then
	set -- dma0chan rust_dmaengine burst_size=1024 burst_delay_us=100
fi
prefix=$1
module=${2:--}
[ $# -ge 2 ] && shift 2 || shift $#
D=/sys/kernel/debug/rust_dmaengine_client
ITER=20

ktap_print_header
[ -n "${CONTRACT_PINNED:-}" ] && echo "# pinned to CPU $CONTRACT_PINNED of $ncpu"
ktap_set_plan 9

if [ "$module" != - ]; then
	# shellcheck disable=SC2068 # the parameters are words
	load_mod "$module" $@ || ktap_exit_fail_msg "cannot load $module $*"
fi
ch=$(dma_channels "$prefix" | head -n1)
[ -n "$ch" ] || ktap_exit_fail_msg "no channel $prefix* registered: load its provider first"
drv=$(basename "$(readlink -f "/sys/class/dma/$ch/device/driver")")
echo "# channel: $ch, device $(basename "$(readlink -f "/sys/class/dma/$ch/device")"), driver $drv, $ncpu CPU(s)"

# device_synchronize: the plain client refuses a channel without one.
kmsg_mark sync
if load_mod rust_dmaengine_client 2>/dev/null; then
	sync=yes
	client=rust_dmaengine_client
elif kmsg_since sync | grep -q "has no device_synchronize"; then
	sync=no
	# The racing cases still run: the client's single-CPU opt-in, or on
	# SMP its test-only build, which accepts the opt-in anyway.
	client=rust_dmaengine_client
	[ "$ncpu" -gt 1 ] && client=rust_dmaengine_client_negative
	load_mod $client unsynchronized=1 ||
		ktap_exit_fail_msg "cannot load $client unsynchronized=1"
	echo "# TEST ONLY: $client unsynchronized=1: the provider has no device_synchronize"
else
	ktap_exit_fail_msg "rust_dmaengine_client does not load: $(kmsg_since sync | tail -n 3)"
fi
echo "# conformance: driver=$drv channel=$ch cpus=$ncpu synchronize=$sync"
echo "$ch" >$D/channel || ktap_exit_fail_msg "the client does not take channel $ch"
[ "$ncpu" = 1 ] && echo 0 >$D/callback_hold_us

# case NAME FAILURES RUNS [DETAIL]: one result.
case_result() {
	reported="$reported $1"
	echo "# case $1 $2 $3"
	if [ "$2" = 0 ]; then
		ktap_test_pass "$1 ($3 runs${4:+, $4})"
	else
		ktap_test_fail "$1 ($2 of $3 failed${4:+, $4})"
	fi
}
case_skip() {
	reported="$reported $1"
	echo "# case $1 - -"
	ktap_test_skip "$1: $2"
}
result() {
	sed -n "s/^$1: //p" $D/results
}
# run SCENARIO ITERATIONS RULES: one client run, for RULES; its results
# are logged.  A run that does not return within CONFORMANCE_TIMEOUT
# seconds (default 300) is a hang: its RULES fail as "hang", the rules not
# yet reported are skipped as not run, and the script ends (the stuck
# writer cannot be killed; the guest can still be shut down).
run() {
	echo "# running $1"
	echo "$1" >$D/scenario && echo "$2" >$D/iterations || return 1
	rcf=/tmp/conformance.$$.rc
	rm -f $rcf
	(
		echo 1 >$D/run
		echo $? >$rcf
	) &
	t=0
	while [ ! -f $rcf ] && [ $t -lt "${CONFORMANCE_TIMEOUT:-300}" ]; do
		sleep 1
		t=$((t + 1))
	done
	if [ ! -f $rcf ]; then
		echo "# HANG: $1 did not return within ${t}s"
		# For the rig's guest (scripts/guest/init): skip the kmemleak
		# scan, which would wait forever behind the stalled CPU.
		echo "$drv stalled in $1" >/tmp/rde-wedged
		for c in $ALL; do
			case " $reported " in *" $c "*) continue ;; esac
			case " $3 " in
			*" $c "*)
				echo "# case $c hang -"
				ktap_test_fail "$c: hang (in $1)"
				;;
			*)
				echo "# case $c - -"
				ktap_test_skip "$c: not run, the channel hung in $1"
				;;
			esac
		done
		ktap_finished
	fi
	rc=$(cat $rcf)
	if [ "$rc" != 0 ]; then
		# No results of this run: each of its rules fails whole.
		echo "# the run failed; the kernel log says:"
		dmesg | tail -n 5 | sed 's/^/#   /'
		for c in $3; do
			case_result "$c" "$2" "$2" "the run failed"
		done
		return 1
	fi
	sed 's/^/#   /' $D/results
}
ALL="device_synchronize terminate_from_callback synchronize_waits no_write_after_sync \
terminate_sync_inflight new_batch_after_sync no_callback_after_sync not_nested status_after_terminate"
reported=

if [ $sync = yes ]; then
	case_result device_synchronize 0 1
else
	case_result device_synchronize 1 1 "the provider has none: dmaengine_synchronize() does nothing"
fi

nested=0 late=0 ran=0
if run async_in_callback $ITER "terminate_from_callback synchronize_waits no_write_after_sync"; then
	f=$(($(result errors) + $(result late_callbacks)))
	[ "$(result verified_bytes)" -gt 0 ] || f=$((f + 1))
	case_result terminate_from_callback $f $ITER \
		"$(result aborted) later transfers aborted, $(result complete_after_terminate) complete ones called back after it"
	late=$(result late_callbacks)
	nested=$((nested + $(result nested_callbacks)))
	ran=$((ran + ITER))
	if [ "$ncpu" = 1 ]; then
		case_skip synchronize_waits "one CPU: no callback can run while synchronize runs"
		case_skip no_write_after_sync "one CPU: the check needs a callback held on another CPU"
	else
		case_result synchronize_waits "$(result callback_running_after_sync)" $ITER
		case_result no_write_after_sync "$(result writes_after_sync)" $ITER
	fi
fi

if run sync_inflight $ITER "terminate_sync_inflight status_after_terminate"; then
	f=$(result errors)
	[ "$(result verified_bytes)" -gt 0 ] || f=$((f + 1))
	late=$((late + $(result late_callbacks)))
	nested=$((nested + $(result nested_callbacks)))
	ran=$((ran + ITER))
	case_result terminate_sync_inflight "$f" $ITER
	case_result status_after_terminate "$(result status_errors)" $ITER
fi

if run async_in_callback 5 new_batch_after_sync; then
	f=$(result errors)
	[ "$(result completed)" -ge 5 ] || f=$((f + 1))
	late=$((late + $(result late_callbacks)))
	nested=$((nested + $(result nested_callbacks)))
	ran=$((ran + 5))
	case_result new_batch_after_sync "$f" 5
fi

if [ $ran = 0 ]; then
	case_skip no_callback_after_sync "no run finished"
	case_skip not_nested "no run finished"
else
	case_result no_callback_after_sync $late $ran
	case_result not_nested $nested $ran
fi

rmmod $client
if [ "$module" != - ]; then
	rmmod "$module" || echo "# cannot unload $module"
fi
ktap_finished
