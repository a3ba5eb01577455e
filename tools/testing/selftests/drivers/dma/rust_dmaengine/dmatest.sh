#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dmatest.sh [memcpy|memset] [CHANNEL-PREFIX] [ITERATIONS] [THREADS] [BUFSIZE]
#            [MAX-CHANNELS]
#
# Runs upstream dmatest against every channel whose name starts with
# CHANNEL-PREFIX (all channels when empty) and reports one KTAP case per
# dmatest thread: ok when its summary line shows 0 failures.  When no
# channel matches, it loads rust_dmaengine for the run (and unloads it
# after), so that with no arguments it tests the board's own channels where
# there are some, and the software engine where there are none.
# MAX-CHANNELS takes only the first ones of each DMA device (pl330.c and
# rust_pl330 register a channel per peripheral request line, 32 on
# exynos4210's PL330s, but have 8 threads to run them: a 9th channel in use
# at once is refused).  The
# kselftest runner passes arguments in KSELFTEST_DMATEST_SH_ARGS.
DIR=$(dirname "$0")
. "$DIR/lib.sh"

op=${1:-memcpy}
prefix=${2:-}
iterations=${3:-200}
threads=${4:-2}
bufsize=${5:-16384}
max=${6:-0}

ktap_print_header
case $op in
memcpy) mode=0 tag=copy ;;
memset) mode=1 tag=set ;;
*) ktap_skip_all "unknown dmatest operation '$op'"; exit "$KSFT_SKIP" ;;
esac

chans=$(dma_channels "$prefix")
if [ "$max" -gt 0 ]; then
	chans=$(for d in $(echo "$chans" | sed 's/chan.*//' | uniq); do
		echo "$chans" | grep "^${d}chan" | head -n "$max"
	done)
fi
loaded=
if [ -z "$chans" ] && [ -z "$(rde_dev)" ] && load_mod rust_dmaengine 2>/dev/null; then
	loaded=1
	ktap_print_msg "no DMA channel matching '$prefix': loaded rust_dmaengine"
	chans=$(dma_channels "$prefix")
fi
if [ -z "$chans" ]; then
	[ -z "$loaded" ] || rmmod rust_dmaengine
	ktap_skip_all "no DMA channel matching '$prefix'"
	exit "$KSFT_SKIP"
fi
n=0
for c in $chans; do n=$((n + threads)); done
ktap_set_plan "$n"

load_dmatest || ktap_exit_fail_msg "cannot load dmatest.ko"
p=/sys/module/dmatest/parameters
echo "$mode" >$p/dmatest
echo "$iterations" >$p/iterations
echo "$threads" >$p/threads_per_chan
echo "$bufsize" >$p/test_buf_size
echo 5000 >$p/timeout
echo 0 >$p/max_channels
kmsg_mark dmatest-$$
for c in $chans; do
	echo "$c" >$p/channel || ktap_exit_fail_msg "dmatest refused channel $c"
done
ktap_print_msg "dmatest $op: $iterations iterations, $threads threads on each of: $chans (buffer $bufsize)"
echo 1 >$p/run
dmatest_wait dmatest-$$ "$n"
kmsg_since dmatest-$$ >/tmp/dmatest.log
rmmod dmatest
[ -z "$loaded" ] || rmmod rust_dmaengine

for c in $chans; do
	t=0
	while [ $t -lt "$threads" ]; do
		line=$(grep "dmatest: $c-$tag$t: summary" /tmp/dmatest.log)
		ktap_print_msg "${line#*dmatest: }"
		case $line in
		*" summary $iterations tests, 0 failures "*)
			ktap_test_pass "$c $tag thread $t: $iterations tests, 0 failures" ;;
		"")
			ktap_test_fail "$c $tag thread $t: no summary line" ;;
		*)
			ktap_test_fail "$c $tag thread $t" ;;
		esac
		t=$((t + 1))
	done
done
ktap_finished
