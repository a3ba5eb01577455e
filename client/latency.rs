// SPDX-License-Identifier: GPL-2.0

//! The `latency` benchmark mode (used by `make bench`).
//!
//! Per iteration it times, with ktime, each [`Lat`]: submit to callback of
//! one 64-byte copy, synchronize on the then idle channel, terminate_sync
//! with a chain in flight, terminate_async in a callback to the return of
//! synchronize (the reference path), and submit to the last callback of 8
//! queued 64 KiB copies.  `results` shows p50, p99 and p99.9 of each in
//! nanoseconds.
//!
//! The `queued` mode times only the last: `queue_depth` copies of
//! `queue_len` bytes (64 KiB by default) in flight at once, submit to the
//! last callback, as `queued_NxKk_ns` (or `queued_NxBb_ns` for a length
//! that is not whole KiB).  The
//! copies are checked as in the other scenarios, so a
//! benchmark of a broken provider does not produce figures.

use super::{
    scenarios::{
        chain_bufs,
        chain_ops,
        pattern,
        stop,
        Results, //
    }, //
};
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
    },
    CHAIN,
    TIMEOUT_MS, //
};
use core::{
    fmt,
    sync::atomic::{
        AtomicU32,
        Ordering, //
    },
};
use kernel::{
    prelude::*,
    sync::Arc,
    time::{
        Instant,
        Monotonic, //
    },
};

/// The measurements of the `latency` bench mode.
#[derive(Clone, Copy)]
enum Lat {
    /// From the call of `submit` (map, prep, submit, issue) of one 64-byte
    /// copy to the start of its callback.
    SubmitToCallback,
    /// `synchronize` after `terminate_async` on a channel with nothing in
    /// flight (the copy above has called back).
    IdleSynchronize,
    /// `terminate_sync` right after submitting a chain of [`CHAIN`] copies.
    TerminateSyncInflight,
    /// From `terminate_async` in the callback of descriptor k to the return
    /// of `synchronize` in process context (the `async_in_callback`
    /// scenario).
    AsyncThenSynchronize,
    /// From `submit` of [`QUEUED`] copies of [`QUEUED_LEN`] bytes, all in
    /// flight at once, to the callback of the last: the provider's
    /// bandwidth when it always has work queued (dmatest keeps one transfer
    /// in flight per thread).
    Queued,
    /// The `queued` mode's reference: the CPU copies the same number of
    /// fresh buffers of the same size, allocated and filled the same way
    /// (`memcpy`, one after the other).
    CpuCopy,
}

/// Copies in flight at once for [`Lat::Queued`] in the `latency` mode.
const QUEUED: usize = 8;
/// The most copies in flight at once of the `queued` mode.
pub(crate) const MAX_DEPTH: u32 = 64;
/// Bytes per copy for [`Lat::Queued`], and the most of the `queued` mode.
pub(crate) const QUEUED_LEN: usize = 65536;

impl Lat {
    /// The measurements of the `latency` mode.
    const COUNT: usize = 5;
    /// Every measurement, [`Lat::CpuCopy`] included.
    const SLOTS: usize = 6;
    const ALL: [Lat; Self::COUNT] = [
        Lat::SubmitToCallback,
        Lat::IdleSynchronize,
        Lat::TerminateSyncInflight,
        Lat::AsyncThenSynchronize,
        Lat::Queued,
    ];

    fn name(self) -> &'static str {
        match self {
            Lat::SubmitToCallback => "submit_to_callback",
            Lat::IdleSynchronize => "idle_synchronize",
            Lat::TerminateSyncInflight => "terminate_sync_inflight",
            Lat::AsyncThenSynchronize => "terminate_async_synchronize",
            Lat::Queued => "queued_8x64k",
            Lat::CpuCopy => "cpu_copy",
        }
    }
}

/// p50, p99 and p99.9 in nanoseconds of each [`Lat`].
pub(crate) type Percentiles = [[u32; 3]; Lat::SLOTS];

/// The samples of a run, one list per [`Lat`].
pub(crate) struct Samples([KVec<u32>; Lat::SLOTS]);

impl Samples {
    pub(crate) fn new() -> Self {
        Self(Default::default())
    }

