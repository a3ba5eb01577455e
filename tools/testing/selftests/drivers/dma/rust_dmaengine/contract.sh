#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# contract.sh [CHANNEL-PREFIX] [PROVIDER] [PARAM...]: the termination
# contract, through rust_dmaengine_client's debugfs interface.  PARAMs are
# added to the provider's module parameters, e.g. "dma0chan rust_dmaengine
# chain=4" for the deep queue.
#
# With PROVIDER=rust_dmaengine (the default) the provider is loaded with a
# per-burst delay so that terminates land mid-transfer.  With a hardware
# provider module (rust_pl330) the module is loaded as it is and the
# scenarios of a MEMCPY-only channel without pause run: the same contract,
# with synchronize (no opt-in).  With PROVIDER=none an already-present
# provider is used (e.g. upstream pl330 on zynq) and only the memcpy
# scenarios run.  With PROVIDER=builtin the channels are those of a provider
# built into the kernel that has device_synchronize (the in-tree sample of
# the patch series, samples/rust/rust_dma_engine.rs): the same scenarios as
# for a hardware provider module, less the two that unload the provider.  The kselftest runner passes these arguments in
# KSELFTEST_CONTRACT_SH_ARGS, e.g. "dma0chan none" or "dma0chan rust_pl330".
# CONTRACT_PROVIDER_PARAMS (environment) adds module parameters to the
# provider's load, e.g. "dispatch=bh" to run the contract with callbacks
# dispatched from the BH workqueue (Documentation/dispatch.rst).
#
# On SMP the script runs pinned to the last CPU, so that the waiter in
# dmaengine_synchronize() sits on another CPU than the interrupt and the
# callbacks (CPU0 for the PL330s of exynos4210): a synchronize that does
# not wait for a running callback is then caught.  With PROVIDER=none on
# SMP the client's opt-in is refused (a pass); the contract is then run
# with the test-only client build (rust_dmaengine_client_negative, which
# accepts unsynchronized=1 on SMP) and fails if the provider lacks
# device_synchronize: that is the evidence against upstream pl330.
DIR=$(dirname "$0")
. "$DIR/lib.sh"

ncpu=$(grep -c ^processor /proc/cpuinfo)
if [ "$ncpu" -gt 1 ] && [ -z "${CONTRACT_PINNED:-}" ] && command -v taskset >/dev/null; then
	CONTRACT_PINNED=$((ncpu - 1)) exec taskset -c $((ncpu - 1)) sh "$0" "$@"
fi

prefix=${1:-}
provider=${2:-rust_dmaengine}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
extra="$*"
D=/sys/kernel/debug/rust_dmaengine_client

# full: the software engine, which also has SLAVE, CYCLIC and pause/resume.
case $provider in
none | builtin) full=0 params= ;;
rust_dmaengine*) full=1 params="burst_size=1024 burst_delay_us=100 $extra" ;;
*) full=0 params="$extra" ;;
esac

ktap_print_header
[ -n "${CONTRACT_PINNED:-}" ] && echo "# pinned to CPU $CONTRACT_PINNED of $ncpu"
if [ "$provider" = none ] && [ "$ncpu" -gt 1 ]; then
	ktap_set_plan 5
elif [ "$provider" = none ]; then
	ktap_set_plan 3
elif [ $full = 1 ]; then
	ktap_set_plan 18
else
	ktap_set_plan 13
fi

# result KEY: a value from the last run's results.
result() {
	sed -n "s/^$1: //p" $D/results
}

# scenario NAME ITERATIONS: run it; ok when there were no errors, no late
# callbacks, and data was verified.
scenario() {
	echo "$1" >$D/scenario && echo "$2" >$D/iterations || {
		ktap_test_fail "$1: cannot configure"
		return
	}
	if ! echo 1 >$D/run; then
		ktap_test_fail "$1: run failed"
		return
	fi
	sed 's/^/# /' $D/results
	if [ "$(result skipped)" = 1 ]; then
		ktap_test_skip "$1: the channel lacks the capability"
	elif [ "$(result errors)" = 0 ] && [ "$(result late_callbacks)" = 0 ] &&
		[ "$(result callback_running_after_sync)" = 0 ] &&
		[ "$(result writes_after_sync)" = 0 ] &&
		[ "$(result verified_bytes)" -gt 0 ]; then
		ktap_test_pass "$1: $2 iterations, data verified, no late callback"
	else
		ktap_test_fail "$1"
	fi
}

if [ "$provider" = builtin ]; then
	# Nothing to load: the provider's channels must be there already.
	[ -n "$(dma_channels "${prefix:-dma}")" ] ||
		ktap_exit_fail_msg "no channel ${prefix:-dma}* registered: is the built-in provider configured?"
	ktap_test_skip "client refuses to load without a provider: the provider is built in"
	echo "# provider: built in, channels: $(dma_channels "${prefix:-dma}" | tr '\n' ' ')"
