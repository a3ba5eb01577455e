# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the rust_dmaengine kselftests.  They work in a minimal
# busybox guest and on a full distribution alike.  Sourced by each test
# after it sets DIR to its own directory.

# The kernel's KTAP helpers: in a kernel tree and in an installed kselftest
# tree they are in kselftest/, three levels up; a copy of this directory
# alone (the rig's /selftests) carries its own.
if ! command -v ktap_print_header >/dev/null; then
	if [ -f "$DIR/../../../kselftest/ktap_helpers.sh" ]; then
		. "$DIR/../../../kselftest/ktap_helpers.sh"
	else
		. "$DIR/ktap_helpers.sh"
	fi
fi

# Where our modules are: test_modules/ next to the tests (where the kselftest
# install puts them), else the rig's /lib/modules/extra, else modprobe.
if [ -z "${MODDIR:-}" ]; then
	if [ -f "$DIR/test_modules/rust_dmaengine.ko" ]; then
		MODDIR=$DIR/test_modules
	else
		MODDIR=/lib/modules/extra
	fi
fi

# dma_channels [PREFIX]: the names of all registered DMA channels.
dma_channels() {
	ls /sys/class/dma 2>/dev/null | grep "^${1:-}" | sort -V
}

# rde_dev: the DMA device (dmaN) that rust_dmaengine registered, if any.
rde_dev() {
	sed -n 's/^\(dma[0-9]*\) (rust_dmaengine):.*/\1/p' /sys/kernel/debug/dmaengine/summary
}

# load_mod NAME [PARAMS...]: insmod from MODDIR, else modprobe.
load_mod() {
	local m=$1
	shift
	if [ -f "$MODDIR/$m.ko" ]; then
		insmod "$MODDIR/$m.ko" "$@"
	else
		modprobe "$m" "$@"
	fi
}

# DMATEST_PARAMS (environment): more dmatest parameters, e.g. "alignment=2"
# where a DMA model copies whole 32-bit words only (QEMU's BCM2835).
load_dmatest() {
	# shellcheck disable=SC2086 # the parameters are words
	if [ -f /lib/modules/dmatest.ko ]; then
		insmod /lib/modules/dmatest.ko ${DMATEST_PARAMS:-}
	else
		modprobe dmatest ${DMATEST_PARAMS:-}
	fi
}

# kmsg_mark NAME: put a marker line into the kernel log.
kmsg_mark() {
	echo "<6>rde-selftest: mark $1" >/dev/kmsg
}

# kmsg_since NAME: the kernel log after the marker NAME, without timestamps.
kmsg_since() {
	dmesg | sed -n "/rde-selftest: mark $1\$/,\$p" | sed 's/^\[[^]]*\] //'
}

# dmatest_wait NAME N: after `echo 1 >run`, waits until N dmatest threads
# have printed their summary since the marker NAME, or 600 s have passed
# (a missing summary then fails its case).  dmatest's own `wait` returns at
# once while a thread that `run` woke has not been scheduled yet (it counts
# it as pending, not running), and an rmmod would then stop it mid-test:
# on a slow host that turns a good run into a "test timed out".
dmatest_wait() {
	local i=0
	while :; do
		cat /sys/module/dmatest/parameters/wait >/dev/null
		[ "$(kmsg_since "$1" | grep -c ': summary ')" -ge "$2" ] && return 0
		[ $i -ge 6000 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# The audio tests (audio.sh, audio_close.sh): ALSA's generic dmaengine PCM
# on rust_dmaengine's simulated I2S FIFO, through the test card.
AUDIO_PCM="-D hw:0,0 -f S16_LE -c 2 -r 48000 -t raw -q"
AUDIO_CARD_DEV=c000000.rde-i2s
AUDIO_CARD_DRV=/sys/bus/platform/drivers/rde-asoc-card

# audio_start PROVIDER [PARAMS...]: skips the whole test unless the board
# has the FIFO in its device tree and aplay; loads PROVIDER and the card
# and waits (5 s at most) for the card, which binds once the provider's OF
# DMA controller is there.  Fails the test if a module does not load.
audio_start() {
	local p=$1
	shift
	if ! grep -qs rust,rde-soft-i2s /sys/firmware/devicetree/base/*/*/compatible ||
		! command -v aplay >/dev/null; then
		ktap_skip_all "no simulated I2S FIFO in the device tree, or no aplay"
		exit "$KSFT_SKIP"
	fi
	load_mod "$p" "$@" || ktap_exit_fail_msg "cannot load $p"
	load_mod rde_asoc_card || ktap_exit_fail_msg "cannot load rde_asoc_card"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		grep -q '\[rde ' /proc/asound/cards 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}

# audio_stop PROVIDER: unbinds the card (ASoC pins its module while it is
# bound), unloads it, then PROVIDER.  Fails if an rmmod fails.
audio_stop() {
	echo $AUDIO_CARD_DEV >$AUDIO_CARD_DRV/unbind &&
		rmmod rde_asoc_card && rmmod "$1"
}