    /// Room for `n` iterations, so that a run does not allocate as it goes.
    pub(crate) fn reserve(&mut self, n: u32) -> Result {
        for v in &mut self.0 {
            v.reserve(n as usize, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Samples per measurement.
    pub(crate) fn len(&self) -> usize {
        self.0[0].len()
    }

    /// p50, p99 and p99.9 of each measurement (sorts the samples); zeros
    /// if there are none.
    pub(crate) fn percentiles(&mut self) -> Percentiles {
        let mut p = Percentiles::default();
        for (p, v) in p.iter_mut().zip(self.0.iter_mut()) {
            v.sort_unstable();
            // Per mille: the nearest rank below.
            let at = |q: usize| v.get(v.len().saturating_sub(1) * q / 1000).copied();
            *p = [
                at(500).unwrap_or(0),
                at(990).unwrap_or(0),
                at(999).unwrap_or(0),
            ];
        }
        p
    }
}

/// Logs the percentiles of a run on channel `chan` with `n` samples each.
pub(crate) fn report(chan: &CStr, r: &Results, n: usize) {
    for (l, [p50, p99, p999]) in Lat::ALL.into_iter().zip(r.latency) {
        pr_info!(
            "latency on {}: {} p50 {} ns p99 {} ns p99.9 {} ns ({} samples)\n",
            chan,
            l.name(),
            p50,
            p99,
            p999,
            n
        );
    }
}

/// The `results` lines of the percentiles.
pub(crate) fn show(f: &mut fmt::Formatter<'_>, r: &Results) -> fmt::Result {
    for (l, [p50, p99, p999]) in Lat::ALL.into_iter().zip(r.latency) {
        writeln!(f, "{}_ns: p50 {} p99 {} p999 {}", l.name(), p50, p99, p999)?;
    }
    Ok(())
}

/// The `results` lines of the `queued` mode: p50 and p99 of submit to the
/// last callback of `depth` queued copies, and of the CPU copying as many
/// fresh buffers.
pub(crate) fn show_queued(f: &mut fmt::Formatter<'_>, r: &Results) -> fmt::Result {
    for (l, name) in [(Lat::Queued, "queued"), (Lat::CpuCopy, "cpu")] {
        let [p50, p99, _] = r.latency[l as usize];
        write!(f, "{}_{}x", name, r.depth)?;
        if r.qlen % 1024 == 0 {
            write!(f, "{}k", r.qlen / 1024)?;
        } else {
            write!(f, "{}b", r.qlen)?;
        }
        writeln!(f, "_ns: p50 {} p99 {}", p50, p99)?;
    }
    Ok(())
}

/// One iteration of the `queued` mode: one sample of [`Lat::Queued`] with
/// `depth` copies of `len` bytes in flight.
pub(crate) fn queued(
    ch: &mut Channel,
    iter: u32,
    depth: u32,
    len: u32,
    samples: &mut Samples,
    r: &mut Results,
) -> Result {
    let len = len as usize;
    let ns = run_queued(ch, iter, depth as usize, len, r)?;
    let cpu_ns = cpu_copy(iter, depth as usize, len)?;
    // Every slot gets a sample, so that `Samples::len` counts iterations;
    // only `Queued` and `CpuCopy` are shown.
    for (i, v) in samples.0.iter_mut().enumerate() {
        let x = if i == Lat::CpuCopy as usize {
            cpu_ns
        } else {
            ns
        };
        v.push(x, GFP_KERNEL)?;
    }
    Ok(())
}

/// One sample of [`Lat::CpuCopy`]: nanoseconds for the CPU to copy `n`
/// fresh buffers of `len` bytes, allocated and filled as [`run_queued`]
/// does, so that the engine is compared with a CPU copy of the same
/// working set (not only with a copy that stays in the cache).
fn cpu_copy(iter: u32, n: usize, len: usize) -> Result<u32> {
    let mut bufs = KVec::with_capacity(2 * n, GFP_KERNEL)?;
    for k in 0..n {
        let mut src = DmaBuf::new(len)?;
        src.as_mut_slice().fill(pattern(iter, k));
        bufs.push(src, GFP_KERNEL)?;
        bufs.push(DmaBuf::new(len)?, GFP_KERNEL)?;
    }
    let t0 = Instant::<Monotonic>::now();
    for pair in bufs.chunks_exact_mut(2) {
        if let [src, dst] = pair {
            dst.as_mut_slice().copy_from_slice(src.as_slice());
        }
    }
    Ok(ns_since(t0))
}

/// Nanoseconds since `t0`, saturated to `u32` (about 4.3 s).
fn ns_since(t0: Instant<Monotonic>) -> u32 {
    u32::try_from(t0.elapsed().as_nanos().max(0)).unwrap_or(u32::MAX)
}

/// Callback state of the `latency` mode: when (in ns since `t0`) the callback
/// of descriptor `stop_at` ran, which then terminates the channel if
/// `terminate` is set.
struct LatState {
    t0: Instant<Monotonic>,
    stop_at: usize,
    terminate: bool,
    at_ns: AtomicU32,
    stopped: Arc<Completion>,
}

impl Callback for LatState {
    fn done(&self, index: usize, ctl: &CallbackCtl<'_>) {
        if index != self.stop_at {
            return;
        }
        self.at_ns.store(ns_since(self.t0), Ordering::Relaxed);
        if self.terminate {
            if let Err(e) = ctl.terminate_async() {
                pr_err!("latency: terminate_async in the callback failed: {e:?}\n");
            }
        }
        self.stopped.complete_all();
    }
}

/// One iteration of the `latency` mode: one sample of each [`Lat`] into
/// `samples`.
pub(crate) fn run(ch: &mut Channel, iter: u32, samples: &mut Samples, r: &mut Results) -> Result {
    // Submit to callback, then synchronize on the idle channel.
    let mut bufs = KVec::with_capacity(2, GFP_KERNEL)?;
    let mut src = DmaBuf::new(64)?;
    src.as_mut_slice().fill(pattern(iter, 0));
    bufs.push(src, GFP_KERNEL)?;
    bufs.push(DmaBuf::new(64)?, GFP_KERNEL)?;
    let op = Op::Memcpy {
        dst: 1,
        src: 0,
        offset: 0,
        len: 64,
    };
    let stopped = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = LatState {
        t0: Instant::now(),
        stop_at: 0,
        terminate: false,
        at_ns: AtomicU32::new(0),
        stopped: stopped.clone(),
    };
    let flight = ch.submit(bufs, &[op], state)?;
    r.transfers += 1;
    if !stopped.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(TIMEOUT_MS)) {
        pr_err!("latency: the callback of a 64-byte copy never came\n");
        r.errors += 1;
    }
    let cb_ns = flight.state().at_ns.load(Ordering::Relaxed);
    let t = flight.terminate_async().map_err(|(e, _)| e)?;
    let t0 = Instant::<Monotonic>::now();
    let f = t.synchronize();
    let idle_ns = ns_since(t0);
    check_copies(&f.bufs, 1, "64-byte copy", r);
    drop(f);

    // terminate_sync with the chain in flight.
    let stopped = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = LatState {
        t0: Instant::now(),
        stop_at: CHAIN,
        terminate: false,
        at_ns: AtomicU32::new(0),
        stopped,
    };
    let flight = ch.submit(chain_bufs(iter)?, &chain_ops(), state)?;
    r.transfers += CHAIN as u32;
    let t0 = Instant::<Monotonic>::now();
    drop(flight.terminate_sync());
    let sync_ns = ns_since(t0);

    // terminate_async in the callback of descriptor k, then synchronize.
    let stop_at = (iter as usize) % (CHAIN - 1);
    let stopped = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = LatState {
        t0: Instant::now(),
        stop_at,
        terminate: true,
        at_ns: AtomicU32::new(0),
        stopped: stopped.clone(),
    };
    let flight = ch.submit(chain_bufs(iter)?, &chain_ops(), state)?;
    r.transfers += CHAIN as u32;
    if !stopped.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(TIMEOUT_MS)) {
        pr_err!("latency: the terminating callback never came\n");
        r.errors += 1;
    }
    let f = stop(flight)?;
    let end_ns = ns_since(f.state.t0);
    let async_ns = end_ns.saturating_sub(f.state.at_ns.load(Ordering::Relaxed));
    check_copies(&f.bufs, stop_at + 1, "chunk", r);

    let queued_ns = run_queued(ch, iter, QUEUED, QUEUED_LEN, r)?;

    for (v, x) in samples
        .0
        .iter_mut()
        .zip([cb_ns, idle_ns, sync_ns, async_ns, queued_ns])
    {
        v.push(x, GFP_KERNEL)?;
    }
    Ok(())
}

/// One sample of [`Lat::Queued`] with `n` copies of `len` bytes in
/// flight: nanoseconds from submit to the last callback; the copies are
/// checked.
fn run_queued(ch: &mut Channel, iter: u32, n: usize, len: usize, r: &mut Results) -> Result<u32> {
    let mut bufs = KVec::with_capacity(2 * n, GFP_KERNEL)?;
    let mut ops = KVec::with_capacity(n, GFP_KERNEL)?;
    for k in 0..n {
        let mut src = DmaBuf::new(len)?;
        src.as_mut_slice().fill(pattern(iter, k));
        bufs.push(src, GFP_KERNEL)?;
        bufs.push(DmaBuf::new(len)?, GFP_KERNEL)?;
        ops.push(
            Op::Memcpy {
                dst: 2 * k + 1,
                src: 2 * k,
                offset: 0,
                len,
            },
            GFP_KERNEL,
        )?;
    }
    let stopped = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = LatState {
        t0: Instant::now(),
        stop_at: n.saturating_sub(1),
        terminate: false,
        at_ns: AtomicU32::new(0),
        stopped: stopped.clone(),
    };
    let flight = ch.submit(bufs, &ops, state)?;
    r.transfers += n as u32;
    if !stopped.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(TIMEOUT_MS)) {
        pr_err!("latency: the last of {n} queued copies never called back\n");
        r.errors += 1;
    }
    let f = stop(flight)?;
    check_copies(&f.bufs, n, "queued copy", r);
    Ok(f.state.at_ns.load(Ordering::Relaxed))
}

/// Checks the first `n` copies of a latency-mode batch (source `2k`,
/// destination `2k + 1`): each right one counts as completed, each wrong
/// one as an error.
fn check_copies(bufs: &[DmaBuf], n: usize, what: &str, r: &mut Results) {
    for k in 0..n {
        match (bufs.get(2 * k), bufs.get(2 * k + 1)) {
            (Some(s), Some(d)) if s.as_slice() == d.as_slice() => r.completed += 1,
            _ => {
                pr_err!("latency: {what} {k} is wrong\n");
                r.errors += 1;
            }
        }
    }
}
