// SPDX-License-Identifier: GPL-2.0

//! The simulated engine: its state machine, its bursts and its interrupt.
//!
//! A channel's engine runs asynchronously to the submitter (a work item,
//! the "hardware"), one burst at a time, so a terminate can land
//! mid-transfer; a pause is synchronous ([`BurstGate`]).  At the end of a
//! descriptor, and of each cyclic period, it raises an "interrupt" (an
//! irq_work, hard IRQ context) whose handler completes the descriptor and
//! schedules callback dispatch.  Stopping is a state: `terminate_all` asks
//! the engine to stop and returns, the engine acknowledges at the next
//! burst boundary, and `synchronize` waits for that acknowledgement.  With
//! `chain` it is a deep queue, as LLI hardware (see [`chain_done`]).
//!
//! The provider (`rust_dmaengine.rs`) programs it under the channel lock:
//! it sets [`Engine::state`] and the flags, raises [`Ctl::attention`], and
//! starts it with [`start_next`].

use super::{
    kick,
    raise_irq,
    BurstGate,
    EngineRange,
    Fifo,
    Port,
    SoftEngine,
    Xfer, //
};
use crate::dmaengine::provider::{
    Inner,
    Provider,
    VirtChan,
    VirtChanRef, //
};
use core::sync::atomic::{
    AtomicBool,
    AtomicU32,
    Ordering, //
};
use kernel::{
    prelude::*,
    sync::Arc,
    time::{
        delay::fsleep,
        Delta, //
    },
};

/// What the engine is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Nothing active.
    Idle,
    /// The engine works on the active descriptor.
    Running,
    /// The active descriptor is done; its interrupt is pending.
    IrqPending,
    /// `terminate_all` asked the running engine to stop; it has not yet
    /// acknowledged.
    Stopping,
    /// Parked between bursts by `pause`.
    Paused,
}

/// Per-channel engine state, under the channel lock: the provider's
/// `Provider::Engine`.
pub struct Engine {
    /// What the engine is doing.
    pub state: State,
    /// `pause` asked the engine to park; `resume` clears it.
    pub pause_requested: bool,
    /// The descriptor's operation whose first burst started when the
    /// engine started it (in the interrupt handler): that burst completes
    /// even if a stop request comes first, as a hardware burst would.
    pub started: Option<Xfer>,
    /// Chained mode: descriptors completed since the engine last raised
    /// its interrupt.
    pub unsignalled: u32,
    /// The segment of the active slave transfer the engine is on.
    pub seg: usize,
    /// The device side of the active descriptor.
    pub port: Port,
}

impl Engine {
    /// An idle engine, with no slave configuration.
    pub fn idle() -> Self {
        Self {
            state: State::Idle,
            pause_requested: false,
            started: None,
            unsignalled: 0,
            seg: 0,
            port: Port::Mem,
        }
    }
}

/// Per-channel data outside the lock: the engine's configuration, and what
/// it reads and writes between bursts without taking the lock, as hardware
/// would have status registers.
pub struct Ctl {
    /// Bytes per burst.
    pub burst: usize,
    /// Simulated time per burst, in microseconds (0: none).
    pub delay_us: u32,
    /// 0: the engine stops after each descriptor until its interrupt
    /// handler starts the next.  N > 0: it chains, as LLI hardware does
    /// (see `chain_done`), and raises its interrupt after N descriptors
    /// or when it runs out of issued ones.
    pub chain: u32,
    /// Set under the lock by `terminate_all` and `pause`: the engine looks
    /// at its state (under the lock) at the next burst boundary.  Cleared
    /// under the lock by the engine once it has looked.
    pub attention: AtomicBool,
    /// Bytes done of the active descriptor (`gate.progress`), published
    /// after every burst (the residue), written under the lock when a
    /// descriptor starts; and the pause handshake.
    pub gate: BurstGate,
    /// A device the simulator does not model ([`Port::Source`]): its
    /// next sample.
    pub sample: AtomicU32,
    /// The simulated FIFO, on a device whose board has one.
    pub fifo: Option<Arc<Fifo>>,
}

