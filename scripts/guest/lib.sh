# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the guest before /etc/rde-cmd runs (see scripts/guest/init).
# Wraps each test's KTAP output in the markers that scripts/judge reads.

# rde_run SCRIPT [ARGS...]: run a kselftest script from /selftests.
rde_run() {
	local name rc script=$1
	name=$(basename "$1" .sh)
	shift
	[ $# -gt 0 ] && name="$name-$(echo "$*" | tr -c "A-Za-z0-9_.\n-" _)"
	set -- "$script" "$@"
	echo "RDE-KTAP-BEGIN $name"
	(cd /selftests && sh "$@")
	rc=$?
	echo "RDE-KTAP-END $name rc=$rc"
	return $rc
}

# rde_kselftest NAME [OPTIONS...]: run the installed kselftests (/kselftest)
# through the kernel's runner, run_kselftest.sh OPTIONS (e.g. -t
# drivers/dma/rust_dmaengine:dmatest.sh).  Its KTAP has one result per test
# program, each program's own KTAP nested in it behind "# ".  Arguments
# reach a program as the runner passes them, in the environment:
#   KSELFTEST_DMATEST_SH_ARGS="memset dma0" rde_kselftest NAME -t ...
rde_kselftest() {
	local name=$1 rc
	shift
	echo "RDE-KTAP-BEGIN $name"
	/kselftest/run_kselftest.sh "$@"
	rc=$?
	echo "RDE-KTAP-END $name rc=$rc"
	return $rc
}

# rde_channels: a line per registered DMA device, for the host's summary
# (scripts/run-summary): "RDE-CHANNELS dma0 (rust_dmaengine): dma0chan0 ...".
rde_channels() {
	local dev name
	sed -n 's/^\(dma[0-9]*\) (\(.*\)): number of channels.*/\1 \2/p' \
		/sys/kernel/debug/dmaengine/summary |
		while read -r dev name; do
			# shellcheck disable=SC2010,SC2046 # one word per channel
			echo "RDE-CHANNELS $dev ($name):" $(ls /sys/class/dma | grep "^${dev}chan" | sort -V)
		done
}

# rde_kunit MODULE.ko: load a module whose KUnit suites run at load time,
# print their KTAP from the kernel log, then unload it.
rde_kunit() {
	local m
	m=$(basename "$1" .ko)
	rde_kmsg_ktap "kunit-$m" insmod "$1" && rmmod "$m"
}

# rde_kmsg_ktap NAME CMD...: run CMD (e.g. the insmod of a test module that
# reports in KTAP to the kernel log) and print what the kernel logged
# meanwhile as the KTAP section NAME.  A module whose test fails prints
# "not ok"; one that fails to load prints no result: both fail the section.
rde_kmsg_ktap() {
	local name=$1 rc
	shift
	echo "<6>rde-guest: mark $name" >/dev/kmsg
	echo "RDE-KTAP-BEGIN $name"
	"$@"
	rc=$?
	dmesg | sed -n "/rde-guest: mark $name\$/,\$p" | sed '1d; s/^\[[^]]*\] //'
	echo "RDE-KTAP-END $name rc=$rc"
	return $rc
}
