// SPDX-License-Identifier: GPL-2.0

//! The simulated peripheral: a sample FIFO at a fixed bus address, drained
//! (playback) and filled (capture) by a codec clock, as an I2S controller's
//! transmit and receive FIFOs are.
//!
//! The board's device tree (`qemu/virt/audio.dtsi`) places the FIFO's data
//! registers at [`FIFO_TX`] and [`FIFO_RX`] and wires the controller's
//! request lines to it; a DAI driver (`tools/asoc/rde_asoc_card.c`) tells
//! the DMA engine those addresses in its slave configuration.  A slave or
//! cyclic transfer whose device address is one of them moves 32-bit words
//! (one stereo S16 frame each) through this FIFO; any other device address
//! is a device the simulator does not model ([`Port::Sink`],
//! [`Port::Source`]).
//!
//! The codec clock is an hrtimer ticking every millisecond: each tick takes
//! the words due at `rate` since the last from the transmit side and puts
//! as many into the receive side, counting an underrun (an overrun) when the FIFO is empty
//! (full).  A side is clocked from the first word the engine moves through
//! it until the engine stops running transfers on it (a stop, a pause, the
//! end of its queue), as a DAI is enabled while its stream runs.  The
//! engine waits for room (for samples) before each burst: that wait is the
//! DMA request line, and what paces a cyclic transfer at the codec's rate.
//!
//! The transmit side checks what it is given: consecutive words must count
//! up by one, as the test's sample files do (`tools/asoc/`); the receive
//! side makes up such words.  The counters are in debugfs (`fifo`).

use core::{
    fmt,
    sync::atomic::{
        AtomicBool,
        AtomicU32,
        AtomicUsize,
        Ordering, //
    },
};
use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    impl_has_hr_timer,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow, //
    },
    time::{
        delay::fsleep,
        hrtimer::{
            ArcHrTimerHandle,
            HrTimer,
            HrTimerCallback,
            HrTimerCallbackContext,
            HrTimerPointer,
            HrTimerRestart,
            RelativeMode, //
        },
        Delta,
        Instant,
        Monotonic, //
    },
    uaccess::UserSliceReader,
};

use super::SoftEngine;
use crate::dmaengine::{
    provider::{
        DevSide,
        VirtChan, //
    },
    Direction, DmaAddress,
};

/// The bus address of the FIFO's transmit data register (the `reg` of the
/// `rust,rde-soft-i2s` node in `qemu/virt/audio.dtsi`).
pub const FIFO_TX: DmaAddress = 0x0c00_0000;
/// The bus address of its receive data register.
pub const FIFO_RX: DmaAddress = FIFO_TX + 4;
/// Words each side holds: 4096 (85 ms at 48 kHz), room for the engine's
/// scheduling delays under QEMU on a loaded host (a hardware I2S FIFO is
/// far smaller, its DMA engine far more punctual).
pub const DEPTH: usize = 4096;
/// The most words the engine moves per burst through the FIFO.
pub const MAX_BURST_WORDS: usize = DEPTH / 4;
/// The range of `fifo_rate`, in words (frames) per second.
pub const RATES: core::ops::RangeInclusive<u32> = 8_000..=384_000;

/// The codec clock's tick.
const TICK_US: i64 = 1000;
/// Milliseconds per second.
const MS_PER_S: u32 = 1000;

/// The device side of a slave or cyclic transfer, from the device address
/// of its slave configuration ([`Port::of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// A memory-to-memory transfer.
    Mem,
    /// A device the simulator does not model, to device: it takes the
    /// bytes.
    Sink,
    /// A device the simulator does not model, from device: it makes up
    /// samples (a 32-bit counter per channel, [`crate::soft::Ctl::sample`]).
    Source,
    /// The FIFO's transmit data register.
    FifoTx,
    /// The FIFO's receive data register.
    FifoRx,
}

