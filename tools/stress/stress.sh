#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# stress.sh SEED CYCLES [PARAM...]: runs in the virt guest (scripts/stress).
# Prints KTAP; the host adds the kernel-report and kmemleak verdicts.
# PARAMs are added to rust_dmaengine's parameters for parts 1 and 2 (e.g.
# chain=4, the deep queue).
#
# 1. Randomized terminate/synchronize cycles: the client's `stress`
#    scenario (seeded; replay with the same SEED) by two clients at once,
#    on two channels, while upstream dmatest runs on the other two.
# 2. Fault injection during prep: failslab at 10%, filtered to the task
#    that runs the client (make-it-fail); every failure must be a clean
#    ENOMEM, counted by the client.
# 3. Module life cycle: rmmod/insmod loops, rmmod of the provider while a
#    client holds a channel (refused), the client with no provider (ENODEV).
# 4. Bad input: a table of bad module parameters and debugfs writes.
# Arguments after SEED and CYCLES are added to every load of
# rust_dmaengine, e.g. "dispatch=bh" (Documentation/dispatch.rst) or
# "chain=4" (the deep queue).
DIR=/selftests
. $DIR/ktap_helpers.sh
. $DIR/lib.sh
seed=${1:-1}
cycles=${2:-100000}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
extra="$*"
D=/sys/kernel/debug/rust_dmaengine_client
p=/sys/module/dmatest/parameters
result() { sed -n "s/^$1: //p" $D/results; }

ktap_print_header
ktap_set_plan 7
echo "# seed $seed, $cycles terminate/synchronize cycles${extra:+, rust_dmaengine $extra}"

# shellcheck disable=SC2086 # the parameters are words
load_mod rust_dmaengine channels=4 burst_size=1024 burst_delay_us=20 $extra ||
	ktap_exit_fail_msg "cannot load rust_dmaengine"
load_mod rust_dmaengine_client clients=2 || ktap_exit_fail_msg "cannot load the client"

# 1. cycles: two clients at once (the client module's clients=2: two
# independent clients, each with its own channel and callback state), on
# dma0chan0 and dma0chan1, with dmatest on dma0chan2/3 at the same time.
# dmatest gets a fixed number of iterations and is waited for, never
# stopped: stopped mid-transfer, upstream dmatest frees its buffers before
# it terminates the channel (KASAN reports the engine's use-after-free).
load_dmatest
echo $((cycles / 20 + 50)) >$p/iterations
echo 2 >$p/threads_per_chan
echo dma0chan2 >$p/channel
echo dma0chan3 >$p/channel
echo 1 >$p/run
half=$((cycles / 2))
k=0
for c in $D $D/client1; do
	echo stress >$c/scenario
	echo "dma0chan$k" >$c/channel
	echo $((seed + k)) >$c/seed
	echo "$half" >$c/iterations
	k=$((k + 1))
done
# Both clients run at the same time: each `run` blocks its own writer.
(echo 1 >$D/run) &
a=$!
(echo 1 >$D/client1/run) &
b=$!
fails=0
wait $a || fails=$((fails + 1))
wait $b || fails=$((fails + 1))
total=0
for c in $D $D/client1; do
	sed 's/^/# /' $c/results
	[ "$(sed -n 's/^errors: //p;s/^late_callbacks: //p;s/^callback_running_after_sync: //p;s/^writes_after_sync: //p' $c/results | tr -d '\n')" = 0000 ] ||
		fails=$((fails + 1))
	total=$((total + $(sed -n 's/^iterations: //p' $c/results)))
done
cat $p/wait >/dev/null
dmt=$(dmesg | grep -c "dmatest: dma0chan[23]-copy.*summary.* 0 failures")
echo "# dmatest threads finished cleanly alongside: $dmt"
if [ $fails = 0 ] && [ $total -ge $((half * 2)) ] && [ "$dmt" = 4 ]; then
	ktap_test_pass "$total randomized terminate/synchronize cycles by two clients at once beside dmatest (seed $seed), no contract violation"
else
	ktap_test_fail "$total randomized cycles by two clients (seed $seed): $fails failed runs, $dmt of 4 dmatest threads clean"
fi
rmmod dmatest

# 2. failslab at 10% for this task only.
F=/sys/kernel/debug/failslab
echo 10 >$F/probability
echo 1 >$F/interval
echo -1 >$F/times
echo 0 >$F/space
echo 0 >$F/verbose
echo Y >$F/task-filter
echo N >$F/ignore-gfp-wait
echo 2000 >$D/iterations
echo dma0chan0 >$D/channel
# Open the files first: under injection the shell's own open() may fail.
# A run whose channel request itself fails (ENOMEM) is retried.
exec 4>/proc/self/make-it-fail 3>$D/run
tries=0
rc=1
while [ $rc != 0 ] && [ $tries -lt 20 ]; do
	echo 1 >&4
	echo 1 >&3
	rc=$?
	echo 0 >&4
	tries=$((tries + 1))
