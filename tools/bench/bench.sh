#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh REPS [MODE]: runs in the bench guest (scripts/bench/run).
#
# MODE queued: only the queued bandwidth (also the last part of timed):
# REPS times CPU memcpy, then, for each provider loaded with chain=0 (one
# descriptor per interrupt) and with chain=$CHAIN (the deep queue), the
# client's queued mode with N = 1, 8, 32 copies of 64 KiB in flight.
# Lines:
#   RDE-QUEUED provider=P chain=C depth=N rep=R p50=NS p99=NS cpu_p50=NS
# (cpu_p50: the CPU copying as many fresh buffers, the same working set).
#
# MODE timed (default): loads both providers and the client, then REPS
# times: CPU memcpy; for each size, channel count and thread count, upstream
# dmatest (noverify, norandom) on rust_dmaengine and on the C twin,
# alternated; and the client's latency mode on each.  Lines:
#   RDE-BENCH provider=P size=S chans=C threads=T rep=R iops=I kbps=K ...
#   RDE-LAT provider=P metric=M rep=R p50=NS p99=NS
#
# MODE icount: the guest runs under QEMU -icount shift=0 on one CPU, where
# one nanosecond of guest time is one guest instruction.  dmatest iops then
# give instructions per transfer, without timing noise: REPS times each
# size on both providers, back to back; then the latency mode gives
# instructions per operation, and rde_prof samples where they go.  Lines:
#   RDE-ICOUNT provider=P size=S chans=1 threads=1 rep=R iops=I ...
#   RDE-LAT ... (in instructions), RDE-PROF provider=P ...
reps=${1:-3}
mode=${2:-timed}
M=/lib/modules/extra
p=/sys/module/dmatest/parameters
# The C twin's private virt-dma (tasklet or BH-work dispatch), which
# rde_c_twin needs; it stays loaded.
# The fair deadline server's accounting (update_curr_dl_se and co.) runs
# while it is active, and whether it is depends on the scheduler's
# history, not on the provider: about 200 instructions per transfer that
# fell on one provider's runs and not the other's, in either order.  Off
# for the benchmark.  So are EEVDF's delayed dequeue and lag-based
# placement: with them a wakeup costs what the history of the run queue
# says (sleepers kept in the tree, lag arithmetic), 90 to 140 instructions
# per transfer in place_entity alone, varying from run to run by up to 100
# instructions per transfer for the same provider; without them five
# repetitions agree to within a few instructions.
echo 0 >/sys/kernel/debug/sched/fair_server/cpu0/runtime || exit 1
echo NO_DELAY_DEQUEUE >/sys/kernel/debug/sched/features || exit 1
echo NO_PLACE_LAG >/sys/kernel/debug/sched/features || exit 1
insmod /extra/rde_virt_dma.ko || exit 1
D=/sys/kernel/debug/rust_dmaengine_client
# The deep queue's interrupt coalescing: descriptors per interrupt.
CHAIN=16
memcpy_bench() { # rep
	insmod /extra/rde_memcpy_bench.ko 2>/dev/null
	dmesg | sed -n 's/.*rde_memcpy_bench: size \([0-9]*\): \([0-9]*\) iops \([0-9]*\) KB\/s/\1 \2 \3/p' |
		tail -n 5 | while read -r s i k; do
		echo "RDE-BENCH provider=memcpy size=$s chans=1 threads=1 rep=$1 iops=$i kbps=$k threads_reported=1 failures=0"
	done
}
# queued_part REPS: the queued bandwidth, on freshly loaded providers
# (none of the others may be loaded).
queued_part() {
	for chain in 0 $CHAIN; do
		insmod $M/rust_dmaengine.ko channels=1 chain=$chain || exit 1
		insmod /extra/rde_c_twin.ko channels=1 chain=$chain || exit 1
		insmod $M/rust_dmaengine_client.ko || exit 1
		r=$(dev_of rust_dmaengine)
		c=$(dev_of rde_c_twin)
		echo queued >$D/scenario
		rep=0
		while [ $rep -lt "$1" ]; do
			for depth in 1 8 32; do
				for prov in rust c; do
					dev=$r
					[ $prov = c ] && dev=$c
					echo "${dev}chan0" >$D/channel
					echo $depth >$D/queue_depth
					echo 20 >$D/iterations
					if ! echo 1 >$D/run || ! grep -q '^errors: 0$' $D/results; then
						echo "RDE-BENCH-ERROR run=queued-$prov-$chain-$depth-$rep: the client's queued mode failed" >&2
						cat $D/results >&2
						exit 1
					fi
					q=$(sed -n 's/^queued_[0-9]*x64k_ns: p50 \([0-9]*\) p99 \([0-9]*\)$/p50=\1 p99=\2/p' $D/results)
					cpu=$(sed -n 's/^cpu_[0-9]*x64k_ns: p50 \([0-9]*\) .*/\1/p' $D/results)
					echo "RDE-QUEUED provider=$prov chain=$chain depth=$depth rep=$rep $q cpu_p50=$cpu"
				done
			done
			rep=$((rep + 1))
		done
		rmmod rust_dmaengine_client rde_c_twin rust_dmaengine
	done
}
dev_of() { # provider name -> dmaN
	for c in /sys/class/dma/dma*chan0; do
		d=$(basename "$(readlink -f "$c/device")")
		case $d in "$1") basename "$c" | sed 's/chan0$//' ;; esac
	done
}
if [ "$mode" = queued ]; then
	rep=0
	while [ $rep -lt "$reps" ]; do
		memcpy_bench $rep
		rep=$((rep + 1))
	done
	queued_part "$reps"
	exit 0