impl Port {
    /// The device side of a slave or cyclic transfer on `chan` in
    /// direction `dir` to or from `dev`: the FIFO if the board has one at
    /// `dev.addr` (the device tree put it there), which takes 32-bit words
    /// only (`EINVAL`, with a message, for another width or for any of
    /// `lens` not a multiple of 4), or a device the simulator does not
    /// model.  For the driver's `prep_slave_sg` and `prep_cyclic`.
    pub fn of<P: SoftEngine>(
        chan: &VirtChan<P>,
        dir: Direction,
        dev: &DevSide,
        mut lens: impl Iterator<Item = usize>,
    ) -> Result<Self> {
        let fifo = chan.data().ctl.fifo.is_some();
        let port = match (
            dir == Direction::MemToDev,
            fifo && dev.addr == FIFO_TX,
            fifo && dev.addr == FIFO_RX,
        ) {
            (true, true, _) => Port::FifoTx,
            (false, _, true) => Port::FifoRx,
            (true, _, _) => Port::Sink,
            (false, _, _) => Port::Source,
        };
        if matches!(port, Port::FifoTx | Port::FifoRx)
            && (dev.width != 4 || lens.any(|l| l % 4 != 0))
        {
            dev_err!(
                chan.dev(),
                "chan {}: the FIFO at {:#x} takes 32-bit words: width {} or a length is not a \
                 multiple of 4\n",
                chan.index(),
                dev.addr,
                dev.width
            );
            return Err(EINVAL);
        }
        Ok(port)
    }
}

/// One side of the FIFO.
#[derive(Default)]
struct Side {
    /// Words in the FIFO.
    level: AtomicUsize,
    /// The codec clock runs on this side.
    clocked: AtomicBool,
    /// Words the codec clock took (transmit) or put (receive).
    words: AtomicU32,
    /// Underruns (transmit) or overruns (receive): ticks that found the
    /// FIFO empty (full) after one that did not.
    xruns: AtomicU32,
    /// The last tick found the FIFO empty (full).
    in_xrun: AtomicBool,
    /// Words the clock wanted and did not get (could not put).
    missed: AtomicU32,
    /// Words the engine moved through this side.
    moved: AtomicU32,
    /// Transmit: the word that continues the count; receive: the next
    /// sample.
    next: AtomicU32,
    /// Transmit: words that did not continue the count.
    breaks: AtomicU32,
    /// Transmit: the current and the longest run of counting words.
    run: AtomicU32,
    longest: AtomicU32,
}

impl Side {
    /// A clock tick wanting `want` words: takes them from the transmit side
    /// (`tx`) or puts them into the receive side.
    fn tick(&self, want: usize, tx: bool) {
        if !self.clocked.load(Ordering::Acquire) || want == 0 {
            return;
        }
        let mut got = 0;
        // The engine changes the level concurrently (process context).
        let _ = self
            .level
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |l| {
                got = if tx {
                    want.min(l)
                } else {
                    want.min(DEPTH.saturating_sub(l))
                };
                Some(if tx { l - got } else { l + got })
            });
        self.words.fetch_add(got as u32, Ordering::Relaxed);
        if got < want {
            self.missed
                .fetch_add((want - got) as u32, Ordering::Relaxed);
            if !tx {
                // The samples the codec made while the FIFO was full are
                // lost: the count the engine reads jumps over them.
                self.next.fetch_add((want - got) as u32, Ordering::Relaxed);
            }
            if !self.in_xrun.swap(true, Ordering::Relaxed) {
                self.xruns.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            self.in_xrun.store(false, Ordering::Relaxed);
        }
    }

