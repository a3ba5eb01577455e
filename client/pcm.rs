// SPDX-License-Identifier: GPL-2.0

//! `pcm_capture`: a cyclic `DEV_TO_MEM` stream driven the way ALSA's
//! generic dmaengine PCM drives one (`sound/core/pcm_dmaengine.c`), the
//! protocol's main in-tree user:
//!
//! - `hw_params`: the slave configuration of the capture FIFO;
//! - `trigger(START)`: one cyclic transfer over the whole buffer, a
//!   callback per period (`dmaengine_pcm_dma_complete`); the position read
//!   from the residue (`snd_dmaengine_pcm_pointer`) must stay in the
//!   buffer;
//! - `trigger(PAUSE_PUSH/PAUSE_RELEASE)` on odd iterations: pause and
//!   resume; the residue must hold still while paused;
//! - `trigger(STOP)`: `terminate_async` in atomic context (under a
//!   spinlock with interrupts off, as the PCM stream lock is held), while
//!   period callbacks keep coming;
//! - `sync_stop`: synchronize; after it no callback may run;
//! - `hw_free`: the buffer is freed (the batch is dropped).
//!
//! The data check: the periods that elapsed hold the device's consecutive
//! samples, with at most one break (where the engine's last lap ended).
//! `cyclic_stop` covers the other place pcm_dmaengine's pattern allows the
//! stop from, the period callback.

use super::scenarios::Results;
use crate::{
    dmaengine::{
        client::{
            Callback,
            CallbackCtl,
            Channel,
            DmaBuf,
            Op, //
        },
        completion::Completion,
        Direction,
        DmaAddress,
        SlaveConfig,
        Status, //
    },
    TIMEOUT_MS, //
};
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
/// The capture FIFO's bus address, as the DAI's DMA data gives it.
const CAPTURE_FIFO: DmaAddress = 0x1000_0004;

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

/// Whether `b`, the written part of the ring, holds consecutive 32-bit
/// samples but for at most one break (where the last lap ended).
fn ring_consecutive(b: &[u8]) -> bool {
    let words = b
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let mut prev = None;
    let mut breaks = 0;
    for w in words {
        if prev.is_some_and(|p: u32| w != p.wrapping_add(1)) {
            breaks += 1;
        }
        prev = Some(w);
    }
    breaks <= 1
}

/// One stream: start, optionally pause and resume, stop from "the
/// trigger", synchronize, check, free.
pub(crate) fn run(ch: &mut Channel, iter: u32, r: &mut Results) -> Result {
    let elapsed = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    // The PCM stream lock, which the trigger runs under.
    let stream_lock = KBox::pin_init(new_spinlock_irq!((), "pcm_capture_stream"), GFP_KERNEL)?;
    let state = PcmState {
        periods: AtomicU32::new(0),
        wanted: 2 + iter % 4,
        elapsed: elapsed.clone(),
    };
    ch.slave_config(&SlaveConfig {
        src_addr: CAPTURE_FIFO,
        src_addr_width: 4,
        src_maxburst: 4,
        ..SlaveConfig::default()
    })?;
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
        Some(b) if ring_consecutive(&b.as_slice()[..written]) => {
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
