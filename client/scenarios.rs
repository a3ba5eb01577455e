// SPDX-License-Identifier: GPL-2.0

//! What a run does and checks (debugfs `scenario`).
//!
//! - `async_in_callback`: the reference path of the crate root: a chain of
//!   memcpy descriptors; the callback of descriptor k calls
//!   `terminate_async`; process context synchronizes, checks that no later
//!   descriptor called back and that the completed ones copied correctly,
//!   frees, and repeats.
//! - `sync_inflight`: `terminate_sync` from process context while the chain
//!   is in flight.
//! - `cyclic_stop`: a cyclic capture stopped from its own period callback
//!   (skipped on channels without DMA_CYCLIC).
//! - `slave_sg`: four slave captures of four scatter-gather entries; the
//!   callback of one of them terminates; synchronize, then the completed
//!   ones hold consecutive samples (skipped without DMA_SLAVE).
//! - `pcm_capture`: a cyclic capture driven as ALSA's dmaengine PCM drives
//!   one, stopped from "the trigger" in atomic context (see
//!   [`super::capture`]; skipped without DMA_CYCLIC).
//! - `stress`: like `async_in_callback`, with the terminating descriptor and
//!   the terminating side (callback or process context) drawn from a
//!   xorshift sequence seeded by the `seed` file, so a failure can be
//!   replayed.  Allocation failures (fault injection) are counted apart.
//! - `pause_resume`: pauses the chain while a descriptor runs, checks that
//!   as soon as the pause returns (it is synchronous) every transfer not
//!   yet complete reports paused and the residue does not move, resumes,
//!   and checks that the chain completes with the right data.
//! - `latency`: the benchmark mode of `make bench` (see [`super::latency`]).
//! - `queued`: the queued bandwidth of `make bench`: `queue_depth` copies
//!   of 64 KiB in flight at once (see [`super::latency`]).
//!
//! The test-only build (`--cfg rde_negative`) adds the negative controls of
//! `client/negative.rs`.

use super::{
    capture, latency,
    probe::{
        chain_state,
        Probed, //
    },
};
use crate::{
    dmaengine::{
        client::{
            Callback,
            Channel,
            DmaBuf,
            Finished,
            InFlight,
            Op,
            Terminated, //
        },
        completion::Completion,
        Cap,
        DmaAddress,
        Status, //
    },
    request_channel,
    terminate_in_callback,
    CHAIN,
    TIMEOUT_MS, //
};
use core::sync::atomic::Ordering;
use kernel::{prelude::*, str::CString};

/// Bytes per descriptor.
pub(crate) const CHUNK: usize = 4096;

/// How long the stopping callback keeps running after it woke process
/// context, so that synchronize has a running callback to wait for
/// (debugfs `callback_hold_us`; 0 turns this check and the write-after-sync
/// check off).
pub(crate) const CALLBACK_HOLD_US: u32 = 5000;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    AsyncInCallback,
    SyncInflight,
    CyclicStop,
    SlaveSg,
    PcmCapture,
    UartTx,
    #[cfg(rde_negative)]
    NegativeSkipSync,
    Stress,
    PauseResume,
    Latency,
    Queued,
    #[cfg(rde_negative)]
    DropInCallback,
}

impl Scenario {
    /// Every scenario, in the order the `scenario` file lists them.
    pub(crate) const ALL: &[Scenario] = &[
        Scenario::AsyncInCallback,
        Scenario::SyncInflight,
        Scenario::CyclicStop,
        Scenario::SlaveSg,
        Scenario::PcmCapture,
        Scenario::UartTx,
        #[cfg(rde_negative)]
        Scenario::NegativeSkipSync,
        Scenario::Stress,
        Scenario::PauseResume,
        Scenario::Latency,
        Scenario::Queued,
        #[cfg(rde_negative)]
        Scenario::DropInCallback,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::AsyncInCallback => "async_in_callback",
            Scenario::SyncInflight => "sync_inflight",
            Scenario::CyclicStop => "cyclic_stop",
            Scenario::SlaveSg => "slave_sg",
            Scenario::PcmCapture => "pcm_capture",
            Scenario::UartTx => "uart_tx",
            #[cfg(rde_negative)]
            Scenario::NegativeSkipSync => "negative_skip_sync",
            Scenario::Stress => "stress",
            Scenario::PauseResume => "pause_resume",
            Scenario::Latency => "latency",
            Scenario::Queued => "queued",
            #[cfg(rde_negative)]
            Scenario::DropInCallback => "drop_in_callback",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|x| x.name() == s)
            .ok_or(EINVAL)
    }
}

