#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# audio_close.sh [PROVIDER]: ALSA's generic dmaengine PCM closes capture
# streams while the engine is in the middle of a slow burst (100 ms).  The
# PCM's release stops the channel (dmaengine_terminate_async), waits in
# sync_stop (dmaengine_synchronize) and then frees the stream's buffer
# (hw_free; the board boots with snd_soc_core.prealloc_buffer_size_kbytes=0,
# so each stream has its own).  With rust_dmaengine the engine is done with
# the buffer when synchronize returns.  With rust_dmaengine_broken_sync,
# whose synchronize returns while the engine runs, the engine writes into
# the freed buffer: KASAN reports it (qemu/virt/tests: neg-audio).
DIR=$(dirname "$0")
. "$DIR/lib.sh"

PROV=${1:-rust_dmaengine}
PCM="-D hw:0,0 -f S16_LE -c 2 -r 48000 -t raw -q"

ktap_print_header
if ! grep -qs rust,rde-soft-i2s /sys/firmware/devicetree/base/*/*/compatible ||
	! command -v arecord >/dev/null; then
	ktap_skip_all "no simulated I2S FIFO in the device tree, or no arecord"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 1

load_mod "$PROV" burst_size=1024 burst_delay_us=100000 ||
	ktap_exit_fail_msg "cannot load $PROV"
load_mod rde_asoc_card || ktap_exit_fail_msg "cannot load rde_asoc_card"
for i in 1 2 3 4 5 6 7 8 9 10; do
	grep -q '\[rde ' /proc/asound/cards 2>/dev/null && break
	sleep 0.5
done
n=0
for i in 1 2 3; do
	arecord $PCM /dev/null &
	p=$!
	sleep 2
	kill -9 $p
	wait $p 2>/dev/null
	n=$((n + 1))
done
# Room for a late engine to write where the buffers were.
sleep 1
echo c000000.rde-i2s >/sys/bus/platform/drivers/rde-asoc-card/unbind
rmmod rde_asoc_card
rmmod "$PROV"
ktap_test_pass "$n capture streams closed during a slow burst on $PROV"
ktap_finished