impl Ctl {
    /// An idle channel's engine: `burst` bytes per burst, `delay_us` per
    /// burst, chaining `chain` descriptors per interrupt, wired to `fifo`.
    pub fn new(burst: usize, delay_us: u32, chain: u32, fifo: Option<Arc<Fifo>>) -> Self {
        Self {
            burst,
            delay_us,
            chain,
            attention: AtomicBool::new(false),
            gate: BurstGate::new(),
            sample: AtomicU32::new(0),
            fifo,
        }
    }
}

/// The engine's "hardware": runs in process context on the system's
/// unbound workqueue after [`kick`].
pub(super) fn run<P: SoftEngine>(chan: VirtChanRef<'_, P>) {
    // A plain reference, `Send` as `with_lock` wants.
    let chan: &VirtChan<P> = &chan;
    let ctl = &chan.data().ctl;
    // The FIFO side this run clocks: it stops with the run.
    let mut clocked = Port::Mem;
    run_engine(chan, ctl, &mut clocked);
    if let Some(f) = &ctl.fifo {
        f.unclock(clocked);
    }
}

/// The engine's loop, for [`run`]: `clocked` is the FIFO side it moved
/// data through last.
fn run_engine<P: SoftEngine>(chan: &VirtChan<P>, ctl: &Ctl, clocked: &mut Port) {
    loop {
        // Under the lock: act on requests, pick up the active descriptor.
        let picked = chan.with_lock(|g| {
            if let Some(op) = g.engine.started.take() {
                // A started burst runs even if a request came first (the
                // descriptor may be terminated already: its memory stays
                // valid until synchronize, which waits for us); it is
                // then the only one before the engine looks again.
                let single = g.engine.state != State::Running || g.engine.pause_requested;
                if !single {
                    ctl.attention.store(false, Ordering::Relaxed);
                }
                return Some((op, op.len(), single, g.engine.port));
            }
            match g.engine.state {
                State::Stopping => {
                    // Acknowledge the stop; carry on with anything
                    // issued since.
                    g.engine.state = State::Idle;
                    // SAFETY: The engine is between bursts and has
                    // dropped the terminated descriptor's ranges (`op`
                    // is per loop iteration); it looks at the queue
                    // again only under this lock, and the descriptors
                    // `terminate_all` took are gone from it.
                    unsafe { chan.engine_stopped() };
                    g.engine.port = g.start_next()?.data.port;
                    g.engine.seg = 0;
                    g.engine.state = State::Running;
                    ctl.gate.progress.store(0, Ordering::Relaxed);
                }
                State::Running => {}
                State::Idle | State::IrqPending | State::Paused => return None,
            }
            if g.engine.pause_requested {
                g.engine.state = State::Paused;
                signal(g);
                return None;
            }
            ctl.attention.store(false, Ordering::Relaxed);
            match g.queue().active() {
                Some(d) => {
                    let op = d.data.op(g.engine.seg);
                    Some((op, op.len(), false, g.engine.port))
                }
                None => {
                    g.engine.state = State::Idle;
                    None
                }
            }
        });
        let Some((op, len, single, port)) = picked else {
            return;
        };
        if port != *clocked {
            if let Some(f) = &ctl.fifo {
                f.unclock(*clocked);
            }
            *clocked = port;
        }

        // Without the lock: bursts until the descriptor or period ends
        // or a request wants attention.
        let Some(off) = run_bursts(chan, ctl, op, len, single, port) else {
            // Paused before a burst moved: the next look under the lock
            // parks the engine (or, resumed meanwhile, goes on).
            continue;
        };

        // Under the lock: account for them; whether the engine goes on.
        let more = chan.with_lock(|g| {
            if g.engine.state != State::Running {
                return true;
            }
            match op {
                Xfer::Cyclic { period, .. } => {
                    if off % period == 0 {
                        g.period_elapsed();
                        raise_irq(g);
                    }
                    if off >= len {
                        ctl.gate.progress.store(0, Ordering::Relaxed);
                    }
                    true
                }
                Xfer::Slave(_) if off >= len && next_segment(g) => {
                    ctl.gate.progress.store(0, Ordering::Relaxed);
                    true
                }
                _ if off >= len && ctl.chain > 0 => chain_done(chan, g),
                _ if off >= len => {
                    g.engine.state = State::IrqPending;
                    raise_irq(g);
                    false
                }
                _ => true,
            }
        });
        if !more {
            return;
        }
    }
}

