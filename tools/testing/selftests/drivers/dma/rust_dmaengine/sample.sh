#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# sample.sh: the sample provider, samples/rust/rust_dma_engine.rs, as a
# module.
#
# - Its own client runs at load (a chain of copies stopped from a
#   completion callback, synchronize, data checked) and says so.
# - It registers four memcpy channels.
# - A client that holds one of its channels pins the module: rmmod is
#   refused until the client lets go.  The client is upstream dmatest,
#   which holds its channel from `run` until it is stopped.  It is stopped
#   only after its thread finished: dmatest stopped mid-transfer reports
#   "test timed out" and frees its buffers before it terminates the
#   channel (dmatest_func()), a use-after-free of its own making.  The
#   sample sits on a faux device, whose bus driver has no module, so
#   dmaengine pins nothing itself: without the reference that the
#   framework takes for the module given to Registration::new(), rmmod
#   would free the code dmatest goes on calling.
#
# contract.sh and dmatest.sh also run against the sample (qemu/virt/tests).
# MODULE (default rust_dma_engine) may be the test build
# rust_dma_engine_nopin, whose channels take no module reference: its
# rmmod goes through and dmatest faults in the freed code (the negative
# control, qemu/virt/tests: neg-module-pin).
DIR=$(dirname "$0")
. "$DIR/lib.sh"

mod=${1:-rust_dma_engine}

S=/sys/kernel/debug/dmaengine/summary
p=/sys/module/dmatest/parameters

ktap_print_header
ktap_set_plan 4

kmsg_mark sample
if load_mod "$mod" &&
	kmsg_since sample | grep -q "client: 8 chains on .*: terminate from callback, synchronize, free: ok"; then
	ktap_test_pass "the sample loads, and its client's chains stopped from a callback check out"
else
	ktap_exit_fail_msg "the sample does not load, or its client failed"
fi

dev=$(sed -n 's/^\(dma[0-9]*\) (rust_dma_engine):.*/\1/p' $S)
chans=$([ -n "$dev" ] && dma_channels "${dev}chan")
if [ "$(echo "$chans" | grep -c .)" = 4 ]; then
	ktap_test_pass "four channels registered: $(echo $chans)"
else
	ktap_exit_fail_msg "four channels registered (got: '$chans')"
fi

load_dmatest || ktap_exit_fail_msg "cannot load dmatest.ko"
echo 200 >$p/iterations
echo 1 >$p/threads_per_chan
echo 4096 >$p/test_buf_size
echo 0 >$p/max_channels
echo "${dev}chan0" >$p/channel || ktap_exit_fail_msg "dmatest refused ${dev}chan0"
kmsg_mark sample-dmatest
echo 1 >$p/run
i=0
while [ "$(cat "/sys/class/dma/${dev}chan0/in_use")" != 1 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5
if rmmod "$mod" 2>/dev/null; then
	ktap_test_fail "rmmod is refused while dmatest holds ${dev}chan0 (it was unloaded)"
else
	ktap_test_pass "rmmod is refused while dmatest holds ${dev}chan0 ($(cat "/sys/module/$mod/refcnt") references)"
fi
dmatest_wait sample-dmatest 1
echo 0 >$p/run
rmmod dmatest
if rmmod "$mod"; then
	ktap_test_pass "rmmod works once dmatest let go"
else
	ktap_test_fail "rmmod works once dmatest let go"
fi
ktap_finished
