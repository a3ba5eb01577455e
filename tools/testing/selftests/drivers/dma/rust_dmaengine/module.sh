#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# module.sh: the rust_dmaengine provider's life cycle.
#
# - bad module parameters are refused at load, with a message naming them;
# - a good load registers the channels, visible in sysfs and in
#   /sys/kernel/debug/dmaengine/summary;
# - rmmod is refused while a client holds a channel, and works when idle.
DIR=$(dirname "$0")
. "$DIR/lib.sh"

ktap_print_header
ktap_set_plan 11

# refused PARAM=VALUE: the load fails and the log names the parameter.
refused() {
	kmsg_mark "bad-$1"
	if load_mod rust_dmaengine "$1" 2>/dev/null; then
		rmmod rust_dmaengine
		ktap_test_fail "$1 is refused"
		return
	fi
	if kmsg_since "bad-$1" | grep -q "${1%%=*}=.*out of range"; then
		ktap_test_pass "$1 is refused with a message"
	else
		ktap_test_fail "$1 is refused with a message (no message)"
	fi
}
refused channels=0
refused channels=33
refused burst_size=8
refused burst_delay_us=100001

# dispatch=tasklet|bh: anything else is refused, with the valid values.
kmsg_mark bad-dispatch
if load_mod rust_dmaengine dispatch=softirq 2>/dev/null; then
	rmmod rust_dmaengine
	ktap_test_fail "dispatch=softirq is refused"
elif kmsg_since bad-dispatch | grep -q "dispatch=softirq is not valid: use one of tasklet, bh"; then
	ktap_test_pass "dispatch=softirq is refused with a message naming tasklet and bh"
else
	ktap_test_fail "dispatch=softirq is refused with a message (no message)"
fi
kmsg_mark bh
if load_mod rust_dmaengine dispatch=bh channels=1 &&
	kmsg_since bh | grep -q "registered 1 channels: .*, dispatch bh" &&
	[ "$(cat /sys/module/rust_dmaengine/parameters/dispatch)" = bh ] &&
	rmmod rust_dmaengine; then
	ktap_test_pass "dispatch=bh loads and says so"
else
	ktap_test_fail "dispatch=bh loads and says so"
	rmmod rust_dmaengine 2>/dev/null
fi

kmsg_mark load
if load_mod rust_dmaengine channels=3 &&
	kmsg_since load | grep -q "registered 3 channels"; then
	ktap_test_pass "loads and registers 3 channels"
else
	ktap_test_fail "loads and registers 3 channels"
fi

# Other providers may be registered too (the PL330 on zynq is dma0).
dev=$(rde_dev)
n=$(ls -d /sys/class/dma/${dev}chan* 2>/dev/null | wc -l)
if [ "$n" = 3 ] && grep -q "$dev (rust_dmaengine): number of channels: 3" \
	/sys/kernel/debug/dmaengine/summary; then
	ktap_test_pass "channels listed in sysfs and dmaengine/summary"
else
	ktap_test_fail "channels listed in sysfs and dmaengine/summary ($n found)"
	cat /sys/kernel/debug/dmaengine/summary | sed 's/^/# /'
fi

# dmatest holds the channels it was given until it is unloaded.
load_dmatest
echo "${dev}chan0" >/sys/module/dmatest/parameters/channel
if grep -q "${dev}chan0 *|" /sys/kernel/debug/dmaengine/summary &&
	! rmmod rust_dmaengine 2>/dev/null; then
	ktap_test_pass "rmmod refused while a client holds a channel"
else
	ktap_test_fail "rmmod refused while a client holds a channel"
fi
rmmod dmatest
lsmod | grep -q '^rust_dmaengine' && ktap_test_pass "still loaded after the refused rmmod" ||
	ktap_test_fail "still loaded after the refused rmmod"

kmsg_mark unload
if rmmod rust_dmaengine && ! ls /sys/class/dma/${dev}chan0 >/dev/null 2>&1 &&
	kmsg_since unload | grep -q "rust_dmaengine: unloaded"; then
	ktap_test_pass "rmmod when idle unregisters"
else
	ktap_test_fail "rmmod when idle unregisters"
fi
ktap_finished