/// The engine's "interrupt handler": runs in hard IRQ context after
/// [`raise_irq`].  Inlined into its trampoline, as C's handler is the
/// irq_work function.
#[inline]
pub(super) fn irq<P: SoftEngine>(chan: VirtChanRef<'_, P>) {
    let chan: &VirtChan<P> = &chan;
    chan.with_lock(|g| {
        if g.engine.state == State::IrqPending {
            g.complete_active();
            g.engine.state = State::Idle;
            // A pause that came in meanwhile holds the next descriptor
            // until resume (which starts it from Idle).
            if !g.engine.pause_requested {
                start_next(chan, g);
            }
        }
        chan.schedule_callbacks();
    });
}

/// Chained mode: the engine finished the active descriptor.  As LLI
/// hardware writes back a descriptor's status and fetches the next without
/// waiting for software, it completes the descriptor (its cookie is
/// complete at once; its callback waits for the interrupt) and makes the
/// next issued one active.  It raises its interrupt, whose handler
/// schedules callback dispatch, after `chain` descriptors or when it stops
/// (nothing issued, or a pause): one tasklet run then calls back a batch.
/// Returns whether the engine goes on with a next descriptor.
///
/// All under the channel lock, so `terminate_all` sees either the finished
/// descriptor or the next one as the engine's, never neither: its stop
/// request covers every descriptor the engine may still touch, which is
/// only ever the active one.
fn chain_done<P: SoftEngine>(chan: &VirtChan<P>, g: &mut Inner<P>) -> bool {
    g.complete_active();
    g.engine.unsignalled += 1;
    g.engine.seg = 0;
    let next = match g.engine.pause_requested {
        false => g.start_next().map(|d| d.data.port),
        true => None,
    };
    if let Some(port) = next {
        g.engine.port = port;
    }
    let next = next.is_some();
    if next {
        chan.data().ctl.gate.progress.store(0, Ordering::Relaxed);
        if g.engine.unsignalled >= chan.data().ctl.chain {
            signal(g);
        }
    } else {
        g.engine.state = State::Idle;
        signal(g);
    }
    next
}

/// Chained mode: raises the engine's interrupt if descriptors completed
/// since it last did.
fn signal<P: SoftEngine>(g: &mut Inner<P>) {
    if g.engine.unsignalled > 0 {
        g.engine.unsignalled = 0;
        raise_irq(g);
    }
}

/// A slave transfer finished a segment: on to the next, if there is one.
fn next_segment<P: SoftEngine>(g: &mut Inner<P>) -> bool {
    let more = g
        .queue()
        .active()
        .is_some_and(|d| d.data.has_segment(g.engine.seg + 1));
    if more {
        g.engine.seg += 1;
    }
    more
}

/// Makes the next issued descriptor active and starts the engine on it.
pub fn start_next<P: SoftEngine>(chan: &VirtChan<P>, g: &mut Inner<P>) {
    let (started, port) = match g.start_next() {
        Some(d) => (d.data.xfer, d.data.port),
        None => return,
    };
    g.engine.seg = 0;
    g.engine.port = port;
    // The hardware fetches the descriptor and starts its first burst now.
    g.engine.started = Some(started);
    g.engine.state = State::Running;
    chan.data().ctl.gate.progress.store(0, Ordering::Relaxed);
    kick(g);
}