/// A channel name filter (empty: any channel).
#[derive(Clone, Copy)]
pub(crate) struct ChanName {
    buf: [u8; 32],
    len: usize,
}

impl ChanName {
    /// No filter: any channel.
    pub(crate) const ANY: Self = Self {
        buf: [0; 32],
        len: 0,
    };

    /// A filter for the channel named `s`: up to 31 letters, digits, `_`
    /// and `-`.
    pub(crate) fn new(s: &str) -> Result<Self> {
        if s.len() > 31
            || !s
                .bytes()
                .all(|x| x.is_ascii_alphanumeric() || x == b'_' || x == b'-')
        {
            return Err(EINVAL);
        }
        let mut n = Self {
            buf: [0; 32],
            len: s.len(),
        };
        n.buf[..s.len()].copy_from_slice(s.as_bytes());
        Ok(n)
    }

    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// The settings of a run (the debugfs files).
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) scenario: Scenario,
    pub(crate) iterations: u32,
    pub(crate) channel: ChanName,
    pub(crate) seed: u32,
    pub(crate) hold_us: u32,
    /// `queued`: copies in flight at once.
    pub(crate) depth: u32,
    /// `queued`: bytes per copy.
    pub(crate) qlen: u32,
    /// The device FIFO of `cyclic_stop`, `slave_sg`, `pcm_capture` and
    /// `uart_tx`.
    pub(crate) fifo: Fifo,
}

/// The device FIFO the peripheral scenarios configure (debugfs `fifo`:
/// `ADDR` or `ADDR=VALUE`, in hex with `0x` or decimal, or `mem`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fifo {
    /// Its bus address.
    pub(crate) addr: DmaAddress,
    /// What it always reads, if it is a register standing in for a
    /// capture FIFO (on a model whose DMA has no peripheral to capture
    /// from): every captured word must be this.  `None`: captures are
    /// checked for consecutive samples (the software engine's FIFO).
    pub(crate) value: Option<u32>,
    /// `mem`: captures read a word of memory at a fixed address instead,
    /// which each iteration fills with a new value (`addr` is unused).
    pub(crate) mem: bool,
}

impl Fifo {
    /// Parses `ADDR`, `ADDR=VALUE` or `mem`.
    pub(crate) fn parse(s: &str) -> Result<Self> {
        if s == "mem" {
            return Ok(Self {
                addr: 0,
                value: None,
                mem: true,
            });
        }
        fn num(s: &str) -> Result<u64> {
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => s.parse(),
            }
            .map_err(|_| EINVAL)
        }
        let (a, v) = match s.split_once('=') {
            Some((a, v)) => (a, Some(v)),
            None => (s, None),
        };
        let addr = DmaAddress::try_from(num(a)?).map_err(|_| EINVAL)?;
        let value = v
            .map(|v| num(v).and_then(|v| u32::try_from(v).map_err(|_| EINVAL)))
            .transpose()?;
        Ok(Self {
            addr,
            value,
            mem: false,
        })
    }
}

/// Counters of one run, shown in `results`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Results {
    pub(crate) iterations: u32,
    pub(crate) transfers: u32,
    pub(crate) completed: u32,
    pub(crate) aborted: u32,
    /// u32, not u64: `core::fmt` of a u64 on 32-bit arm reaches a
    /// floating-point builtin that the kernel traps (seen on zynq).
    pub(crate) verified_bytes: u32,
    pub(crate) late_callbacks: u32,
    /// Callbacks after the terminating one, of transfers complete before
    /// the terminate: allowed (see `excuse_complete`).
    pub(crate) complete_after_terminate: u32,
    /// Callbacks run from inside the client's own call (nested in
    /// `issue_pending`), not from the provider's deferred context.
    pub(crate) nested_callbacks: u32,
    /// Transfers whose status or residue after a terminate contradicts
    /// what happened (see `check_status`).
    pub(crate) status_errors: u32,
    /// Callbacks still running when synchronize returned.
    pub(crate) callback_running: u32,
    /// Buffers that changed after synchronize returned.
    pub(crate) late_writes: u32,
    /// Pauses seen to hold the residue still.
    pub(crate) paused_checks: u32,
    /// Iterations that failed cleanly with ENOMEM (fault injection).
    pub(crate) alloc_failures: u32,
    /// The stress scenario's seed.
    pub(crate) seed: u32,
    /// `latency`: p50, p99 and p99.9 in nanoseconds of each measurement.
    pub(crate) latency: latency::Percentiles,
    /// `queued`: the copies in flight at once.
    pub(crate) depth: u32,
    /// `queued`: bytes per copy.
    pub(crate) qlen: u32,
    pub(crate) errors: u32,
    pub(crate) skipped: bool,
    /// The capabilities of the channel the run used, a bit per
    /// [`CAP_NAMES`] entry.
    pub(crate) caps: u32,
}

