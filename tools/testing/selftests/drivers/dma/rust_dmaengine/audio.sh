#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# audio.sh [CYCLES]: the kernel's own DMA client for audio, the generic
# dmaengine PCM (sound/soc/soc-generic-dmaengine-pcm.c and
# sound/core/pcm_dmaengine.c), on rust_dmaengine, driven by ALSA's aplay
# and arecord (Documentation/audio.rst).
#
# Needs the board's device tree nodes (rust,rde-soft-dma and the simulated
# I2S FIFO rust,rde-soft-i2s, qemu/virt/audio.dtsi), the test card
# (rde_asoc_card.ko, tools/asoc/) and aplay/arecord; skips without them.
# The data is checked at the FIFO (rust_dmaengine's debugfs fifo): the
# capture's samples count up, and a playback of that capture must reach
# the FIFO as one unbroken count.  CYCLES (default 100) open-run-stop-close
# cycles, alternating playback and capture.  The rig's judge requires no
# KASAN, lockdep or kmemleak report in the boot.
DIR=$(dirname "$0")
. "$DIR/lib.sh"

CYCLES=${1:-100}
F=/sys/kernel/debug/rust_dmaengine/fifo
PCM=$AUDIO_PCM
W=/tmp/rde-audio
FRAMES=48000

ktap_print_header
audio_start rust_dmaengine
card=$?
ktap_set_plan 9

ok_if() { # DESCRIPTION COMMAND...: pass when COMMAND succeeds
	d=$1
	shift
	if "$@"; then ktap_test_pass "$d"; else ktap_test_fail "$d"; fi
}
good() { # CONDITION: ok_if's command for a shell condition
	sh -c "$1"
}
fifo() { # KEY: a counter of the FIFO
	sed -n "s/^$1: //p" $F
}
mkdir -p $W

ok_if "the card 'rde' is registered on rust_dmaengine's channels" [ $card = 0 ]

# 1. Capture a second: the FIFO's samples, none lost.
echo reset >$F
arecord $PCM -s $FRAMES $W/cap.raw
rc=$?
size=$(wc -c <$W/cap.raw)
captured=$(fifo rx_moved)
ktap_print_msg "capture: arecord rc $rc, $size bytes, FIFO: captured $(fifo captured), moved $captured, overruns $(fifo overruns)"
ok_if "capture: $FRAMES frames from the FIFO" \
	good "[ $rc = 0 ] && [ $size = $((FRAMES * 4)) ] && [ $captured -ge $FRAMES ] && [ $(fifo overruns) = 0 ]"

# 2. Play the capture back: the FIFO must see all of it, in order.
echo reset >$F
aplay $PCM $W/cap.raw
rc=$?
run=$(fifo tx_longest_run)
ktap_print_msg "playback: aplay rc $rc, FIFO: played $(fifo played), longest count $run, underruns $(fifo underruns)"
ok_if "playback: the capture reaches the FIFO unbroken ($FRAMES frames)" \
	good "[ $rc = 0 ] && [ $run -ge $FRAMES ]"
played=$(fifo played)

# 3. An underrun forced by the player's rate: the data stops for a while.
head -c 96000 $W/cap.raw >$W/a.raw
tail -c 96000 $W/cap.raw >$W/b.raw
(cat $W/a.raw; sleep 2; cat $W/b.raw) | aplay -D hw:0,0 -f S16_LE -c 2 -r 48000 -t raw - \
	2>$W/xrun.txt >/dev/null
rc=$?
xruns=$(grep -c 'underrun!!!' $W/xrun.txt)
ktap_print_msg "forced underrun: aplay rc $rc, $xruns ALSA xruns"
ok_if "playback underrun forced by the rate: reported, recovered" \
	good "[ $rc = 0 ] && [ $xruns -ge 1 ]"

# 4. An overrun forced by the recorder's reader: the pipe stops taking data.
arecord -D hw:0,0 -f S16_LE -c 2 -r 48000 -t raw -s 96000 - 2>$W/orun.txt |
	(sleep 2; cat >/dev/null)
orun=$(grep -c 'overrun!!!' $W/orun.txt)
ktap_print_msg "forced overrun: $orun ALSA xruns"
ok_if "capture overrun forced by the rate: reported, recovered" [ "$orun" -ge 1 ]
xruns=$((xruns + orun))

# 5. Close during a running stream, both directions: the PCM's release
# stops (terminate_async), synchronizes and frees its buffer under the
# engine, which must be done with it.
aplay $PCM $W/cap.raw &
p=$!
arecord $PCM -s 480000 /dev/null &
c=$!
sleep 0.5
kill -9 $p $c
wait $p $c 2>/dev/null
arecord $PCM -s 4800 $W/after.raw
ok_if "close during a running stream; the next capture works" \
	[ "$(wc -c <$W/after.raw)" = 19200 ]

# 6. Pause and resume, stop and restart (pcm_pause, tools/asoc/: raw
# ioctls, as aplay pauses only from a terminal): PAUSE_PUSH holds the
# pointer still, PAUSE_RELEASE goes on, DROP and PREPARE start again.  At
# the FIFO the count breaks only where a DROP discarded the ring's
# frames (5 in 10 cycles) and at the first frame.
if command -v pcm_pause >/dev/null; then
	echo reset >$F
	pcm_pause /dev/snd/pcmC0D0p 10 >$W/pause.txt
	rc=$?
	sed 's/^/# /' $W/pause.txt
	ktap_print_msg "pause/resume: FIFO: breaks $(fifo tx_breaks), longest count $(fifo tx_longest_run), underruns $(fifo underruns)"
	ok_if "pause/resume and stop/restart, 10 cycles: the pointer holds still, the count goes on" \
		good "[ $rc = 0 ] && [ $(fifo tx_breaks) -le 6 ] && [ $(fifo tx_longest_run) -ge 16384 ]"
else
	ktap_test_skip "pause/resume: no pcm_pause (make builds it into out/BOARD/bin)"
fi

# 7. CYCLES open-run-stop-close cycles of 0.05 s each.
head -c 9600 $W/cap.raw >$W/short.raw
bad=0
i=0
while [ $i -lt "$CYCLES" ]; do
	if [ $((i % 2)) = 0 ]; then
		aplay $PCM $W/short.raw || bad=$((bad + 1))
	else
		arecord $PCM -s 2400 $W/c.raw || bad=$((bad + 1))
	fi
	i=$((i + 1))
done
ktap_print_msg "$CYCLES open-run-stop-close cycles: $bad failed"
ok_if "$CYCLES open-run-stop-close cycles" [ $bad = 0 ]

# 8. Unloading in the wrong order is refused; the right order works.
refused=1
rmmod rust_dmaengine 2>/dev/null && refused=0
stopped=1
audio_stop rust_dmaengine && stopped=0
ok_if "rmmod of the provider refused while the card holds its channels" \
	good "[ $refused = 1 ] && [ $stopped = 0 ]"

echo "RDE-AUDIO: frames played $played, captured $captured, ALSA xruns $xruns (forced), $CYCLES cycles, errors ${KTAP_CNT_FAIL:-0}"
rm -rf $W
ktap_finished
