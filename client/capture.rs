// SPDX-License-Identifier: GPL-2.0

//! The scenarios on a device's side, captures from a device FIFO:
//!
//! - `cyclic_stop`: a cyclic capture stopped from its own period callback;
//! - `slave_sg`: slave captures of scatter-gather lists, one terminating
//!   from its callback;
//! - `pcm_capture`: a cyclic `DEV_TO_MEM` stream driven the way ALSA's
//!   generic dmaengine PCM drives one (`sound/core/pcm_dmaengine.c`), the
//!   protocol's main in-tree user:
//!
//!   - `hw_params`: the slave configuration of the capture FIFO;
//!   - `trigger(START)`: one cyclic transfer over the whole buffer, a
//!     callback per period (`dmaengine_pcm_dma_complete`); the position
//!     read from the residue (`snd_dmaengine_pcm_pointer`) must stay in the
//!     buffer;
//!   - `trigger(PAUSE_PUSH/PAUSE_RELEASE)` on odd iterations: pause and
//!     resume; the residue must hold still while paused;
//!   - `trigger(STOP)`: `terminate_async` in atomic context (under a
//!     spinlock with interrupts off, as the PCM stream lock is held), while
//!     period callbacks keep coming;
//!   - `sync_stop`: synchronize; after it no callback may run;
//!   - `hw_free`: the buffer is freed (the batch is dropped).
//!
//! - `uart_tx`: a slave `MEM_TO_DEV` transfer of a line of text into a
//!   UART's transmit register, byte by byte: the line appears on the
//!   console, where the test looks for it.
//!
//! The data checks: what the device wrote holds its consecutive 32-bit
//! samples; in `pcm_capture`'s ring, with at most one break (where the
//! engine's last lap ended).  With a FIFO stand-in that always reads one
//! value (debugfs `fifo` `ADDR=VALUE`, for a DMA controller on a model
//! with no peripheral to capture from), every captured word must be that
//! value.

use super::scenarios::{
    stop,
    Fifo,
    Results, //
};
use crate::{
    dmaengine::{
        client::{
            Callback,
            CallbackCtl,
            Channel,
            DeviceSide,
            DmaBuf,
            Op, //
        },
        completion::Completion,
        Direction,
        DmaAddress,
        SlaveConfig,
        Status, //
    },
    terminate_in_callback,
    TIMEOUT_MS, //
};
use core::fmt::Write;
use core::sync::atomic::{
    AtomicU32,
    Ordering, //
};
use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::Arc,
    time::{
        delay::fsleep,
        msecs_to_jiffies,
        Delta, //
    },
};

/// Bytes per period.
const PERIOD: usize = 1024;
/// Periods per buffer.
const PERIODS: usize = 4;
/// The bus address the scenarios configure for their capture FIFO by
/// default (the software engine's simulated FIFO is elsewhere: this device
/// makes up samples whatever its address).
const CAPTURE_FIFO: DmaAddress = 0x1000_0000;

/// The `fifo` setting of a new client.
pub(crate) const DEFAULT_FIFO: Fifo = Fifo {
    addr: CAPTURE_FIFO,
    value: None,
    mem: false,
};

/// Bytes of the memory source of `fifo` `mem`: a burst of 16 beats of 4
/// bytes would fit, but the source's address does not move (a FIFO's).
const MEM_SOURCE: usize = 64;

/// Where one iteration's captures come from ([`capture_config`]).
struct Source {
    /// What every captured word must be, if the source gives one value.
    value: Option<u32>,
    /// `fifo` `mem`: the memory the capture reads, mapped until this is
    /// dropped, which the scenario does after its synchronize (it binds
    /// the `Source` before its transfers).
    _mem: Option<DeviceSide>,
}

/// The value the memory source of `fifo` `mem` holds in iteration `iter`:
/// a new one each time, so a capture that kept an earlier iteration's
/// words (or none) fails the check.
fn mem_value(iter: u32) -> u32 {
    0xa5a5_0000 | (iter & 0xffff)
}

