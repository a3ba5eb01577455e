#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# release_race.sh [MODULE]: the device is released by a client's
# dma_release_channel() after the provider unregistered it (issue 21,
# hole 2).  dma_release_channel() calls the provider's device_release
# under dma_list_mutex and then goes on writing the channel
# (chan->dbg_client_name, chan->slave): the provider must not free the
# channel before that mutex is released.
#
# MODULE (default rust_dmaengine_release_race) is a test build of
# rust_dmaengine with a sysfs unbind file and the window widened: its
# Registration::drop sleeps 1 s between the unregister and the look at the
# released flag, and its device_release sleeps 1.5 s after setting it.
# dmatest holds a channel; the provider is unbound in the background; the
# channel is released 0.3 s later, inside the window.  With
# rust_dmaengine_release_race_nobarrier (the free not serialised on
# dma_list_mutex) KASAN must report a use-after-free: the negative control,
# run by the rig outside KTAP.  Not in TEST_PROGS: run by the rig on virt
# (qemu/virt/tests).
DIR=$(dirname "$0")
. "$DIR/lib.sh"

mod=${1:-rust_dmaengine_release_race}
P=/sys/module/dmatest/parameters

ktap_print_header
ktap_set_plan 3

load_mod "$mod" channels=1 || ktap_exit_fail_msg "cannot load $mod"
dev=$(sed -n "s/^\(dma[0-9]*\) ($mod):.*/\1/p" /sys/kernel/debug/dmaengine/summary)
chan=$(dma_channels "${dev}chan" | head -n1)
[ -n "$chan" ] || ktap_exit_fail_msg "$mod registered no channel"
load_dmatest || ktap_exit_fail_msg "cannot load dmatest.ko"
echo 2 >$P/iterations
echo 1 >$P/threads_per_chan
echo 4096 >$P/test_buf_size
echo "$chan" >$P/channel
echo 1 >$P/run
cat $P/wait >/dev/null
# dmatest holds $chan until it is told to stop.
if grep -q "$chan" /sys/kernel/debug/dmaengine/summary &&
	[ "$(cat /sys/class/dma/$chan/in_use)" = 1 ]; then
	ktap_test_pass "dmatest holds $chan after its run"
else
	ktap_test_fail "dmatest holds $chan after its run"
fi

kmsg_mark release-race
echo "$mod" >/sys/bus/platform/drivers/$mod/unbind &
unbind=$!
sleep 0.3
echo 0 >$P/run
wait $unbind
rc=$?
if [ $rc = 0 ] && [ ! -e /sys/class/dma/$chan ]; then
	ktap_test_pass "the provider unbinds while dmatest releases $chan"
else
	ktap_test_fail "the provider unbinds while dmatest releases $chan (rc $rc)"
fi
rmmod dmatest
if rmmod "$mod"; then
	ktap_test_pass "$mod unloads"
else
	ktap_test_fail "$mod unloads"
fi
kmsg_since release-race | grep -i 'leaked\|unregistered while' && \
	ktap_print_msg "(the drop found the channel held: the window was missed)"
ktap_finished
