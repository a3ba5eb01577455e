#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pl330_periph.sh UART_CHAN UART_TX CAP_CHAN CAP_REG=VALUE NOLINE_CHAN:
# rust_pl330's peripheral transfers (slave and cyclic, over request lines),
# driven by rust_dmaengine_client:
#
# - uart_tx: MEM_TO_DEV, 3 lines of text written byte by byte into the
#   transmit register UART_TX of the console's UART, on UART_CHAN (the
#   channel of its TX request line, dmaN chan LINE): the lines
#   ("RDE-UART: line N from UART_CHAN ...") must reach the console, which
#   the rig's judge checks (they are not in the kernel log);
# - slave_sg: DEV_TO_MEM captures on CAP_CHAN from the register CAP_REG,
#   which always reads VALUE (QEMU's PL330 has no peripheral that feeds
#   it): every captured word must be VALUE; one capture terminates the
#   channel from its callback, then synchronize;
# - cyclic_stop: a cyclic capture stopped from its own period callback,
#   then synchronize: no callback after it, the data checked;
# - pcm_capture: cyclic captures driven as ALSA's dmaengine PCM drives
#   them (terminate in atomic context, synchronize, free), paused and
#   resumed on odd iterations: the position must hold still while paused;
# - slave_sg and cyclic_stop again from a source in memory (fifo mem): a
#   word at a fixed address that the client fills with a new value each
#   iteration, so a capture that kept an earlier iteration's data fails;
# - a slave transfer on NOLINE_CHAN, a channel beyond the controller's
#   request lines, is refused with a message;
# - rust_pl330 unloads.
#
# Needs a PL330 that no driver has bound.  Not in TEST_PROGS: run by the
# rig on exynos4210 and zynq (qemu/BOARD/tests), whose addresses it takes.
DIR=$(dirname "$0")
. "$DIR/lib.sh"

[ $# -eq 5 ] || {
	echo "usage: $0 UART_CHAN UART_TX CAP_CHAN CAP_REG=VALUE NOLINE_CHAN" >&2
	exit 2
}
uart_chan=$1 uart_tx=$2 cap_chan=$3 cap_fifo=$4 noline=$5
D=/sys/kernel/debug/rust_dmaengine_client
: "${MODDIR:=/lib/modules/extra}"

ktap_print_header
ktap_set_plan 9

load_mod rust_pl330 || ktap_exit_fail_msg "cannot load rust_pl330"
load_mod rust_dmaengine_client ||
	ktap_exit_fail_msg "cannot load rust_dmaengine_client"

result() {
	sed -n "s/^$1: //p" $D/results
}

# run NAME CHAN FIFO ITERATIONS: one client run; ok when it had no error
# and no late callback, and verified data.
run() {
	echo "$1" >$D/scenario && echo "$2" >$D/channel && echo "$3" >$D/fifo &&
		echo "$4" >$D/iterations || {
		ktap_test_fail "$1: cannot configure"
		return
	}
	if ! echo 1 >$D/run; then
		ktap_test_fail "$1 on $2: run failed"
		return
	fi
	sed 's/^/# /' $D/results
	if [ "$(result errors)" = 0 ] && [ "$(result late_callbacks)" = 0 ] &&
		[ "$(result callback_running_after_sync)" = 0 ] &&
		[ "$(result skipped)" = 0 ] &&
		[ "$(result verified_bytes)" -gt 0 ]; then
		ktap_test_pass "$1 on $2 (fifo $3): $4 iterations, data verified"
	else
		ktap_test_fail "$1 on $2 (fifo $3)"
	fi
}

run uart_tx "$uart_chan" "$uart_tx" 3
run slave_sg "$cap_chan" "$cap_fifo" 20
run cyclic_stop "$cap_chan" "$cap_fifo" 20
run pcm_capture "$cap_chan" "$cap_fifo" 10
if [ "$(result paused_checks)" = 5 ]; then
	ktap_test_pass "pcm_capture: 5 pauses and resumes, the position still while paused"
else
	ktap_test_fail "pcm_capture: 5 pauses and resumes, the position still while paused (got $(result paused_checks))"
fi
run slave_sg "$cap_chan" mem 20
run cyclic_stop "$cap_chan" mem 20

kmsg_mark noline
echo slave_sg >$D/scenario && echo "$noline" >$D/channel &&
	echo "$cap_fifo" >$D/fifo && echo 1 >$D/iterations && echo 1 >$D/run
sed 's/^/# /' $D/results
# A refused prep is a NULL descriptor, which the client counts as an
# allocation failure.
if [ "$(result alloc_failures)" = 1 ] && [ "$(result completed)" = 0 ] &&
	[ "$(result verified_bytes)" = 0 ] &&
	kmsg_since noline | grep -q "has no peripheral request line"; then
	ktap_test_pass "a slave transfer on $noline (no request line) is refused with a message"
else
	ktap_test_fail "a slave transfer on $noline (no request line) is refused with a message"
fi

rmmod rust_dmaengine_client
if rmmod rust_pl330; then
	ktap_test_pass "rust_pl330 unloads"
else
	ktap_test_fail "rust_pl330 unloads"
fi
ktap_finished