elif [ "$provider" != none ]; then
	kmsg_mark noprov
	if load_mod rust_dmaengine_client 2>/dev/null; then
		rmmod rust_dmaengine_client
		ktap_test_fail "client refuses to load without a provider"
	elif kmsg_since noprov | grep -q "load a DMA provider"; then
		ktap_test_pass "client refuses to load without a provider (ENODEV, with a message)"
	else
		ktap_test_fail "client refuses to load without a provider (no message)"
	fi
	params="$params ${CONTRACT_PROVIDER_PARAMS:-}"
	echo "# provider: $provider $params"
	# shellcheck disable=SC2086 # the parameters are words
	load_mod "$provider" $params ||
		ktap_exit_fail_msg "cannot load $provider"
	f=/sys/module/$provider/parameters/dispatch
	[ -r "$f" ] && echo "# dispatch: $(cat "$f")"
fi
if [ "$provider" = none ]; then
	# An existing provider, e.g. upstream pl330, may lack
	# device_synchronize; the client then refuses its channels unless told
	# otherwise.  unsynchronized=1 is the client's stated opt-in, which it
	# accepts only on a single-CPU kernel (zynq): there no callback can run
	# while process context synchronizes.
	kmsg_mark nosync
	if load_mod rust_dmaengine_client 2>/dev/null; then
		rmmod rust_dmaengine_client
		ktap_test_skip "the provider has device_synchronize: no channel to refuse"
	elif kmsg_since nosync | grep -q "has no device_synchronize"; then
		ktap_test_pass "client refuses a channel without device_synchronize (with a message)"
	else
		ktap_test_fail "client refuses a channel without device_synchronize (no message)"
	fi
	if [ "$ncpu" -gt 1 ]; then
		kmsg_mark smp
		if load_mod rust_dmaengine_client unsynchronized=1 2>/dev/null; then
			rmmod rust_dmaengine_client
			ktap_test_fail "unsynchronized=1 is refused on SMP"
		elif kmsg_since smp | grep -q "only sound on a single-CPU kernel"; then
			ktap_test_pass "unsynchronized=1 is refused on SMP (with a message)"
		else
			ktap_test_fail "unsynchronized=1 is refused on SMP (no message)"
		fi
		echo "# TEST ONLY: rust_dmaengine_client_negative unsynchronized=1 on $ncpu CPUs"
		client=rust_dmaengine_client_negative
	else
		echo "# client opt-in: unsynchronized=1 (provider may lack device_synchronize; single CPU)"
		client=rust_dmaengine_client
	fi
	load_mod $client unsynchronized=1 ||
		ktap_exit_fail_msg "cannot load $client unsynchronized=1"
else
	load_mod rust_dmaengine_client || ktap_exit_fail_msg "cannot load rust_dmaengine_client"
fi
if [ "$provider" = none ] && [ "$ncpu" = 1 ]; then
	# On one CPU a callback cannot run while process context synchronizes:
	# nothing to check with a callback that keeps running.
	echo 0 >$D/callback_hold_us
fi
[ -n "$prefix" ] && echo "$(dma_channels "$prefix" | head -n1)" >$D/channel

scenario async_in_callback 20
if [ "$provider" = none ]; then
	if [ "$ncpu" -gt 1 ]; then
		n=$(result callback_running_after_sync)
		[ "$n" = 0 ] &&
			ktap_test_pass "synchronize waits for a callback that is still running" ||
			ktap_test_fail "synchronize waits for a callback that is still running ($n of 20 still ran)"
	fi
	scenario sync_inflight 20
	rmmod $client
	ktap_finished
fi
# The stopping callback keeps running for 5 ms after it wakes the client,
# and the client checks, right after synchronize, that it has finished.
[ "$(result callback_running_after_sync)" = 0 ] &&
	ktap_test_pass "synchronize waits for a callback that is still running" ||
	ktap_test_fail "synchronize waits for a callback that is still running"
# The client copies every buffer right after synchronize and compares 2 ms
# later.
[ "$(result writes_after_sync)" = 0 ] &&
	ktap_test_pass "no engine writes after synchronize" ||
	ktap_test_fail "no engine writes after synchronize"
# The provider's channels are private (no async_tx or dmaengine_get()
# user may take them: it ignores DMA_CTRL_ACK reuse and dependency
# chains); rust_dmaengine and rust_pl330 claim DMA_SLAVE (they have
# prep_slave_sg), the sample does not.
caps=$(result caps)
case $provider in
rust_dmaengine* | rust_pl330*)
	case " $caps " in
	*" private "*" slave "* | *" slave "*" private "*) ktap_test_pass "capabilities: private, slave ($caps)" ;;
	*) ktap_test_fail "capabilities: private, slave (got:$caps)" ;;
	esac
	;;
rust_* | builtin)
	case " $caps " in
	*" private "*" slave "* | *" slave "*) ktap_test_fail "capabilities: private, no slave (got:$caps)" ;;
	*" private "*) ktap_test_pass "capabilities: private, no slave ($caps)" ;;
	*) ktap_test_fail "capabilities: private, no slave (got:$caps)" ;;
	esac
	;;
*)
	# Not ours (pl330_sync: upstream pl330, patched): it claims what its
	# hardware has.
	ktap_test_skip "capabilities of $provider not checked ($caps)"
	;;
