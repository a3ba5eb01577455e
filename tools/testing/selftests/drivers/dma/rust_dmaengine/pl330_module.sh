#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pl330_module.sh [DEVICE]: rust_pl330's life cycle on a PL330 that no
# driver has bound (zynq: upstream pl330 is a module, not loaded):
#
# - rust_pl330 binds the device, with no sysfs unbind file;
# - rmmod is refused while a client (dmatest) holds a channel, and the
#   channel keeps working;
# - rmmod works when idle, and leaves the device unbound;
# - then upstream pl330 binds the same device in the same boot, and
#   dmatest passes on it: our driver left the controller in a usable state.
#
# Not in TEST_PROGS (it needs the free PL330 and upstream pl330.ko): the
# rig runs it on zynq (qemu/zynq/tests).
DIR=$(dirname "$0")
. "$DIR/lib.sh"

dev=${1:-f8003000.dma-controller}
drv=/sys/bus/amba/drivers/rust_pl330

ktap_print_header
ktap_set_plan 6

# dmatest_run CHANNEL ITERATIONS: a verified memcpy run, in the background
# when ITERATIONS is 0 (until `echo 0 >run`).
p=/sys/module/dmatest/parameters
dmatest_setup() {
	load_dmatest || ktap_exit_fail_msg "cannot load dmatest.ko"
	echo 0 >$p/dmatest
	echo "$2" >$p/iterations
	echo 1 >$p/threads_per_chan
	echo 4096 >$p/test_buf_size
	echo 5000 >$p/timeout
	echo 0 >$p/max_channels
	echo "$1" >$p/channel || ktap_exit_fail_msg "dmatest refused $1"
}

load_mod rust_pl330 || ktap_exit_fail_msg "cannot load rust_pl330"
if [ -e "$drv/$dev" ] && [ ! -e "$drv/unbind" ]; then
	ktap_test_pass "rust_pl330 binds $dev, without an unbind file"
else
	ktap_test_fail "rust_pl330 binds $dev, without an unbind file"
fi

ch=$(dma_channels dma | head -n1)
kmsg_mark busy
dmatest_setup "$ch" 0
echo 1 >$p/run
if rmmod rust_pl330 2>/dev/null; then
	ktap_test_fail "rmmod refused while dmatest holds $ch"
else
	ktap_test_pass "rmmod refused while dmatest holds $ch"
fi
echo 0 >$p/run
cat $p/wait >/dev/null
line=$(kmsg_since busy | grep "dmatest: $ch-copy0: summary")
ktap_print_msg "${line#*dmatest: }"
case $line in
*" 0 failures "*) ktap_test_pass "the channel kept working: 0 failures" ;;
*) ktap_test_fail "the channel kept working" ;;
esac
rmmod dmatest

if rmmod rust_pl330 && [ ! -e "$drv" ] && [ -z "$(dma_channels dma)" ]; then
	ktap_test_pass "rmmod when idle unbinds and unregisters"
else
	ktap_test_fail "rmmod when idle unbinds and unregisters"
fi

if insmod /lib/modules/pl330.ko && [ -e /sys/bus/amba/drivers/dma-pl330/"$dev" ]; then
	ktap_test_pass "upstream pl330 binds $dev after rust_pl330"
else
	ktap_test_fail "upstream pl330 binds $dev after rust_pl330"
fi
kmsg_mark upstream
ch=$(dma_channels dma | head -n1)
dmatest_setup "$ch" 50
echo 1 >$p/run
dmatest_wait upstream 1
line=$(kmsg_since upstream | grep "dmatest: $ch-copy0: summary")
ktap_print_msg "${line#*dmatest: }"
case $line in
*" summary 50 tests, 0 failures "*) ktap_test_pass "upstream pl330 copies after rust_pl330: 50 tests, 0 failures" ;;
*) ktap_test_fail "upstream pl330 copies after rust_pl330" ;;
esac
rmmod dmatest
rmmod pl330
ktap_finished