/// The capabilities that `results` shows, in its `caps:` line.
pub(crate) const CAP_NAMES: [(Cap, &str); 5] = [
    (Cap::Memcpy, "memcpy"),
    (Cap::Memset, "memset"),
    (Cap::Slave, "slave"),
    (Cap::Cyclic, "cyclic"),
    (Cap::Private, "private"),
];

pub(crate) fn pattern(iter: u32, i: usize) -> u8 {
    (i as u32)
        .wrapping_mul(31)
        .wrapping_add(iter.wrapping_mul(7)) as u8
        | 1
}

/// A source and a destination buffer per descriptor: buffers 2k and 2k+1.
///
/// Separate small buffers come from the slab, where KASAN quarantines freed
/// objects, so a stray engine write after a free is reported rather than
/// landing in a reallocation.
pub(crate) fn chain_bufs(iter: u32) -> Result<KVec<DmaBuf>> {
    let mut v = KVec::with_capacity(2 * CHAIN, GFP_KERNEL)?;
    for k in 0..CHAIN {
        let mut src = DmaBuf::new(CHUNK)?;
        for (i, b) in src.as_mut_slice().iter_mut().enumerate() {
            *b = pattern(iter, k * CHUNK + i);
        }
        v.push(src, GFP_KERNEL)?;
        v.push(DmaBuf::new(CHUNK)?, GFP_KERNEL)?;
    }
    Ok(v)
}

/// Descriptor k copies buffer 2k to buffer 2k+1.
pub(crate) fn chain_ops() -> [Op; CHAIN] {
    core::array::from_fn(|k| Op::Memcpy {
        dst: 2 * k + 1,
        src: 2 * k,
        offset: 0,
        len: CHUNK,
    })
}

/// Checks a finished chain: descriptors up to `last_done` called back once
/// and copied right.
pub(crate) fn check_chain(f: &Finished<Probed>, last_done: usize, r: &mut Results) {
    let probe = &f.state.probe;
    for k in 0..CHAIN {
        let (Some(src), Some(dst)) = (f.bufs.get(2 * k), f.bufs.get(2 * k + 1)) else {
            r.errors += 1;
            return;
        };
        let calls = probe.called[k].load(Ordering::Relaxed);
        if k <= last_done {
            if calls != 1 || src.as_slice() != dst.as_slice() {
                pr_err!("chunk {k}: {calls} callbacks or wrong data\n");
                r.errors += 1;
            } else {
                r.completed += 1;
                r.verified_bytes = r.verified_bytes.saturating_add(CHUNK as u32);
            }
        } else if calls == 0 {
            r.aborted += 1;
        }
    }
    r.late_callbacks += probe.late.load(Ordering::Relaxed);
    r.nested_callbacks += probe.nested.load(Ordering::Relaxed);
    if probe.running.load(Ordering::SeqCst) != 0 {
        pr_err!("synchronize returned while a callback was still running\n");
        r.callback_running += 1;
        // The check must not become the use-after-free it detects: with a
        // provider whose synchronize is broken (the negative controls,
        // upstream pl330 on SMP), wait here for the callback to leave
        // before the caller frees the state it uses.
        let mut ms = 0;
        while probe.running.load(Ordering::SeqCst) != 0 && ms < TIMEOUT_MS {
            sleep_ms(1);
            ms += 1;
        }
    }
    if probe.hold_us == 0 {
        return;
    }
    // No engine write after synchronize: the buffers must stay as they are.
    let before = match snapshot(f) {
        Ok(v) => v,
        Err(_) => {
            r.alloc_failures += 1;
            return;
        }
    };
    sleep_ms(2);
    if snapshot(f).map_or(true, |after| after != before) {
        pr_err!("a buffer changed after synchronize returned\n");
        r.late_writes += 1;
    }
}