esac
aborted=$(result aborted)
if [ "${aborted:-0}" -gt 0 ]; then
	ktap_test_pass "terminate from a callback aborted $aborted later descriptors, none called back"
else
	ktap_test_fail "terminate from a callback aborted later descriptors"
fi
scenario sync_inflight 20
if [ $full = 1 ]; then
	scenario cyclic_stop 10
	scenario slave_sg 10
	scenario pcm_capture 10
	scenario pause_resume 10
	if [ "$(result paused_checks)" -gt 0 ]; then
		ktap_test_pass "pause holds the residue still ($(result paused_checks) of 10), resume finishes the chain"
	else
		ktap_test_fail "pause holds the residue still, resume finishes the chain"
	fi
fi

# Garbage in debugfs gets -EINVAL and changes nothing.
before=$(cat $D/scenario)
before_it=$(cat $D/iterations)
before_len=$(cat $D/queue_len)
bad=0
echo bogus >$D/scenario 2>/dev/null && bad=1
echo 0 >$D/iterations 2>/dev/null && bad=1
echo 12x >$D/iterations 2>/dev/null && bad=1
echo 'dma0chan0;rm' >$D/channel 2>/dev/null && bad=1
echo 2 >$D/run 2>/dev/null && bad=1
for l in 0 6 65540; do
	echo $l >$D/queue_len 2>/dev/null && bad=1
done
if [ $bad = 0 ] && [ "$(cat $D/scenario)" = "$before" ] && [ "$(cat $D/iterations)" = "$before_it" ] &&
	[ "$(cat $D/queue_len)" = "$before_len" ]; then
	ktap_test_pass "bad debugfs writes are refused and change nothing"
else
	ktap_test_fail "bad debugfs writes are refused and change nothing"
fi

if [ "$provider" != none ]; then
	# clients=N: out of range is refused with a message; two clients run
	# at once, each on its own channel.
	rmmod rust_dmaengine_client
	bad=0
	for n in 0 5; do
		kmsg_mark "clients$n"
		if load_mod rust_dmaengine_client clients=$n 2>/dev/null; then
			rmmod rust_dmaengine_client
			bad=1
		elif ! kmsg_since "clients$n" | grep -q "clients=$n is out of range"; then
			bad=1
		fi
	done
	if [ $bad = 0 ]; then
		ktap_test_pass "clients=0 and clients=5 are refused with a message"
	else
		ktap_test_fail "clients=0 and clients=5 are refused with a message"
	fi
	load_mod rust_dmaengine_client clients=2 ||
		ktap_exit_fail_msg "cannot load rust_dmaengine_client clients=2"
	# Client 0 runs long, client 1 short: client 1 must start and finish
	# while client 0 holds its channel, i.e. is inside its run (a
	# module-wide lock would serialize them).
	k=0
	for c in $D $D/client1; do
		ch=$(dma_channels "${prefix:-dma}" | sed -n "$((k + 1))p")
		echo async_in_callback >$c/scenario
		echo "$ch" >$c/channel
		eval "ch$k=$ch"
		k=$((k + 1))
	done
	echo 200 >$D/iterations
	echo 10 >$D/client1/iterations
	(echo 1 >$D/run) &
	a=$!
	busy() { [ "$(cat /sys/class/dma/$ch0/in_use)" = 1 ]; }
	i=0
	while ! busy && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ok=1
	busy || ok=0
	echo 1 >$D/client1/run || ok=0
	if busy; then
		echo "# client1 ran while client 0 held $ch0"
	else
		echo "# client 0 was not inside its run when client1 finished"
		ok=0
	fi
	wait $a || ok=0
	for c in $D $D/client1; do
		sed 's/^/# /' $c/results
		[ "$(sed -n 's/^errors: //p' $c/results)" = 0 ] &&
			[ "$(sed -n 's/^late_callbacks: //p' $c/results)" = 0 ] &&
			[ "$(sed -n 's/^completed: //p' $c/results)" -gt 0 ] || ok=0
	done
	if [ $ok = 1 ]; then
		ktap_test_pass "two clients (clients=2) run at once on two channels, data verified"
	else
		ktap_test_fail "two clients (clients=2) run at once on two channels"
	fi
fi

# The channel is reusable after terminate: run again on the same channel.
scenario async_in_callback 5

# Unload in the "wrong" order: the client holds no channel between runs, so
# the provider may go; the client then fails cleanly.
if [ "$provider" = builtin ]; then
	ktap_test_skip "provider unloaded first: the provider is built in"
elif rmmod "$provider"; then
	if echo 1 >$D/run 2>/dev/null; then
		ktap_test_fail "run without a provider fails cleanly"
	else
		ktap_test_pass "provider unloaded first: the client's run fails cleanly"
	fi
else
	ktap_test_fail "provider unloads while the client is idle"
fi
rmmod rust_dmaengine_client
if lsmod | grep -q '^rust_dmaengine'; then
	ktap_test_fail "both modules unloaded"
else
	ktap_test_pass "both modules unloaded"
fi
ktap_finished
