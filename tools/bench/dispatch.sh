#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dispatch.sh REPS [LAT_ITERATIONS] [DMATEST_ITERATIONS]: runs in the bench
# guest (scripts/bench/run, make bench BENCH=dispatch).  Tasklet against BH-work
# callback dispatch (Documentation/dispatch.rst), Rust (rust_dmaengine
# dispatch=) and C twin (rde_c_twin on rde_virt_dma, dispatch=), side by
# side in one boot, idle and under load:
#   idle     nothing else runs;
#   hog      a busy shell loop at the same priority (nice 0) on the CPU;
#   softirq  rde_softirq_load: 2 soft hrtimers, each spinning 200 us every
#            1 ms in softirq context (40% of the CPU before TCG's timer
#            overhead), which pushes softirqs to ksoftirqd;
#   both     hog and softirq together: ksoftirqd then competes with the
#            hog, the case of the ~10 ms callbacks upstream reported.
# For each: the client's latency mode (submit to callback, synchronize
# costs; p50, p99, p99.9) and dmatest iops at 64 B and 4 KiB (1 channel, 1
# thread).  The order of the modes alternates per repetition.  Lines:
#   RDE-DISP kind=lat provider=P dispatch=D load=L rep=R metric=M p50=NS p99=NS p999=NS
#   RDE-DISP kind=iops provider=P dispatch=D load=L rep=R size=S iops=I
reps=${1:-1}
lat_iters=${2:-500}
dt_iters=${3:-1000}
M=/lib/modules/extra
p=/sys/module/dmatest/parameters
D=/sys/kernel/debug/rust_dmaengine_client
hog=

load_provider() { # provider dispatch
	case $1 in
	rust) insmod $M/rust_dmaengine.ko channels=1 dispatch="$2" ;;
	c) insmod /extra/rde_c_twin.ko channels=1 dispatch="$2" ;;
	esac
}
unload_provider() {
	case $1 in
	rust) rmmod rust_dmaengine ;;
	c) rmmod rde_c_twin ;;
	esac
}
dev_of() { # provider module name -> dmaN
	for c in /sys/class/dma/dma*chan0; do
		d=$(basename "$(readlink -f "$c/device")")
		case $d in "$1") basename "$c" | sed 's/chan0$//' ;; esac
	done
}
load_on() { # load
	case $1 in
	hog | both)
		taskset -c 0 sh -c 'while :; do :; done' &
		hog=$!
		;;
	esac
	case $1 in
	softirq | both) insmod /extra/rde_softirq_load.ko timers=2 period_us=1000 work_us=200 ;;
	esac
}
load_off() {
	[ -n "$hog" ] && kill "$hog" && wait "$hog" 2>/dev/null
	hog=
	rmmod rde_softirq_load 2>/dev/null
}
iops() { # provider dispatch load rep dev size
	insmod /lib/modules/dmatest.ko
	echo 1 >$p/noverify
	echo 1 >$p/norandom
	echo "$6" >$p/test_buf_size
	echo "$dt_iters" >$p/iterations
	echo 1 >$p/threads_per_chan
	echo "${5}chan0" >$p/channel
	echo "<6>rde-dispatch: mark $1-$2-$3-$4-$6" >/dev/kmsg
	echo 1 >$p/run
	cat $p/wait >/dev/null
	# The thread's summary may reach the log just after `wait` returns.
	for _ in 1 2 3 4 5; do
		n=$(dmesg | sed -n "/rde-dispatch: mark $1-$2-$3-$4-$6\$/,\$p" |
			sed -n 's/.*summary [0-9]* tests, \([0-9]*\) failures \([0-9.]*\) iops.*/\1 \2/p')
		[ -n "$n" ] && break
		sleep 1
	done
	rmmod dmatest
	set -- "$1" "$2" "$3" "$4" "$5" "$6" $n
	if [ -z "${8:-}" ]; then
		echo "RDE-DISP-ERROR provider=$1 dispatch=$2 load=$3 rep=$4 size=$6: no dmatest summary"
	else
		echo "RDE-DISP kind=iops provider=$1 dispatch=$2 load=$3 rep=$4 size=$6 iops=$8 failures=$7"
	fi
}
latency() { # provider dispatch load rep dev
	insmod $M/rust_dmaengine_client.ko || return
	echo latency >$D/scenario
	echo "${5}chan0" >$D/channel
	echo "$lat_iters" >$D/iterations
	if echo 1 >$D/run; then
		sed -n 's/^\([a-z0-9_]*\)_ns: p50 \([0-9]*\) p99 \([0-9]*\) p999 \([0-9]*\)$/\1 \2 \3 \4/p' $D/results |
			while read -r m a b c; do
				echo "RDE-DISP kind=lat provider=$1 dispatch=$2 load=$3 rep=$4 metric=$m p50=$a p99=$b p999=$c"
			done
		grep -q '^errors: 0$' $D/results ||
			echo "RDE-DISP-ERROR provider=$1 dispatch=$2 load=$3 rep=$4: latency errors"
	else
		echo "RDE-DISP-ERROR provider=$1 dispatch=$2 load=$3 rep=$4: latency run failed"
	fi
	rmmod rust_dmaengine_client
}

insmod /extra/rde_virt_dma.ko || exit 1
echo "# dispatch bench: $reps repetitions, latency $lat_iters iterations, dmatest $dt_iters"
rep=0
while [ $rep -lt "$reps" ]; do
	if [ $((rep % 2)) = 0 ]; then modes="tasklet bh"; else modes="bh tasklet"; fi
	for load in idle hog softirq both; do
		for prov in rust c; do
			for mode in $modes; do
				load_provider $prov $mode || {
					echo "RDE-DISP-ERROR provider=$prov dispatch=$mode: cannot load"
					continue
				}
				name=rust_dmaengine
				[ $prov = c ] && name=rde_c_twin
				dev=$(dev_of $name)
				t0=$(cut -d. -f1 /proc/uptime)
				load_on $load
				latency $prov $mode $load $rep "$dev"
				iops $prov $mode $load $rep "$dev" 64
				iops $prov $mode $load $rep "$dev" 4096
				load_off
				unload_provider $prov
				echo "# $prov $mode $load rep $rep: $(($(cut -d. -f1 /proc/uptime) - t0)) s"
			done
		done
	done
	rep=$((rep + 1))
done
rmmod rde_virt_dma
echo "RDE-DISP-DONE"