/// Sleeps about `ms` milliseconds on a jiffies-based wait.
///
/// A jiffies-based wait is all this needs.  (An `fsleep` of 2 ms from here
/// once never returned on the zynq guest: QEMU's global timer lost its
/// edge-triggered tick under host load; the rig now makes it
/// level-triggered, see Documentation/testing.rst.)
pub(crate) fn sleep_ms(ms: u32) {
    if let Ok(c) = KBox::pin_init(Completion::new(), GFP_KERNEL) {
        c.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(ms));
    }
}

/// A copy of every destination buffer.
///
/// A plain copy (memcpy) compared with `==` (memcmp), not a checksum loop:
/// on 32-bit arm the compiler vectorised a checksum fold into code that hung
/// the zynq guest.
fn snapshot(f: &Finished<Probed>) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(CHAIN * CHUNK, GFP_KERNEL)?;
    for k in 0..CHAIN {
        if let Some(b) = f.bufs.get(2 * k + 1) {
            v.extend_from_slice(b.as_slice(), GFP_KERNEL)?;
        }
    }
    Ok(v)
}

/// After a stop from process context: completions are in order, so a
/// prefix of the chain completed and the rest was aborted.  The index of the
/// last completed descriptor (0 when none did: `check_chain` then reports
/// descriptor 0).
fn last_completed(f: &Finished<Probed>) -> usize {
    f.state
        .probe
        .called
        .iter()
        .take_while(|c| c.load(Ordering::Relaxed) == 1)
        .count()
        .saturating_sub(1)
}

/// xorshift32: the stress scenario's reproducible randomness.
fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

/// One iteration of a chain scenario.
fn run_chain(
    ch: &mut Channel,
    iter: u32,
    scenario: Scenario,
    rng: u32,
    hold: u32,
    r: &mut Results,
) -> Result {
    let stress = scenario == Scenario::Stress;
    // Stress: a random descriptor, and a random side (callback or process
    // context) that terminates.
    let stop_at = if stress {
        rng as usize % CHAIN
    } else {
        (iter as usize) % (CHAIN - 1)
    };
    let from_process = scenario == Scenario::SyncInflight
        || scenario == Scenario::PauseResume
        || (stress && rng & 0x100 != 0);
    let state = chain_state(
        (!from_process).then_some(stop_at),
        if matches!(scenario, Scenario::SyncInflight | Scenario::PauseResume) {
            0
        } else {
            stop_at
        },
        // Stress keeps cycles short: the slow checks run every 16th cycle.
        if stress && iter % 16 != 0 { 0 } else { hold },
    )?;
    if !from_process {
        // The reference path (the crate root).
        let stopped = state.chain.stopped();
        let (f, woken) =
            terminate_in_callback(ch, chain_bufs(iter)?, &chain_ops(), state, stopped)?;
        if !woken {
            r.errors += 1;
        }
        r.transfers += CHAIN as u32;
        check_chain(&f, stop_at, r);
        excuse_complete(ch, &f, stop_at, r);
        return Ok(());
    }
    let stopped = state.chain.stopped();
    let flight = ch.submit(chain_bufs(iter)?, &chain_ops(), state)?;
    r.transfers += CHAIN as u32;
    // Wait for the first completion (stress: descriptor `stop_at`), then
    // stop the rest in flight.
    if !stopped.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(TIMEOUT_MS)) {
        r.errors += 1;
    }
    if scenario == Scenario::PauseResume {
        return pause_resume(flight, r);
    }
    let t = flight.terminate_async().map_err(|(e, flight)| {
        pr_err!("{}: terminate failed: {e:?}\n", flight.channel_name());
        e
    })?;
    check_status(&t, r);
    let f = t.synchronize();
    check_chain(&f, last_completed(&f), r);
    Ok(())
}

