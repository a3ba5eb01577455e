#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# forget.sh [MODULE]: a driver that forgets (mem::forget) the handle of a
# registration, then is unloaded (issue 21, item 4).  Registration::new()
# hands the registration out device-managed (a Devres on the bound
# device), so the driver's unbind, which module exit does, unregisters it
# even though no drop ever ran.  Without that, the DMA device would stay
# registered after its module's code is gone: its channels stay in
# /sys/class/dma, and the debugfs summary walked below reads a freed
# struct device (KASAN) and dmaengine calls into freed module text.
#
# MODULE (default rust_dmaengine_forget) is a test build of rust_dmaengine
# that registers a second, one-channel DMA device and forgets its
# handle.  Not in TEST_PROGS: run by the rig on virt (qemu/virt/tests).
DIR=$(dirname "$0")
. "$DIR/lib.sh"

mod=${1:-rust_dmaengine_forget}
S=/sys/kernel/debug/dmaengine/summary

ktap_print_header
ktap_set_plan 3

load_mod "$mod" channels=2 || ktap_exit_fail_msg "cannot load $mod"
devs=$(sed -n "s/^\(dma[0-9]*\) ($mod):.*/\1/p" $S)
chans=""
for d in $devs; do
	chans="$chans $(dma_channels "${d}chan")"
done
n=$(echo $devs | wc -w)
if [ "$n" = 2 ] && [ "$(echo $chans | wc -w)" = 3 ]; then
	ktap_test_pass "$mod registered two DMA devices ($devs), one forgotten"
else
	ktap_test_fail "$mod registered two DMA devices, one forgotten (found: $devs;$chans)"
fi

kmsg_mark forget
if rmmod "$mod"; then
	ktap_test_pass "$mod unloads"
else
	ktap_test_fail "$mod unloads"
fi
# Walk what dmaengine still lists: a device left registered is found here.
cat $S >/dev/null
left=""
for c in $chans; do
	[ -e /sys/class/dma/$c ] && left="$left $c"
done
if [ -z "$left" ] && ! grep -q "($mod)" $S; then
	ktap_test_pass "the forgotten registration was unregistered with the driver"
else
	ktap_test_fail "the forgotten registration was unregistered with the driver (left:$left)"
	grep "($mod)" $S | sed 's/^/# /'
fi
kmsg_since forget | grep -i 'leaked\|unregistered while' | sed 's/^/# /'
ktap_finished