/// The device side, as a capture driver configures it (an ALSA driver in
/// `hw_params`): the provider refuses a slave or cyclic transfer without
/// one.  With `fifo` `mem`, a memory source is filled with this
/// iteration's value and mapped for the channel's device: the returned
/// [`Source`] keeps it until the caller drops it, after its synchronize.
fn capture_config(ch: &mut Channel, maxburst: u32, fifo: &Fifo, iter: u32) -> Result<Source> {
    let (addr, src) = if fifo.mem {
        let v = mem_value(iter);
        let mut b = DmaBuf::new(MEM_SOURCE)?;
        for w in b.as_mut_slice().chunks_exact_mut(4) {
            w.copy_from_slice(&v.to_le_bytes());
        }
        let m = ch.map_device_side(b)?;
        (
            m.addr(),
            Source {
                value: Some(v),
                _mem: Some(m),
            },
        )
    } else {
        (
            fifo.addr,
            Source {
                value: fifo.value,
                _mem: None,
            },
        )
    };
    // `addr` is the software engine's FIFO, the register root named in the
    // root-only debugfs `fifo` (documented as a readable register: like
    // `/dev/mem`, the knob trusts root), or the memory source above.
    // SAFETY: Only `src_addr` is set, which captures read, with no effect
    // beyond the peripheral's own; `src` keeps a memory source mapped until
    // the caller drops it, after the iteration's synchronize.
    unsafe {
        ch.slave_config(&SlaveConfig {
            src_addr: addr,
            src_addr_width: 4,
            src_maxburst: maxburst,
            ..SlaveConfig::default()
        })
    }?;
    Ok(src)
}

/// Whether `b` holds what `src` gives: only its value, or consecutive
/// samples with at most `max_breaks` breaks.
fn captured(b: &[u8], src: &Source, max_breaks: usize) -> bool {
    match src.value {
        Some(v) => {
            let bad = b
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .enumerate()
                .find(|&(_, w)| w != v);
            if let Some((i, w)) = bad {
                pr_err!(
                    "captured word {i} is {w:#010x}, not the source's {v:#010x}: the data did \
                     not come from it\n"
                );
            }
            bad.is_none()
        }
        None => breaks(b) <= max_breaks,
    }
}

/// The places in `b` where a 32-bit sample does not follow its
/// predecessor.
fn breaks(b: &[u8]) -> usize {
    let mut words = b
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let Some(mut prev) = words.next() else {
        return 0;
    };
    words
        .filter(|&w| {
            let gap = w != prev.wrapping_add(1);
            prev = w;
            gap
        })
        .count()
}

/// The PCM's side of the stream: periods elapsed.
struct PcmState {
    periods: AtomicU32,
    /// Completed after `wanted` periods.
    wanted: u32,
    elapsed: Arc<Completion>,
}

impl Callback for PcmState {
    fn done(&self, _index: usize, _ctl: &CallbackCtl<'_>) {
        // `dmaengine_pcm_dma_complete`: a period elapsed.
        if self.periods.fetch_add(1, Ordering::Relaxed) + 1 == self.wanted {
            self.elapsed.complete_all();
        }
    }
}

/// `pcm_capture`, one stream: start, optionally pause and resume, stop
/// from "the trigger", synchronize, check, free.
pub(crate) fn run_pcm(ch: &mut Channel, iter: u32, fifo: &Fifo, r: &mut Results) -> Result {
    let elapsed = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    // The PCM stream lock, which the trigger runs under.
    let stream_lock = KBox::pin_init(new_spinlock_irq!((), "pcm_capture_stream"), GFP_KERNEL)?;
    let state = PcmState {
        periods: AtomicU32::new(0),
        wanted: 2 + iter % 4,
        elapsed: elapsed.clone(),
    };
    let src = capture_config(ch, 4, fifo, iter)?;
    let mut bufs = KVec::new();
    bufs.push(DmaBuf::new(PERIOD * PERIODS)?, GFP_KERNEL)?;
    let op = Op::Cyclic {
        buf: 0,
        period: PERIOD,
        dir: Direction::DevToMem,
    };
    let flight = ch.submit(bufs, &[op], state)?;
    r.transfers += 1;
    if !elapsed.wait_for_completion_timeout(msecs_to_jiffies(TIMEOUT_MS)) {
        pr_err!("pcm_capture: no period elapsed within {TIMEOUT_MS} ms\n");
        r.errors += 1;
    }
    // The pointer callback: the position, from the residue, is in the
    // buffer.
    for _ in 0..4 {
        match flight.residue(0) {
            Some((Status::InProgress, res)) if res as usize <= PERIOD * PERIODS => {}
            other => {
                pr_err!(
                    "pcm_capture: position out of the buffer: {:?}\n",
                    other.map(|(_, res)| res)
                );
                r.errors += 1;
            }
        }
    }
    if iter % 2 == 1 {
        // PAUSE_PUSH, under the stream lock; the residue holds still.
        let paused = {
            let _trigger = stream_lock.lock();
            flight.pause()
        };
        if paused.is_ok() {
            let before = flight.residue(0);
            fsleep(Delta::from_millis(5));
            match (before, flight.residue(0)) {
                (Some((Status::Paused, a)), Some((Status::Paused, b))) if a == b => {
                    r.paused_checks += 1
                }
                _ => {
                    pr_err!("pcm_capture: the position moved while paused\n");
                    r.errors += 1;
                }
            }
            // PAUSE_RELEASE.
            let _trigger = stream_lock.lock();
            flight.resume()?;
        }
    }
    // STOP: terminate_async in atomic context, the stream lock held.
    let stopped = {
        let _trigger = stream_lock.lock();
        flight.terminate_async()
    };
    let stopped = stopped.map_err(|(e, _flight)| {
        pr_err!("pcm_capture: terminate_async failed: {e:?}\n");
        e
    })?;
    // sync_stop: after it no period callback may run.
    let f = stopped.synchronize();
    let periods = f.state.periods.load(Ordering::Relaxed);
    fsleep(Delta::from_millis(2));
    if f.state.periods.load(Ordering::Relaxed) != periods {
        pr_err!("pcm_capture: a period callback ran after synchronize\n");
        r.late_callbacks += 1;
    }
    r.completed += periods;
    // The periods that elapsed were written; a stop within the first lap
    // leaves the rest of the ring as it was.
    let written = (periods as usize * PERIOD).min(PERIOD * PERIODS);
    match f.bufs.first() {
        Some(b) if captured(&b.as_slice()[..written], &src, 1) => {
            r.verified_bytes = r.verified_bytes.saturating_add(written as u32);
        }
        _ => {
            pr_err!("pcm_capture: the buffer's samples are not consecutive\n");
            r.errors += 1;
        }
    }
    // hw_free: the buffer goes with `f`.
    Ok(())
}