    /// Resets the counters (not the level or the clock).
    fn reset(&self) {
        for c in [
            &self.words,
            &self.xruns,
            &self.missed,
            &self.moved,
            &self.breaks,
            &self.run,
            &self.longest,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.in_xrun.store(false, Ordering::Relaxed);
    }
}

/// The FIFO and its codec clock.
#[pin_data]
pub struct Fifo {
    #[pin]
    timer: HrTimer<Self>,
    /// Words (frames) per second.
    rate: AtomicU32,
    /// When the FIFO was made: the clock's time is measured from it.
    epoch: Instant<Monotonic>,
    /// Milliseconds after `epoch` up to which the clock has ticked, and
    /// the fraction of a word (in thousandths) carried over.
    ticked_ms: AtomicU32,
    carry: AtomicU32,
    tx: Side,
    rx: Side,
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Fifo {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

impl HrTimerCallback for Fifo {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, mut ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        ctx.forward_now(Delta::from_micros(TICK_US));
        // The words due since the last run, from the time that passed: a
        // timer may run late (without high-resolution timers, at the next
        // jiffy), the codec's clock does not.  Runs of the callback are
        // serialized: plain loads and stores.  In milliseconds and u32,
        // so that 32-bit ARM needs no 64-bit division.
        let now = (Instant::<Monotonic>::now() - this.epoch).as_millis() as u32;
        let last = this.ticked_ms.swap(now, Ordering::Relaxed);
        // At most a second at once: a stalled guest does not flood.
        let ms = now.wrapping_sub(last).min(MS_PER_S);
        let due = this.rate.load(Ordering::Relaxed) * ms + this.carry.load(Ordering::Relaxed);
        this.carry.store(due % MS_PER_S, Ordering::Relaxed);
        let want = (due / MS_PER_S) as usize;
        this.tx.tick(want, true);
        this.rx.tick(want, false);
        HrTimerRestart::Restart
    }
}

/// A running codec clock: stops (and waits for its tick) when dropped.
pub struct Clock(#[allow(dead_code)] ArcHrTimerHandle<Fifo>);

impl Fifo {
    /// A FIFO whose clock runs at `rate` words per second (in [`RATES`]),
    /// not started.
    pub fn new(rate: u32) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                timer <- HrTimer::new(),
                rate: AtomicU32::new(rate),
                epoch: Instant::now(),
                ticked_ms: AtomicU32::new(0),
                carry: AtomicU32::new(0),
                tx: Side::default(),
                rx: Side::default(),
            }),
            GFP_KERNEL,
        )
    }

    /// Starts the codec clock; it runs until the returned [`Clock`] is
    /// dropped.
    pub fn start(this: &Arc<Self>) -> Clock {
        Clock(this.clone().start(Delta::from_micros(TICK_US)))
    }

    fn side(&self, port: Port) -> Option<&Side> {
        match port {
            Port::FifoTx => Some(&self.tx),
            Port::FifoRx => Some(&self.rx),
            _ => None,
        }
    }

    /// The engine's DMA request line: waits until `port`'s side can take
    /// (transmit) or give (receive) `words` words.  Returns `false`, having
    /// moved nothing, as soon as `attention` is set (a stop or a pause for
    /// the engine).  Sleeps: the engine's process context only.
    pub fn wait(&self, port: Port, words: usize, attention: &AtomicBool) -> bool {
        let Some(side) = self.side(port) else {
            return true;
        };
        let tx = port == Port::FifoTx;
        loop {
            if attention.load(Ordering::Acquire) {
                return false;
            }
            let level = side.level.load(Ordering::Acquire);
            // Saturating: two channels on one side (a client's mistake)
            // may overfill it; that is the model's, not memory's, problem.
            let have = if tx {
                DEPTH.saturating_sub(level)
            } else {
                level
            };
            if have >= words {
                return true;
            }
            // Capture: the codec runs while the engine waits for samples.
            if !tx {
                side.clocked.store(true, Ordering::Release);
            }
            // The time the clock takes for the words missing, in u32
            // arithmetic (no 64-bit division on 32-bit ARM).
            let per_ms = (self.rate.load(Ordering::Relaxed) / MS_PER_S).max(1);
            let us = ((words - have) as u32 * MS_PER_S / per_ms).clamp(100, 10_000);
            fsleep(Delta::from_micros(i64::from(us)));
        }
    }

    /// The engine moved `bytes` (a multiple of 4, as many words as
    /// [`Fifo::wait`] allowed) into the transmit side: `check` them (the
    /// count must go on) and start its clock.
    pub fn pushed(&self, bytes: &[u8]) {
        let s = &self.tx;
        let mut next = s.next.load(Ordering::Relaxed);
        let mut run = s.run.load(Ordering::Relaxed);
        let mut longest = s.longest.load(Ordering::Relaxed);
        let mut breaks = 0;
        for w in bytes.chunks_exact(4) {
            let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            if v == next {
                run = run.saturating_add(1);
                longest = longest.max(run);
            } else {
                breaks += 1;
                run = 1;
            }
            next = v.wrapping_add(1);
        }
        let words = bytes.len() / 4;
        s.next.store(next, Ordering::Relaxed);
        s.run.store(run, Ordering::Relaxed);
        s.longest.store(longest, Ordering::Relaxed);
        s.breaks.fetch_add(breaks, Ordering::Relaxed);
        s.moved.fetch_add(words as u32, Ordering::Relaxed);
        s.level.fetch_add(words, Ordering::AcqRel);
        s.clocked.store(true, Ordering::Release);
    }

    /// The engine takes `words` words from the receive side: their
    /// samples' counter.
    pub fn popped(&self, words: usize) -> &AtomicU32 {
        let s = &self.rx;
        s.moved.fetch_add(words as u32, Ordering::Relaxed);
        let _ = s
            .level
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |l| {
                Some(l.saturating_sub(words))
            });
        &s.next
    }

    /// The engine stopped running transfers on `port`: its clock stops,
    /// and the FIFO empties (a DAI that is disabled flushes its FIFO).
    pub fn unclock(&self, port: Port) {
        if let Some(s) = self.side(port) {
            s.clocked.store(false, Ordering::Release);
            s.level.store(0, Ordering::Release);
            s.in_xrun.store(false, Ordering::Relaxed);
        }
    }

    /// Sets the clock's rate (debugfs `fifo_rate`): `EINVAL` outside
    /// [`RATES`].
    pub fn set_rate(&self, rate: u32) -> Result {
        if !RATES.contains(&rate) {
            return Err(EINVAL);
        }
        self.rate.store(rate, Ordering::Relaxed);
        Ok(())
    }

    /// The clock's rate.
    pub fn rate(&self) -> u32 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Resets the counters (debugfs `fifo`, "reset").
    pub fn reset(&self) {
        self.tx.reset();
        self.rx.reset();
    }

    /// Writes the counters, one `key: value` per line (debugfs `fifo`).
    pub fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |a: &AtomicU32| a.load(Ordering::Relaxed);
        writeln!(f, "rate: {}", self.rate())?;
        writeln!(f, "depth: {DEPTH}")?;
        writeln!(f, "played: {}", r(&self.tx.words))?;
        writeln!(f, "tx_moved: {}", r(&self.tx.moved))?;
        writeln!(f, "underruns: {}", r(&self.tx.xruns))?;
        writeln!(f, "underrun_words: {}", r(&self.tx.missed))?;
        writeln!(f, "tx_breaks: {}", r(&self.tx.breaks))?;
        writeln!(f, "tx_longest_run: {}", r(&self.tx.longest))?;
        writeln!(f, "captured: {}", r(&self.rx.words))?;
        writeln!(f, "rx_moved: {}", r(&self.rx.moved))?;
        writeln!(f, "overruns: {}", r(&self.rx.xruns))?;
        writeln!(f, "overrun_words: {}", r(&self.rx.missed))?;
        writeln!(f, "rx_next: {}", r(&self.rx.next))
    }
}

