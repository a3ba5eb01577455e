# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the rust_dmaengine kselftests.  They work in a minimal
# busybox guest and on a full distribution alike.

# Where our modules are: the guest's /lib/modules/extra, or the directory of
# the tests (a user with a real board copies the .ko files there), or modprobe.
if [ -z "${MODDIR:-}" ]; then
	if [ -d /lib/modules/extra ]; then
		MODDIR=/lib/modules/extra
	else
		MODDIR=$(dirname "$0")/test_modules
	fi
fi

# dma_channels [PREFIX]: the names of all registered DMA channels.
dma_channels() {
	ls /sys/class/dma 2>/dev/null | grep "^${1:-}" | sort -V
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

load_dmatest() {
	if [ -f /lib/modules/dmatest.ko ]; then
		insmod /lib/modules/dmatest.ko
	else
		modprobe dmatest
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