done
exec 3>&- 4>&-
echo 0 >$F/probability
echo "# failslab run: $tries attempt(s)"
sed 's/^/# /' $D/results
inj=$(result alloc_failures)
if [ $rc = 0 ] && [ "$(result errors)" = 0 ] && [ "${inj:-0}" -gt 0 ] &&
	[ "$(result late_callbacks)$(result callback_running_after_sync)$(result writes_after_sync)" = 000 ]; then
	ktap_test_pass "failslab 10%: $inj injected allocation failures, all clean ENOMEM"
else
	ktap_test_fail "failslab 10%: rc=$rc, injected ${inj:-0}, errors $(result errors)"
fi
rmmod rust_dmaengine_client
rmmod rust_dmaengine

# 3. life cycle.
ok=1
i=0
while [ $i -lt 20 ]; do
	# shellcheck disable=SC2086
	load_mod rust_dmaengine channels=$((i % 4 + 1)) $extra && load_mod rust_dmaengine_client &&
		rmmod rust_dmaengine_client && rmmod rust_dmaengine || ok=0
	i=$((i + 1))
done
[ $ok = 1 ] && ktap_test_pass "20 insmod/rmmod loops of provider and client" ||
	ktap_test_fail "20 insmod/rmmod loops of provider and client"
# shellcheck disable=SC2086
load_mod rust_dmaengine $extra
load_dmatest
echo dma0chan0 >$p/channel
if rmmod rust_dmaengine 2>/dev/null; then
	ktap_test_fail "rmmod of the provider refused while a client holds a channel"
else
	ktap_test_pass "rmmod of the provider refused while a client holds a channel"
fi
rmmod dmatest
rmmod rust_dmaengine
if load_mod rust_dmaengine_client 2>/dev/null; then
	rmmod rust_dmaengine_client
	ktap_test_fail "client with no provider is refused"
else
	ktap_test_pass "client with no provider is refused (ENODEV)"
fi

# 4. bad input.
# refuse MODULE ARG...: each ARG must be refused at load, with a message
# that names the parameter; counts the ones that were not in $bad.
refuse() {
	m=$1
	shift
	for arg; do
		kmsg_mark "p-$arg"
		if load_mod "$m" "$arg" 2>/dev/null; then
			rmmod "$m"
			echo "# accepted: $m $arg"
			bad=$((bad + 1))
		elif ! kmsg_since "p-$arg" | grep -q "${arg%%=*}"; then
			echo "# refused without naming the parameter: $m $arg"
			bad=$((bad + 1))
		fi
	done
}
bad=0
refuse rust_dmaengine channels=0 channels=33 channels=-1 channels=abc burst_size=0 \
	burst_size=63 burst_size=2000000 burst_delay_us=100001 burst_delay_us=-1 chain=65 chain=-1
# shellcheck disable=SC2086
load_mod rust_dmaengine $extra
refuse rust_dmaengine_client clients=0 clients=5 unsynchronized=2 unsynchronized=1
[ $bad = 0 ] && ktap_test_pass "15 bad module parameters refused, each with a message" ||
	ktap_test_fail "bad module parameters: $bad not refused properly"
load_mod rust_dmaengine_client
bad=0
for w in "scenario:nope" "scenario:async" "iterations:0" "iterations:-3" "iterations:100001" \
	"iterations:0x10" "channel:has space" "channel:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"run:0" "run:yes" "seed:-1" "seed:x"; do
	f=${w%%:*}
	before=$(cat $D/$f)
	if printf '%s' "${w#*:}" >$D/$f 2>/dev/null; then
		echo "# accepted: $f <- '${w#*:}'"
		bad=$((bad + 1))
	elif [ "$(cat $D/$f)" != "$before" ]; then
		echo "# changed despite the error: $f"
		bad=$((bad + 1))
	fi
done
rmmod rust_dmaengine_client
rmmod rust_dmaengine
[ $bad = 0 ] && ktap_test_pass "12 bad debugfs writes refused with EINVAL, nothing changed" ||
	ktap_test_fail "bad debugfs writes: $bad not refused properly"
echo "RDE-STRESS cycles=$total injected=${inj:-0} seed=$seed"
ktap_finished