/// The stopping callback of `what`: terminates the channel and wakes the
/// test thread; a failed terminate counts as late callbacks, so the
/// check fails.
fn stop_here(what: &str, ctl: &CallbackCtl<'_>, late: &AtomicU32, stopped: &Completion) {
    if let Err(e) = ctl.terminate_async() {
        pr_err!("{what}: terminate_async in the callback failed: {e:?}\n");
        late.fetch_add(1000, Ordering::Relaxed);
    }
    stopped.complete_all();
}

/// Cyclic capture: stop after `stop_after` periods, from the callback.
struct CyclicState {
    stop_after: u32,
    periods: AtomicU32,
    late: AtomicU32,
    stopped: Arc<Completion>,
}

impl Callback for CyclicState {
    fn done(&self, _index: usize, ctl: &CallbackCtl<'_>) {
        let n = self.periods.fetch_add(1, Ordering::Relaxed) + 1;
        if n == self.stop_after {
            stop_here("cyclic", ctl, &self.late, &self.stopped);
        } else if n > self.stop_after {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `cyclic_stop`: a cyclic capture whose period callback stops it after
/// 3 to 7 periods; synchronize, free.  The first period holds consecutive
/// samples, and no period is called back after the stop.
pub(crate) fn run_cyclic(ch: &mut Channel, iter: u32, fifo: &Fifo, r: &mut Results) -> Result {
    const PERIOD: usize = 1024;
    let stopped = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = CyclicState {
        stop_after: 3 + iter % 5,
        periods: AtomicU32::new(0),
        late: AtomicU32::new(0),
        stopped: stopped.clone(),
    };
    let mut bufs = KVec::new();
    bufs.push(DmaBuf::new(4 * PERIOD)?, GFP_KERNEL)?;
    let op = Op::Cyclic {
        buf: 0,
        period: PERIOD,
        dir: Direction::DevToMem,
    };
    let src = capture_config(ch, 1, fifo, iter)?;
    let flight = ch.submit(bufs, &[op], state)?;
    r.transfers += 1;
    if !stopped.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(TIMEOUT_MS)) {
        r.errors += 1;
    }
    let f = stop(flight)?;
    r.late_callbacks += f.state.late.load(Ordering::Relaxed);
    // The first period holds consecutive samples of the simulated FIFO.
    if let Some(b) = f.bufs.first() {
        if captured(&b.as_slice()[..PERIOD], &src, 0) {
            r.completed += f.state.periods.load(Ordering::Relaxed);
            r.verified_bytes = r.verified_bytes.saturating_add(PERIOD as u32);
        } else {
            pr_err!("cyclic: samples are not consecutive\n");
            r.errors += 1;
        }
    }
    Ok(())
}

/// Slave capture: the callback of transfer `stop_at` stops the channel.
struct SlaveState {
    stop_at: usize,
    done: AtomicU32,
    late: AtomicU32,
    stopped: Arc<Completion>,
}

impl Callback for SlaveState {
    fn done(&self, index: usize, ctl: &CallbackCtl<'_>) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if index == self.stop_at {
            stop_here("slave_sg", ctl, &self.late, &self.stopped);
        } else if index > self.stop_at {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `slave_sg`: four slave captures of four scatter-gather entries each;
/// the callback of one of them terminates the channel, then synchronize
/// and free.  The completed captures hold consecutive samples of the
/// simulated FIFO, and no later transfer is called back.
pub(crate) fn run_slave_sg(ch: &mut Channel, iter: u32, fifo: &Fifo, r: &mut Results) -> Result {
    const N: usize = 4;
    const LEN: usize = 4096;
    let src = capture_config(ch, 1, fifo, iter)?;
    let stopped = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = SlaveState {
        stop_at: iter as usize % N,
        done: AtomicU32::new(0),
        late: AtomicU32::new(0),
        stopped: stopped.clone(),
    };
    let mut bufs = KVec::new();
    let mut ops = KVec::new();
    for buf in 0..N {
        bufs.push(DmaBuf::new(LEN)?, GFP_KERNEL)?;
        ops.push(
            Op::Slave {
                buf,
                segs: 4,
                dir: Direction::DevToMem,
            },
            GFP_KERNEL,
        )?;
    }
    let (f, woken) = terminate_in_callback(ch, bufs, &ops, state, stopped)?;
    r.transfers += N as u32;
    if !woken {
        r.errors += 1;
    }
    r.late_callbacks += f.state.late.load(Ordering::Relaxed);
    for b in f.bufs.iter().take(f.state.stop_at + 1) {
        if captured(b.as_slice(), &src, 0) {
            r.verified_bytes = r.verified_bytes.saturating_add(LEN as u32);
        } else {
            pr_err!("slave_sg: a completed capture's samples are not consecutive\n");
            r.errors += 1;
        }
    }
    r.completed += f.state.done.load(Ordering::Relaxed);
    Ok(())
}

/// `uart_tx`'s callback: the line went out.
struct Sent {
    done: Arc<Completion>,
}

impl Callback for Sent {
    fn done(&self, _index: usize, _ctl: &CallbackCtl<'_>) {
        self.done.complete_all();
    }
}

/// `uart_tx`: one line of text, written by the DMA engine byte by byte into
/// the transmit register at `fifo` (a UART's, whose console the test
/// reads: `RDE-UART: ...`), over the channel's request line; then
/// synchronize, free.
pub(crate) fn run_uart_tx(ch: &mut Channel, iter: u32, fifo: &Fifo, r: &mut Results) -> Result {
    if fifo.mem {
        pr_err!("uart_tx: fifo 'mem' is a capture source: write the transmit register's address to fifo\n");
        return Err(EINVAL);
    }
    // SAFETY: `dst_addr` is the transmit register root named in debugfs
    // `fifo` for `uart_tx` (root-only, documented as a UART's transmit
    // register: like `/dev/mem`, the knob trusts root), written with the
    // line's bytes; this configuration's transfer is synchronized before
    // the function returns.
    unsafe {
        ch.slave_config(&SlaveConfig {
            dst_addr: fifo.addr,
            dst_addr_width: 1,
            dst_maxburst: 1,
            ..SlaveConfig::default()
        })
    }?;
    let mut line = KVec::new();
    write!(
        KVecWriter(&mut line),
        "RDE-UART: line {iter} from {} through the transmit register, by DMA\r\n",
        ch.name().to_str().unwrap_or("?")
    )
    .map_err(|_| ENOMEM)?;
    let mut buf = DmaBuf::new(line.len())?;
    buf.as_mut_slice().copy_from_slice(&line);
    let mut bufs = KVec::new();
    bufs.push(buf, GFP_KERNEL)?;
    let done = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = Sent { done: done.clone() };
    let op = Op::Slave {
        buf: 0,
        segs: 1,
        dir: Direction::MemToDev,
    };
    let flight = ch.submit(bufs, &[op], state)?;
    r.transfers += 1;
    let sent = done.wait_for_completion_timeout(msecs_to_jiffies(TIMEOUT_MS));
    let status = flight.status(0);
    stop(flight)?;
    if !sent || status != Some(Status::Complete) {
        pr_err!("uart_tx: the line was not sent (called back: {sent}, status {status:?})\n");
        r.errors += 1;
    } else {
        r.completed += 1;
        r.verified_bytes = r.verified_bytes.saturating_add(line.len() as u32);
    }
    Ok(())
}

/// `core::fmt::Write` into a `KVec<u8>`.
struct KVecWriter<'a>(&'a mut KVec<u8>);

impl core::fmt::Write for KVecWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}