/// Reads a short trimmed string written to a debugfs file: `EINVAL` if it
/// is longer than 32 bytes or not UTF-8.
fn read_word<'a>(r: &mut UserSliceReader, buf: &'a mut [u8; 32]) -> Result<&'a str> {
    let n = r.len();
    if n > buf.len() {
        return Err(EINVAL);
    }
    r.read_slice(&mut buf[..n])?;
    core::str::from_utf8(&buf[..n])
        .map(str::trim)
        .map_err(|_| EINVAL)
}

fn show_fifo(f: &Arc<Fifo>, w: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.show(w)
}

fn write_fifo(f: &Arc<Fifo>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 32];
    match read_word(r, &mut b)? {
        "reset" => {
            f.reset();
            Ok(())
        }
        _ => Err(EINVAL),
    }
}

fn show_rate(f: &Arc<Fifo>, w: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(w, "{}", f.rate())
}

fn write_rate(f: &Arc<Fifo>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 32];
    f.set_rate(read_word(r, &mut b)?.parse().map_err(|_| EINVAL)?)
}

/// The FIFO's debugfs files, in `dir`: `fifo` (its counters; writing
/// `reset` zeroes them) and `fifo_rate` (the codec clock's rate in frames
/// per second, [`RATES`]).  Anything else written gets `EINVAL`.
#[pin_data]
pub struct FifoFiles {
    #[pin]
    stats: File<Arc<Fifo>>,
    #[pin]
    rate: File<Arc<Fifo>>,
    _dir: Dir,
}

impl FifoFiles {
    /// The files of `fifo`, in `dir`.
    pub fn new(dir: Dir, fifo: &Arc<Fifo>) -> impl PinInit<Self, Error> + '_ {
        try_pin_init!(Self {
            stats <- dir.read_write_callback_file(c"fifo", fifo.clone(), &show_fifo, &write_fifo),
            rate <- dir.read_write_callback_file(
                c"fifo_rate",
                fifo.clone(),
                &show_rate,
                &write_rate
            ),
            _dir: dir,
        })
    }
}