/// The engine's bursts on the active descriptor `op` of `len` bytes, from
/// the published progress on: one at least, then more while nothing asks
/// for attention (unless `single`), up to the end of the descriptor or of a
/// cyclic period.  Returns the new progress, or `None` if a pause let no
/// burst move (there is nothing to account for).
///
/// The memory was checked and translated at prep; should a burst fall
/// outside it anyway, the transfer is dropped with a message and
/// completes, as after a DMA controller's bus error.
fn run_bursts<P: Provider>(
    chan: &VirtChan<P>,
    ctl: &Ctl,
    op: Xfer,
    len: usize,
    single: bool,
    port: Port,
) -> Option<usize> {
    let off = ctl.gate.progress.load(Ordering::Relaxed).min(len);
    // One loop per kind of operation, so that the per-burst work is only
    // the move itself and the checks.
    let burst = ctl.burst;
    let (res, end) = match op {
        // Three loops each: one burst (`single`), and bursts with and
        // without the burst delay, so that the common one (no delay, not
        // single) tests for neither after every burst.
        Xfer::Memcpy(p) => {
            burst_delay(ctl);
            let r = match (single, ctl.delay_us) {
                (true, _) => p.copy_bursts(off, len, burst, &ctl.gate, |_| false),
                (false, 0) => {
                    p.copy_bursts(off, len, burst, &ctl.gate, burst_step::<false>(ctl, len))
                }
                (false, _) => {
                    p.copy_bursts(off, len, burst, &ctl.gate, burst_step::<true>(ctl, len))
                }
            };
            one_shot(off, r)
        }
        Xfer::Memset { dst, value } => {
            burst_delay(ctl);
            let r = match (single, ctl.delay_us) {
                (true, _) => dst.fill_bursts(value, off, len, burst, &ctl.gate, |_| false),
                (false, 0) => dst.fill_bursts(
                    value,
                    off,
                    len,
                    burst,
                    &ctl.gate,
                    burst_step::<false>(ctl, len),
                ),
                (false, _) => dst.fill_bursts(
                    value,
                    off,
                    len,
                    burst,
                    &ctl.gate,
                    burst_step::<true>(ctl, len),
                ),
            };
            one_shot(off, r)
        }
        Xfer::Cyclic { buf, period } => device_bursts(ctl, &buf, off, period, single, port),
        Xfer::Slave(seg) => device_bursts(ctl, &seg, off, seg.len(), single, port),
    };
    match res {
        // Refused by the gate before the first burst: paused.
        Ok(()) if end == off && off < len => None,
        Ok(()) => Some(end),
        Err(e) => {
            dev_err!(
                chan.dev(),
                "chan {}: cannot reach the transfer's memory, transfer dropped ({e:?})\n",
                chan.index()
            );
            // Skip to the end of the descriptor or period.
            let end = end - end % period_or(op, len) + period_or(op, len);
            ctl.gate.progress.store(end.min(len), Ordering::Relaxed);
            Some(end.min(len))
        }
    }
}

/// The result of a one-shot transfer's bursts from `off`, as `run_bursts`
/// reports it: the offset reached, or the error and `off`.
fn one_shot(off: usize, r: Result<usize>) -> (Result, usize) {
    match r {
        Ok(end) => (Ok(()), end),
        Err(e) => (Err(e), off),
    }
}

/// The simulated burst time, `delay_us` (module parameter), if any.
fn burst_delay(ctl: &Ctl) {
    if ctl.delay_us > 0 {
        fsleep(Delta::from_micros(i64::from(ctl.delay_us)));
    }
}

/// What the engine does after each burst of a one-shot transfer of `len`
/// bytes (the gate published the progress): unless that was the last
/// burst (the engine looks at its requests under the lock next anyway),
/// stop when a request wants attention, and otherwise take the next
/// burst's time if `DELAY` (the caller's `delay_us > 0`).
fn burst_step<const DELAY: bool>(ctl: &Ctl, len: usize) -> impl FnMut(usize) -> bool + '_ {
    move |reached| {
        if reached >= len {
            return true;
        }
        if ctl.attention.load(Ordering::Acquire) {
            return false;
        }
        if DELAY {
            // The caller's `delay_us > 0`: no test after every burst.
            fsleep(Delta::from_micros(i64::from(ctl.delay_us)));
        }
        true
    }
}

/// The period of a cyclic operation; `len` for the others.
fn period_or(op: Xfer, len: usize) -> usize {
    match op {
        Xfer::Cyclic { period, .. } => period,
        _ => len,
    }
}