/// Callbacks after the one that terminated, of transfers that had
/// completed by then, are allowed: client.rst promises only that "no
/// callback functions will be called for any incomplete transfers", and
/// virt-dma calls back what completed before the terminate in the same
/// tasklet run.  A transfer that reports `DMA_COMPLETE` now completed
/// before the terminate (no transfer completes after one), so its late
/// callbacks move from `late_callbacks` to `complete_after_terminate`.
fn excuse_complete(ch: &Channel, f: &Finished<Probed>, stop_at: usize, r: &mut Results) {
    for k in stop_at + 1..CHAIN {
        let calls = f.state.probe.calls(k);
        let Some(&c) = f.cookies.get(k) else {
            continue;
        };
        if calls > 0 && ch.status(c).0 == Status::Complete {
            r.late_callbacks = r.late_callbacks.saturating_sub(calls);
            r.complete_after_terminate += calls;
        }
    }
}

/// Status and residue right after a terminate, for each transfer of the
/// chain: one whose callback ran is `DMA_COMPLETE` with no residue; none is
/// `DMA_PAUSED` (the channel was never paused) or `DMA_ERROR` (nothing
/// failed); a residue is never more than the transfer's length, and a
/// complete transfer has none.  An aborted transfer may report complete
/// (the engine finished it before the terminate) or in progress.
fn check_status(t: &Terminated<'_, Probed>, r: &mut Results) {
    for i in 0..CHAIN {
        let Some((s, residue)) = t.residue(i) else {
            r.status_errors += 1;
            continue;
        };
        let called = t.state().probe.calls(i) > 0;
        let ok = match s {
            Status::Complete => residue == 0,
            Status::InProgress => !called && residue as usize <= CHUNK,
            _ => false,
        };
        if !ok {
            pr_err!(
                "transfer {i} after terminate: {s:?}, residue {residue} of {CHUNK}{}\n",
                if called { ", its callback ran" } else { "" }
            );
            r.status_errors += 1;
        }
    }
}

/// The rest of `pause_resume`, once descriptor 0 completed: pause while
/// another runs, check that nothing moves until resume and that every
/// transfer not complete reports paused, resume, and check that the chain
/// completes.
fn pause_resume(flight: InFlight<'_, Probed>, r: &mut Results) -> Result {
    flight.pause()?;
    // `device_pause` is synchronous (provider.rst): as soon as it returns,
    // every transfer not complete reports DMA_PAUSED, with a residue that
    // does not move until resume.
    let paused = (0..CHAIN).find(|&i| matches!(flight.residue(i), Some((Status::Paused, _))));
    if let Some(i) = paused {
        let before = flight.residue(i);
        sleep_ms(20);
        let after = flight.residue(i);
        match (before, after) {
            (Some((Status::Paused, a)), Some((Status::Paused, b))) if a == b && a > 0 => {
                r.paused_checks += 1;
            }
            _ => {
                pr_err!("pause: descriptor {i} moved while paused\n");
                r.errors += 1;
            }
        }
    }
    // A paused channel pauses every transfer on it that is not complete,
    // not only the one that runs.
    for j in 0..CHAIN {
        match flight.status(j) {
            Some(Status::Complete | Status::Paused) => {}
            s => {
                pr_err!(
                    "pause: descriptor {j} reports {s:?} after pause returned: the pause is not \
                     synchronous\n"
                );
                r.errors += 1;
            }
        }
    }
    flight.resume()?;
    // After resume the chain runs to its end.
    let mut waited = 0;
    let mut last = flight.residue(CHAIN - 1).map(|(s, _)| s);
    while last != Some(Status::Complete) && waited < TIMEOUT_MS {
        sleep_ms(10);
        waited += 10;
        last = flight.residue(CHAIN - 1).map(|(s, _)| s);
    }
    if last != Some(Status::Complete) {
        pr_err!("resume: the chain did not finish\n");
        r.errors += 1;
    }
    // A cookie completes before its callback runs (virt-dma does the same;
    // with the deep queue, chain=N, callbacks come in batches at the
    // engine's interrupt): wait for the last callback before stopping, or
    // the stop discards the callbacks still to come, as it must.
    while flight.state().probe.calls(CHAIN - 1) == 0 && waited < TIMEOUT_MS {
        sleep_ms(10);
        waited += 10;
    }
    let f = stop(flight)?;
    check_chain(&f, CHAIN - 1, r);
    Ok(())
}

/// `terminate_sync`, with a failure to terminate reported as an error (the
/// batch's drop then tries once more, and leaks it if that fails too).
pub(crate) fn stop<S: Callback>(flight: InFlight<'_, S>) -> Result<Finished<S>> {
    flight.terminate_sync().map_err(|(e, flight)| {
        pr_err!("{}: terminate failed: {e:?}\n", flight.channel_name());
        e
    })
}

