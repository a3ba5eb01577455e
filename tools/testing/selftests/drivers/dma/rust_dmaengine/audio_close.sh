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
ktap_print_header
audio_start "$PROV" burst_size=1024 burst_delay_us=100000
ktap_set_plan 1
n=0
for i in 1 2 3; do
	# arecord may give up first (EIO: no period in its wait on an
	# engine this slow); it closes the stream either way.
	arecord $AUDIO_PCM /dev/null 2>/dev/null &
	p=$!
	sleep 2
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
	n=$((n + 1))
done
# Room for a late engine to write where the buffers were.
sleep 1
audio_stop "$PROV" || ktap_exit_fail_msg "cannot unload the card and $PROV"
ktap_test_pass "$n capture streams closed during a slow burst on $PROV"
ktap_finished