fi
insmod $M/rust_dmaengine.ko channels=4 || exit 1
insmod /extra/rde_c_twin.ko channels=4 || exit 1
insmod /lib/modules/dmatest.ko || exit 1
insmod $M/rust_dmaengine_client.ko || exit 1
rust=$(dev_of rust_dmaengine)
ctwin=$(dev_of rde_c_twin)
echo "# rust_dmaengine is $rust, rde_c_twin is $ctwin"
iters_for() {
	# Under icount the guest's clock counts instructions: enough
	# iterations that dmatest's start-up, and the guest's housekeeping
	# that lands in a run (a few million instructions, at times that
	# move with the host's load), are under 1% of the run.
	if [ "$mode" = icount ]; then
		case $1 in
		64 | 512 | 4096) echo 20000 ;;
		*) echo 5000 ;;
		esac
		return
	fi
	case $1 in
	64 | 512) echo 2000 ;;
	4096) echo 2000 ;;
	65536) echo 1000 ;;
	*) echo 200 ;;
	esac
}
since_mark() { # name: the kernel log since the mark of run NAME
	dmesg | sed -n "/rde-bench: mark $1\$/,\$p"
}
# wait_summaries NAME THREADS: waits until the THREADS dmatest threads of
# run NAME printed their summaries.  dmatest's `wait` alone is not enough:
# it waits only while a thread has started and not finished, and a thread
# that `run` woke but that has not run yet (on one CPU, behind the shell)
# counts as not started, so `wait` can return at once.  The next run's
# `echo 0 >run` then kthread_stop()s the threads: one that never ran exits
# without a summary, one that runs stops mid-test.  So: `wait` again until
# every thread reported.  One that has not after 300 s is a hang or a lost
# completion (dmatest's own timeout is 3 s per transfer): the run fails,
# with the threads' stacks.
#
# The first wait without forking: anything the shell does on the one CPU
# once a thread has started lands in that thread's measured run (under
# icount, a fork and exec of cat or dmesg is about 100 instructions per
# 64-byte transfer of a run).  So the shell reads `run`, a builtin read
# (Y once a thread runs; N while the threads are pending, and when done),
# until a thread runs, before that CPU is the thread's; then it blocks in
# `wait`, which is reliable once a thread has started.
wait_summaries() {
	t=0
	s=0
	while read -r r <$p/run && [ "$r" = N ] && [ $s -lt 100000 ]; do
		s=$((s + 1))
	done
	read -r _ <$p/wait
	while :; do
		read -r _ <$p/wait
		n=$(since_mark "$1" | grep -c ': summary [0-9]* tests')
		[ "$n" -ge "$2" ] && return 0
		if [ $t -ge 3000 ]; then
			# To stderr: the caller's stdout may be a pipe or /dev/null.
			exec 1>&2
			echo "RDE-BENCH-ERROR run=$1: $n of $2 dmatest threads reported within 300 s (a hang or a lost completion)"
			for d in /proc/[0-9]*; do
				case $(cat "$d/comm" 2>/dev/null) in
				dma*chan*-*)
					echo "# $(cat "$d/comm") state $(sed -n 's/^State:\t//p' "$d/status")"
					sed 's/^/#   /' "$d/stack" 2>/dev/null
					;;
				esac
			done
			since_mark "$1" | sed 's/^/# /'
			return 1
		fi
		sleep 0.1
		t=$((t + 1))
	done
}
run() { # provider dev size chans threads rep
	echo 0 >$p/run 2>/dev/null
	echo 1 >$p/noverify
	echo 1 >$p/norandom
	echo "$3" >$p/test_buf_size
	echo "$(iters_for "$3")" >$p/iterations
	echo "$5" >$p/threads_per_chan
	i=0
	while [ $i -lt "$4" ]; do
		echo "${2}chan$i" >$p/channel
		i=$((i + 1))
	done
	name="$1-$3-$4-$5-$6"
	echo "<6>rde-bench: mark $name" >/dev/kmsg
	echo 1 >$p/run
	wait_summaries "$name" $(($4 * $5)) || exit 1
	since_mark "$name" |
		sed -n 's/.*summary [0-9]* tests, \([0-9]*\) failures \([0-9.]*\) iops \([0-9]*\) KB\/s.*/\1 \2 \3/p' |
		awk -v hdr="RDE-BENCH provider=$1 size=$3 chans=$4 threads=$5 rep=$6" \
			'{ f += $1; i += $2; k += $3; n++ }
			 END { printf "%s iops=%.2f kbps=%d threads_reported=%d failures=%d\n", hdr, i, k, n, f }'
}
latency() { # provider dev rep iterations
	echo 0 >$p/run # dmatest lets go of its channels
	echo latency >$D/scenario
	echo "${2}chan0" >$D/channel
	echo "$4" >$D/iterations
	echo 1 >$D/run || return
	sed -n 's/^\([a-z0-9_]*\)_ns: p50 \([0-9]*\) p99 \([0-9]*\).*/\1 \2 \3/p' $D/results |
		while read -r m p50 p99; do
			echo "RDE-LAT provider=$1 metric=$m rep=$3 p50=$p50 p99=$p99"
		done
	grep -q '^errors: 0$' $D/results || echo "RDE-LAT-ERROR provider=$1 rep=$3"
}
if [ "$mode" = icount ]; then
	# Each size, Rust and C back to back, the first of the pair
	# alternating by repetition: guest housekeeping that lands in a run
	# (a few million instructions, about 100 per transfer) then falls on
	# either side alike, and scripts/bench/report takes each side's
	# least-disturbed repetition.
	rep=0
	while [ $rep -lt "$reps" ]; do
		for size in 64 512 4096 65536 1048576; do
			if [ $((rep % 2)) = 0 ]; then
				order="rust c"
			else
				order="c rust"
			fi
			for prov in $order; do
				dev=$rust
				[ $prov = c ] && dev=$ctwin
				# Not in a pipe: a failed run must end the script.
				run $prov "$dev" $size 1 1 $rep >/tmp/run.out
				sed 's/RDE-BENCH/RDE-ICOUNT/' /tmp/run.out
			done
		done
		rep=$((rep + 1))
	done
	for prov in rust c; do
		dev=$rust
		[ $prov = c ] && dev=$ctwin
		latency $prov "$dev" 0 200
		# Where the instructions of 64-byte transfers go.
		insmod /extra/rde_prof.ko period_us=20 top=30
		run $prov "$dev" 64 1 1 0 >/dev/null
		rmmod rde_prof
		dmesg | sed -n "s/.*rde_prof: /RDE-PROF provider=$prov /p"
		dmesg -c >/dev/null
	done
	rmmod rust_dmaengine_client dmatest rde_c_twin rde_virt_dma rust_dmaengine
	exit 0
fi
# Warm up (first runs pay for page faults and worker creation).
run rust "$rust" 64 1 1 warm >/dev/null
run c "$ctwin" 64 1 1 warm >/dev/null
rep=0
while [ $rep -lt "$reps" ]; do
	memcpy_bench $rep
	for size in 64 512 4096 65536 1048576; do
		for chans in 1 2 4; do
			for threads in 1 2; do
				# Alternate which provider goes first, so that drift
				# in the guest does not favour one of them.
				if [ $((rep % 2)) = 0 ]; then
					run rust "$rust" $size $chans $threads $rep
					run c "$ctwin" $size $chans $threads $rep
				else
					run c "$ctwin" $size $chans $threads $rep
					run rust "$rust" $size $chans $threads $rep
				fi
			done
		done
	done
	if [ $((rep % 2)) = 0 ]; then
		latency rust "$rust" $rep 500
		latency c "$ctwin" $rep 500
	else
		latency c "$ctwin" $rep 500
		latency rust "$rust" $rep 500
	fi
	rep=$((rep + 1))
done
rmmod rust_dmaengine_client
rmmod dmatest
rmmod rde_c_twin
rmmod rust_dmaengine
queued_part "$reps"