/// Runs `s.scenario` `s.iterations` times on one channel and counts what
/// happened.  `Ok` with `skipped` set when there is no channel for it.
pub(crate) fn run(s: &Settings) -> Result<Results> {
    let filter = s.channel.as_str();
    let cname = CString::try_from_fmt(fmt!("{filter}"))?;
    let cap = match s.scenario {
        Scenario::CyclicStop | Scenario::PcmCapture => Cap::Cyclic,
        Scenario::SlaveSg | Scenario::UartTx => Cap::Slave,
        _ => Cap::Memcpy,
    };
    let mut rng = s.seed.max(1);
    let mut r = Results {
        seed: s.seed,
        ..Results::default()
    };
    let mut ch = match request_channel(cap, (!filter.is_empty()).then_some(&*cname)) {
        Ok(c) => c,
        Err(e)
            if e == ENODEV
                && matches!(
                    s.scenario,
                    Scenario::CyclicStop
                        | Scenario::SlaveSg
                        | Scenario::PcmCapture
                        | Scenario::UartTx
                ) =>
        {
            pr_info!(
                "{}: SKIP: no free channel with the capability\n",
                s.scenario.name()
            );
            r.skipped = true;
            return Ok(r);
        }
        Err(e) => {
            pr_err!(
                "{}: no free channel matching '{filter}': load a DMA provider first\n",
                s.scenario.name()
            );
            return Err(e);
        }
    };
    for (bit, (cap, _)) in CAP_NAMES.iter().enumerate() {
        if ch.has_cap(*cap) {
            r.caps |= 1 << bit;
        }
    }
    let mut samples = latency::Samples::new();
    if matches!(s.scenario, Scenario::Latency | Scenario::Queued) {
        samples.reserve(s.iterations)?;
    }
    for iter in 0..s.iterations {
        rng = xorshift(rng);
        let res = match s.scenario {
            Scenario::CyclicStop => capture::run_cyclic(&mut ch, iter, &s.fifo, &mut r),
            Scenario::SlaveSg => capture::run_slave_sg(&mut ch, iter, &s.fifo, &mut r),
            Scenario::PcmCapture => capture::run_pcm(&mut ch, iter, &s.fifo, &mut r),
            Scenario::UartTx => capture::run_uart_tx(&mut ch, iter, &s.fifo, &mut r),
            Scenario::Latency => latency::run(&mut ch, iter, &mut samples, &mut r),
            Scenario::Queued => {
                latency::queued(&mut ch, iter, s.depth, s.qlen, &mut samples, &mut r)
            }
            #[cfg(rde_negative)]
            Scenario::NegativeSkipSync => {
                super::negative::skip_sync(&mut ch, iter, s.hold_us, &mut r)
            }
            #[cfg(rde_negative)]
            Scenario::DropInCallback => super::negative::drop_in_callback(&mut ch, iter, &mut r),
            _ => run_chain(&mut ch, iter, s.scenario, rng, s.hold_us, &mut r),
        };
        match res {
            Ok(()) => {}
            // A clean allocation failure (fault injection): counted,
            // nothing leaked, nothing left running.
            Err(e) if e == ENOMEM => r.alloc_failures += 1,
            Err(e) => {
                pr_err!("{}: iteration {iter}: {e:?}\n", s.scenario.name());
                r.errors += 1;
            }
        }
        r.iterations += 1;
    }
    r.latency = samples.percentiles();
    r.depth = s.depth;
    r.qlen = s.qlen;
    if s.scenario == Scenario::Latency {
        latency::report(ch.name(), &r, samples.len());
    }
    pr_info!(
        "{} on {} (seed {}): {} iterations, {} transfers, {} completed, {} aborted, {} bytes verified, {} late callbacks, {} callbacks running after sync, {} writes after sync, {} allocation failures, {} errors\n",
        s.scenario.name(),
        ch.name(),
        r.seed,
        r.iterations,
        r.transfers,
        r.completed,
        r.aborted,
        r.verified_bytes,
        r.late_callbacks,
        r.callback_running,
        r.late_writes,
        r.alloc_failures,
        r.errors
    );
    Ok(r)
}
