#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pl330.sh REPS MODE DEVICE: runs in a zynq or exynos4210 guest
# (scripts/bench/pl330).  Upstream dmatest memcpy (noverify, norandom) on
# the PL330 DEVICE (an AMBA device name, e.g. f8003000.dma-controller),
# driven by our rust_pl330.ko and by upstream pl330.ko in turn, in one
# boot: only one driver can bind the controller, so each repetition loads
# one driver, runs every size and channel count, unloads it and loads the
# other.  The order alternates (R C, C R, R C ...), so drift in the guest
# cancels out of the paired ratios.
#
# MODE timed: wall-clock iops.  MODE icount: the guest runs under QEMU
# -icount shift=0,sleep=off, where 1 ns of guest time is one guest
# instruction, so iops give instructions per transfer; in repetition 0 the
# sampling profiler (/extra/rde_prof.ko, if present) also samples 64-byte
# transfers of each driver.
#
# The deep queue: dmatest keeps one transfer in flight per thread, so each
# load also runs our client's queued mode (its test-only build
# rust_dmaengine_client_negative.ko, see queued()) on DEVICE's chan0: DEPTH copies of LEN bytes
# submitted at once, timed from the submit to the last callback (p50 of
# QITERS batches, every copy checked), for DEPTH 8 and 32 and LEN 64 and
# 4096.  Under icount the time is in instructions.  Lines:
#   RDE-PL330 mode=M provider=P size=S chans=C rep=R iops=I agg_iops=A
#     kbps=K threads_reported=N failures=F up=SECONDS
#   RDE-PL330-QUEUED mode=M provider=P len=L depth=D rep=R p50=NS p99=NS
#   RDE-PL330-PROF provider=P <rde_prof's line>
# Any run without a summary from every dmatest thread, or with a failure,
# prints RDE-PL330-ERROR and ends the guest with status 1.
reps=${1:-3}
mode=${2:-timed}
device=${3:?usage: pl330.sh REPS MODE DEVICE}
p=/sys/module/dmatest/parameters
fail() {
	echo "RDE-PL330-ERROR $*" >&2
	exit 1
}
# The timer's interrupt count, at the start and the end: QEMU's zynq
# global timer sometimes stops interrupting under host load (see
# qemu/zynq/config); ktime and dmatest still work then, timed sleeps do not.
tick() { echo "RDE-PL330-TICK $1 $(sed -n 's/^ *[0-9]*: *\([0-9]*\) .* \(gt\|mct_tick0\|MCT\)$/\2=\1/p' /proc/interrupts | tr '\n' ' ')"; }
tick start
insmod /lib/modules/dmatest.ko || fail "cannot load dmatest.ko"
echo 5000 >$p/timeout
dev_of() { # AMBA device name -> dmaN
	for c in /sys/class/dma/dma*chan0; do
		[ -e "$c" ] || continue
		d=$(basename "$(readlink -f "$c/device")")
		[ "$d" = "$1" ] && basename "$c" | sed 's/chan0$//'
	done
}
load() { # rust|c
	case $1 in
	rust) insmod /lib/modules/extra/rust_pl330.ko || fail "cannot load rust_pl330.ko" ;;
	c) insmod /lib/modules/pl330.ko || fail "cannot load pl330.ko" ;;
	esac
	dev=$(dev_of "$device")
	[ -n "$dev" ] || fail "$1: no DMA device on $device"
	echo "# $1: $device is $dev"
}
unload() { # rust|c
	echo 0 >$p/run # dmatest lets go of its channels
	case $1 in
	rust) rmmod rust_pl330 || fail "cannot unload rust_pl330" ;;
	c) rmmod pl330 || fail "cannot unload pl330" ;;
	esac
}
iters_for() { # size chans: iterations per thread
	# About 0.5 to 2 s of guest time per run on a 2-core host (TCG).
	n=2000
	case $1 in
	4096) n=1000 ;;
	65536) n=200 ;;
	esac
	[ "$mode" = icount ] && n=$((n / 2))
	[ "$2" -gt 1 ] && n=$((n / 4))
	echo $n
}
run() { # provider size chans rep [iterations]
	echo 0 >$p/run 2>/dev/null
	echo 1 >$p/noverify
	echo 1 >$p/norandom
	echo "$2" >$p/test_buf_size
	echo "${5:-$(iters_for "$2" "$3")}" >$p/iterations
	echo 1 >$p/threads_per_chan
	i=0
	while [ $i -lt "$3" ]; do
		echo "${dev}chan$i" >$p/channel || fail "dmatest refused ${dev}chan$i"
		i=$((i + 1))
	done
	dmesg -c >/dev/null
	echo 1 >$p/run
	# dmatest's wait returns at once while a thread it made has not run
	# yet (is_threaded_test_run() skips pending threads): seen on zynq
	# under icount with the profiler's timers.  Wait for every summary.
	tries=0
	while cat $p/wait >/dev/null &&
		[ "$(dmesg | grep -c 'dmatest: .*summary')" -lt "$3" ] && [ $tries -lt 300 ]; do
		sleep 1
		tries=$((tries + 1))
	done
	# iops: the sum of the threads' iops (as tools/bench/bench.sh);
	# agg_iops: all transfers over the longest thread's run time, the
	# controller's throughput when the threads do not all overlap.
	res=$(dmesg | sed -n 's/.*dmatest: .*summary \([0-9]*\) tests, \([0-9]*\) failures \([0-9.]*\) iops \([0-9]*\) KB\/s.*/\1 \2 \3 \4/p' |
		awk '{ t += $1; f += $2; i += $3; k += $4; n++
		       if ($3 > 0 && $1 / $3 > rt) rt = $1 / $3 }
		     END { printf "iops=%.2f agg_iops=%.2f kbps=%d threads_reported=%d failures=%d\n",
			   i, (rt > 0 ? t / rt : 0), k, n, f }')
	read -r up _ </proc/uptime
	echo "RDE-PL330 mode=$mode provider=$1 size=$2 chans=$3 rep=$4 $res up=$up"
	case $res in
	*" threads_reported=$3 failures=0"*) ;;
	*) fail "provider=$1 size=$2 chans=$3 rep=$4: expected $3 dmatest summaries with 0 failures, got: $res" ;;
	esac
}
D=/sys/kernel/debug/rust_dmaengine_client
queued() { # provider rep
	echo 0 >$p/run # dmatest lets go of its channels
	# Upstream pl330 has no device_synchronize, whose channels the client
	# refuses on SMP; the test-only build takes them with unsynchronized=1
	# (harmless here: every copy has called back before its synchronize).
	# Both drivers get the same build.
	insmod /lib/modules/extra/rust_dmaengine_client_negative.ko unsynchronized=1 ||
		fail "cannot load rust_dmaengine_client_negative.ko"
	echo queued >$D/scenario
	echo "${dev}chan0" >$D/channel
	qiters=40
	[ "$mode" = icount ] && qiters=20
	for len in 64 4096; do
		for depth in 8 32; do
			echo $len >$D/queue_len
			echo $depth >$D/queue_depth
			echo $qiters >$D/iterations
			if ! echo 1 >$D/run || ! grep -q '^errors: 0$' $D/results; then
				cat $D/results >&2
				fail "provider=$1 len=$len depth=$depth rep=$2: the client's queued mode failed"
			fi
			q=$(sed -n 's/^queued_[0-9]*x[0-9]*[kb]_ns: p50 \([0-9]*\) p99 \([0-9]*\)$/p50=\1 p99=\2/p' $D/results)
			[ -n "$q" ] || fail "provider=$1 len=$len depth=$depth: no queued line in the results"
			echo "RDE-PL330-QUEUED mode=$mode provider=$1 len=$len depth=$depth rep=$2 $q"
		done
	done
	rmmod rust_dmaengine_client_negative || fail "cannot unload rust_dmaengine_client_negative"
}
prof() { # provider
	[ -f /extra/rde_prof.ko ] || return 0
	insmod /extra/rde_prof.ko period_us=20 top=30 || fail "cannot load rde_prof.ko"
	run "$1" 64 1 prof >/dev/null
	dmesg -c >/dev/null
	rmmod rde_prof
	dmesg | sed -n "s/.*rde_prof: /RDE-PL330-PROF provider=$1 /p"
}
rep=0
while [ $rep -lt "$reps" ]; do
	order="rust c"
	[ $((rep % 2)) = 1 ] && order="c rust"
	for prov in $order; do
		load "$prov"
		# Warm up: the first run after a load pays for page faults and
		# the threads' first scheduling.
		run $prov 64 1 warm 200 >/dev/null
		for size in 64 512 4096 65536; do
			for chans in 1 8; do
				run $prov $size $chans $rep
			done
		done
		queued $prov $rep
		[ "$mode" = icount ] && [ $rep = 0 ] && prof "$prov"
		unload "$prov"
	done
	rep=$((rep + 1))
done
rmmod dmatest
tick end
echo "RDE-PL330-DONE mode=$mode reps=$reps"
# /init sleeps before its kmemleak scan if the file is there; the bench
# boots with kmemleak=off, and with the timer stopped that sleep would hang.
umount /sys/kernel/debug
