# SPDX-License-Identifier: GPL-2.0
#
# make bench (BENCH=icount): where each provider's instructions go.  Runs
# under QEMU -icount with the insnprof plugin (tools/bench/insnprof), one
# CPU.  Upstream dmatest, 1 thread, noverify, N transfers of SIZE bytes
# against rust_dmaengine, then against its C twin; sync(2) before and
# after each run is the plugin's mark, so its dumps hold: boot, the Rust
# run, the C twin's set-up, the C run, the rest.  Prints the module
# symbols (KSYM lines) for scripts/bench/attrib, and RDE-ATTRIB lines.
#
# usage: sh attrib.sh N SIZE [RUST_PARAMS [C_PARAMS]]
# (module parameters of each provider, e.g. dispatch=bh)
M=/lib/modules/extra
p=/sys/module/dmatest/parameters
n=${1:-20000}
size=${2:-64}
# shellcheck disable=SC2086
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
insmod $M/rust_dmaengine.ko channels=1 ${3:-} || exit 1
# shellcheck disable=SC2086
insmod /extra/rde_virt_dma.ko && insmod /extra/rde_c_twin.ko channels=1 ${4:-} || exit 1
insmod /lib/modules/dmatest.ko || exit 1
dev_of() { # provider name -> dmaN
	for c in /sys/class/dma/dma*chan0; do
		d=$(basename "$(readlink -f "$c/device")")
		case $d in "$1") basename "$c" | sed 's/chan0$//' ;; esac
	done
}
rust=$(dev_of rust_dmaengine)
ctwin=$(dev_of rde_c_twin)
grep -E '\[(rust_dmaengine|rde_c_twin|rde_virt_dma|dmatest)\]$' /proc/kallsyms | sed 's/^/KSYM /'
run() { # provider dev
	echo 0 >$p/run
	echo 1 >$p/noverify
	echo 1 >$p/norandom
	echo "$size" >$p/test_buf_size
	echo "$n" >$p/iterations
	echo 1 >$p/threads_per_chan
	echo "${2}chan0" >$p/channel
	sync
	echo 1 >$p/run
	t=0
	until dmesg | grep -q "${2}chan0-copy0: summary"; do
		cat $p/wait >/dev/null
		sleep 0.1
		t=$((t + 1))
		[ $t -lt 3000 ] || { echo "RDE-BENCH-ERROR run=attrib-$1: no summary"; exit 1; }
	done
	sync
	s=$(dmesg | sed -n "s/.*${2}chan0-copy0: summary \([0-9]*\) tests, \([0-9]*\) failures.*/\1 \2/p")
	echo "RDE-ATTRIB provider=$1 size=$size transfers=${s% *} failures=${s#* }"
}
run rust "$rust"
run c "$ctwin"
echo RDE-ATTRIB-DONE