/// The bursts of a slave or cyclic transfer on `buf` from `off`, to or
/// from the device of `port`: see [`bursts`].
fn device_bursts(
    ctl: &Ctl,
    buf: &EngineRange,
    off: usize,
    unit: usize,
    single: bool,
    port: Port,
) -> (Result, usize) {
    match (port, &ctl.fifo) {
        (Port::FifoTx, Some(f)) => bursts(ctl, off, unit, single, Some((f, port)), |o, n| {
            push_words(buf, o, f, n)
        }),
        (Port::FifoRx, Some(f)) => bursts(ctl, off, unit, single, Some((f, port)), |o, n| {
            write_samples(buf, o, f.popped(n / 4), n)
        }),
        (Port::Source | Port::FifoRx, _) => bursts(ctl, off, unit, single, None, |o, n| {
            write_samples(buf, o, &ctl.sample, n)
        }),
        _ => bursts(ctl, off, unit, single, None, |_, _| Ok(())),
    }
}

/// A slave or cyclic transfer's bursts: at most the configured size from
/// `off` (at most [`MAX_BURST_WORDS`] words through the FIFO), none
/// crossing a multiple of `unit` (the period, or the segment), with
/// `mv(offset, bytes)` doing the move.  Through the FIFO (`fifo`), each
/// burst first waits for the FIFO's request ([`Fifo::wait`]).  Stops after
/// the burst that reaches such a boundary, after the first burst if
/// `single`, or when a request wants attention.  Returns the result and
/// the progress reached.
///
/// [`MAX_BURST_WORDS`]: super::fifo::MAX_BURST_WORDS
fn bursts(
    ctl: &Ctl,
    mut off: usize,
    unit: usize,
    single: bool,
    fifo: Option<(&Arc<Fifo>, Port)>,
    mut mv: impl FnMut(usize, usize) -> Result,
) -> (Result, usize) {
    let burst = match fifo {
        Some(_) => ctl.burst.min(4 * super::fifo::MAX_BURST_WORDS),
        None => ctl.burst,
    };
    loop {
        let left = unit - off % unit;
        // Device samples are words: keep bursts a multiple of 4.
        let n = match burst.min(left) & !3 {
            0 => left,
            n => n,
        };
        if let Some((f, port)) = fifo {
            if !f.wait(port, n.div_ceil(4), &ctl.attention) {
                // A request wants the engine: nothing moved.
                return (Ok(()), off);
            }
        }
        burst_delay(ctl);
        let mut r = Ok(());
        if !ctl.gate.burst(off + n, || r = mv(off, n)) {
            // Paused: nothing moved.
            return (Ok(()), off);
        }
        if let Err(e) = r {
            return (Err(e), off);
        }
        off += n;
        if off % unit == 0 || single || ctl.attention.load(Ordering::Acquire) {
            return (Ok(()), off);
        }
    }
}

/// The simulated peripheral FIFO: `n` bytes of consecutive 32-bit
/// little-endian samples at `off` of `b`.
///
/// Not inlined: its staging buffer would otherwise sit in the stack frame
/// of the engine's every run, cyclic or not.
#[inline(never)]
fn write_samples(b: &EngineRange, off: usize, sample: &AtomicU32, n: usize) -> Result {
    let mut chunk = [0u8; 256];
    let mut s = sample.load(Ordering::Relaxed);
    let mut done = 0;
    while done < n {
        let k = chunk.len().min(n - done);
        for w in chunk[..k].chunks_mut(4) {
            let v = s.to_le_bytes();
            w.copy_from_slice(&v[..w.len()]);
            s = s.wrapping_add(1);
        }
        b.write(off + done, &chunk[..k])?;
        done += k;
    }
    sample.store(s, Ordering::Relaxed);
    Ok(())
}

/// The FIFO's transmit side takes `n` bytes at `off` of `b`.
///
/// Not inlined, as [`write_samples`].
#[inline(never)]
fn push_words(b: &EngineRange, off: usize, fifo: &Fifo, n: usize) -> Result {
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < n {
        let k = chunk.len().min(n - done);
        b.read(off + done, &mut chunk[..k])?;
        fifo.pushed(&chunk[..k]);
        done += k;
    }
    Ok(())
}
