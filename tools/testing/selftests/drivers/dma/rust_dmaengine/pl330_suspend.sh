#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pl330_suspend.sh CAP_CHAN CAP_REG=VALUE: system sleep with rust_pl330,
# through /sys/power/pm_test=platform (the devices go through every suspend
# phase, late and noirq included, where rust_pl330's callbacks are, and
# resume, without sleeping, which QEMU cannot; "devices" stops before the
# late phase):
#
# - idle: the sleep goes through, rust_pl330 reports "suspended: no
#   transfer in flight" and "resumed", and captures on CAP_CHAN from
#   CAP_REG afterwards are checked as in pl330_periph.sh;
# - a transfer in flight: the fault-test build with go_defer_ms=5000 (a
#   DMAGO takes effect 5 s later) under upstream dmatest; the sleep is
#   refused (the write to /sys/power/state fails, "system sleep refused"
#   in the log), and the copies then complete, verified;
# - runtime PM: a second after its last channel is released the
#   controller is runtime-suspended; while dmatest holds a channel it is
#   active (and no "usage count underflow" report, which the judge fails);
# - rust_pl330 unloads.
#
# Needs CONFIG_PM_SLEEP_DEBUG and a PL330 that no driver has bound.  Not in
# TEST_PROGS: run by the rig on exynos4210 (qemu/exynos4210/tests).
DIR=$(dirname "$0")
. "$DIR/lib.sh"

[ $# -eq 2 ] || {
	echo "usage: $0 CAP_CHAN CAP_REG=VALUE" >&2
	exit 2
}
cap_chan=$1 cap_fifo=$2
D=/sys/kernel/debug/rust_dmaengine_client
: "${MODDIR:=/lib/modules/extra}"

ktap_print_header
[ -w /sys/power/pm_test ] || {
	ktap_skip_all "no /sys/power/pm_test (CONFIG_PM_SLEEP_DEBUG)"
	exit "$KSFT_SKIP"
}
ktap_set_plan 8
state=freeze
grep -qw mem /sys/power/state && state=mem
echo platform >/sys/power/pm_test
[ -w /sys/module/suspend/parameters/pm_test_delay ] &&
	echo 1 >/sys/module/suspend/parameters/pm_test_delay
ktap_print_msg "pm_test=platform, state $state"

load_mod rust_pl330 || ktap_exit_fail_msg "cannot load rust_pl330"
rpm=/sys/class/dma/$cap_chan/device/power/runtime_status
# rpm_is STATE WHAT: a case, ok when the controller's runtime status is
# STATE.
rpm_is() {
	if [ "$(cat $rpm)" = "$1" ]; then
		ktap_test_pass "runtime PM: $2: $1"
	else
		ktap_test_fail "runtime PM: $2: $1 (got $(cat $rpm))"
	fi
}
sleep 1.5
rpm_is suspended "idle for a second after probe"
kmsg_mark idle
if echo $state >/sys/power/state &&
	kmsg_since idle | grep -q "suspended: no transfer in flight" &&
	kmsg_since idle | grep -q "rust_pl330.*resumed"; then
	ktap_test_pass "idle: the devices suspend and resume"
else
	ktap_test_fail "idle: the devices suspend and resume"
fi

load_mod rust_dmaengine_client ||
	ktap_exit_fail_msg "cannot load rust_dmaengine_client"
echo slave_sg >$D/scenario && echo "$cap_chan" >$D/channel &&
	echo "$cap_fifo" >$D/fifo && echo 5 >$D/iterations && echo 1 >$D/run
sed 's/^/# /' $D/results
if grep -qx "errors: 0" $D/results && ! grep -qx "verified_bytes: 0" $D/results; then
	ktap_test_pass "after resume: captures on $cap_chan, data verified"
else
	ktap_test_fail "after resume: captures on $cap_chan, data verified"
fi
rmmod rust_dmaengine_client
rmmod rust_pl330

load_mod rust_pl330_fault_test fault_every=0 go_defer_ms=5000 ||
	ktap_exit_fail_msg "cannot load rust_pl330_fault_test"
ch=$(dma_channels dma | head -n1)
load_dmatest || ktap_exit_fail_msg "cannot load dmatest.ko"
p=/sys/module/dmatest/parameters
echo 0 >$p/dmatest
echo 2 >$p/iterations
echo 1 >$p/threads_per_chan
echo 4096 >$p/test_buf_size
echo 30000 >$p/timeout
echo 0 >$p/max_channels
echo "$ch" >$p/channel || ktap_exit_fail_msg "dmatest refused channel $ch"
kmsg_mark busy
echo 1 >$p/run
sleep 1
rpm_is active "while dmatest holds a channel"
if echo $state >/sys/power/state 2>/dev/null; then
	ktap_test_fail "in flight: the sleep is refused"
elif kmsg_since busy | grep -q "system sleep refused"; then
	ktap_test_pass "in flight: the sleep is refused"
else
	ktap_test_fail "in flight: the sleep is refused (failed without our message)"
fi
dmatest_wait busy 1
line=$(kmsg_since busy | grep "dmatest: $ch-copy0: summary")
ktap_print_msg "${line#*dmatest: }"
rmmod dmatest
sleep 1.5
rpm_is suspended "a second after dmatest released its channel"
case $line in
*" summary 2 tests, 0 failures "*) ktap_test_pass "in flight: the copies complete afterwards, verified" ;;
*) ktap_test_fail "in flight: the copies complete afterwards, verified" ;;
esac
if rmmod rust_pl330_fault_test; then
	ktap_test_pass "rust_pl330 unloads"
else
	ktap_test_fail "rust_pl330 unloads"
fi
echo none >/sys/power/pm_test
ktap_finished
