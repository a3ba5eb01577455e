// SPDX-License-Identifier: GPL-2.0

//! A DMA-engine client that exercises the termination protocol.
//!
//! Scenarios (debugfs `rust_dmaengine_client/scenario`):
//!
//! - `async_in_callback`: a chain of memcpy descriptors; the callback of
//!   descriptor k calls `terminate_async`; process context synchronizes,
//!   checks that no later descriptor called back and that the completed ones
//!   copied correctly, frees, and repeats.
//! - `sync_inflight`: `terminate_sync` from process context while the chain
//!   is in flight.
//! - `cyclic_stop`: a cyclic capture stopped from its own period callback
//!   (skipped on channels without DMA_CYCLIC).
//! - `stress`: like `async_in_callback`, with the terminating descriptor and
//!   the terminating side (callback or process context) drawn from a
//!   xorshift sequence seeded by the `seed` file, so a failure can be
//!   replayed.  Allocation failures (fault injection) are counted apart.
//! - `pause_resume`: pauses the chain while a descriptor runs, checks that
//!   its residue does not move and the status is paused, resumes, and
//!   checks that the chain completes with the right data.
//! - `latency` (a benchmark mode, used by `make bench`): per iteration it
//!   times, with ktime, submit to callback of one 64-byte copy, synchronize
//!   on the then idle channel, terminate_sync with a chain in flight, and
//!   terminate_async in a callback to the return of synchronize (the first
//!   scenario), and submit to the last callback of 8 queued 64 KiB copies;
//!   `results` shows p50 and p99 of each in nanoseconds.
//! - `negative_skip_sync`: like the first, but frees before synchronizing,
//!   through the API's explicit `unsafe` escape hatch.  KASAN must catch it.
//!
//! Write `1` to `run` to run (it blocks until done) and read `results`.
//! With the module parameter `clients=N` the module is N independent
//! clients: the first in `rust_dmaengine_client/`, the others in
//! `rust_dmaengine_client/client1/` and up, each with its own files and
//! channel, so runs in different directories go on at the same time.
//! The only `unsafe` in this file is that escape hatch.

use core::{
    fmt,
    ops::RangeInclusive,
    sync::atomic::{
        AtomicU32,
        Ordering, //
    },
};
use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        Arc,
        Mutex, //
    },
    time::{
        delay::udelay,
        Delta,
        Instant,
        Monotonic, //
    },
    uaccess::UserSliceReader,
};

pub mod dmaengine;

use dmaengine::{
    client::{
        Callback,
        CallbackCtl,
        Channel,
        DmaBuf,
        Finished,
        InFlight,
        Op, //
    },
    completion::ReusableCompletion,
    Cap,
    Direction,
    Status, //
};

module! {
    type: RustDmaengineClient,
    name: "rust_dmaengine_client",
    authors: ["rust-dmaengine developers"],
    description: "DMA-engine client exercising terminate_async + synchronize",
    license: "GPL",
    params: {
        clients: u32 {
            default: 1,
            description: "Independent clients (1-4): the first in rust_dmaengine_client/, the others in rust_dmaengine_client/clientN/",
        },
        unsynchronized: u32 {
            default: 0,
            description: "1 = also use channels without device_synchronize (e.g. upstream pl330); refused unless the kernel has a single CPU",
        },
    },
}

/// Most clients one module instance offers.
const MAX_CLIENTS: u32 = 4;

/// Descriptors per memcpy chain.
const CHAIN: usize = 8;
/// Bytes per descriptor.
const CHUNK: usize = 4096;
/// How long to wait for the stopping callback before calling it an error.
const TIMEOUT_MS: u32 = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    AsyncInCallback,
    SyncInflight,
    CyclicStop,
    NegativeSkipSync,
    Stress,
    PauseResume,
    Latency,
}

impl Scenario {
    const ALL: [Scenario; 7] = [
        Scenario::AsyncInCallback,
        Scenario::SyncInflight,
        Scenario::CyclicStop,
        Scenario::NegativeSkipSync,
        Scenario::Stress,
        Scenario::PauseResume,
        Scenario::Latency,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::AsyncInCallback => "async_in_callback",
            Scenario::SyncInflight => "sync_inflight",
            Scenario::CyclicStop => "cyclic_stop",
            Scenario::NegativeSkipSync => "negative_skip_sync",
            Scenario::Stress => "stress",
            Scenario::PauseResume => "pause_resume",
            Scenario::Latency => "latency",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s).ok_or(EINVAL)
    }
}

/// Counters of one run, shown in `results`.
#[derive(Clone, Copy, Default)]
struct Results {
    iterations: u32,
    transfers: u32,
    completed: u32,
    aborted: u32,
    /// u32, not u64: `core::fmt` of a u64 on 32-bit arm reaches a
    /// floating-point builtin that the kernel traps (seen on zynq).
    verified_bytes: u32,
    late_callbacks: u32,
    /// Callbacks still running when synchronize returned.
    callback_running: u32,
    /// Buffers that changed after synchronize returned.
    late_writes: u32,
    /// Pauses seen to hold the residue still.
    paused_checks: u32,
    /// Iterations that failed cleanly with ENOMEM (fault injection).
    alloc_failures: u32,
    /// The stress scenario's seed.
    seed: u32,
    /// `latency`: p50 and p99 in nanoseconds of each [`Lat`] measurement.
    latency: [[u32; 2]; Lat::COUNT],
    errors: u32,
    skipped: bool,
}

/// A channel name filter (empty: any channel).
#[derive(Clone, Copy)]
struct ChanName {
    buf: [u8; 32],
    len: usize,
}

/// The debugfs-controlled settings and the last results.
#[pin_data]
struct Ctl {
    #[pin]
    scenario: Mutex<Scenario>,
    #[pin]
    iterations: Mutex<u32>,
    #[pin]
    channel: Mutex<ChanName>,
    #[pin]
    results: Mutex<Results>,
    #[pin]
    seed: Mutex<u32>,
    #[pin]
    hold_us: Mutex<u32>,
    #[pin]
    running: Mutex<()>,
}

/// The state the callbacks of one chain share.
struct ChainState {
    /// The callback of this descriptor terminates the channel.
    stop_at: Option<usize>,
    /// The callback of this descriptor wakes process context.
    notify_at: usize,
    called: [AtomicU32; CHAIN],
    late: AtomicU32,
    /// Callbacks currently running: must be 0 once synchronize returned.
    running: AtomicU32,
    /// How long the notifying callback keeps running after waking process
    /// context (0: not at all).
    hold_us: u32,
    stopped: Arc<ReusableCompletion>,
}

/// How long the stopping callback keeps running after it woke process
/// context, so that synchronize has a running callback to wait for
/// (debugfs `callback_hold_us`; 0 turns this check and the write-after-sync
/// check off).
const CALLBACK_HOLD_US: u32 = 5000;

impl Callback for ChainState {
    fn done(&self, index: usize, ctl: &CallbackCtl<'_>) {
        self.running.fetch_add(1, Ordering::SeqCst);
        self.callback(index, ctl);
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ChainState {
    fn callback(&self, index: usize, ctl: &CallbackCtl<'_>) {
        if let Some(c) = self.called.get(index) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        match self.stop_at {
            // Must never happen: terminate_async ran in an earlier callback.
            Some(k) if index > k => {
                self.late.fetch_add(1, Ordering::Relaxed);
            }
            Some(k) if index == k => {
                if ctl.terminate_async().is_err() {
                    self.late.fetch_add(1000, Ordering::Relaxed);
                }
            }
            _ => {}
        }
        if index == self.notify_at {
            self.stopped.complete_all();
            // Keep running (without sleeping: this is softirq context) while
            // process context calls synchronize, which must wait for us.
            for _ in 0..self.hold_us / 100 {
                udelay(Delta::from_micros(100));
            }
        }
    }
}

/// Cyclic capture: stop after `stop_after` periods, from the callback.
struct CyclicState {
    stop_after: u32,
    periods: AtomicU32,
    late: AtomicU32,
    stopped: Arc<ReusableCompletion>,
}

impl Callback for CyclicState {
    fn done(&self, _index: usize, ctl: &CallbackCtl<'_>) {
        let n = self.periods.fetch_add(1, Ordering::Relaxed) + 1;
        if n == self.stop_after {
            if let Err(e) = ctl.terminate_async() {
                pr_err!("cyclic: terminate_async in the callback failed: {e:?}\n");
                // Counted as late callbacks: the check then fails.
                self.late.fetch_add(1000, Ordering::Relaxed);
            }
            self.stopped.complete_all();
        } else if n > self.stop_after {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn pattern(iter: u32, i: usize) -> u8 {
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
fn chain_bufs(iter: u32) -> Result<KVec<DmaBuf>> {
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

fn chain_ops() -> [Op; CHAIN] {
    core::array::from_fn(|k| Op::Memcpy {
        dst: 2 * k + 1,
        src: 2 * k,
        offset: 0,
        len: CHUNK,
    })
}

/// Checks a finished chain: descriptors up to `last_done` called back once
/// and copied right.
fn check_chain(f: &Finished<ChainState>, last_done: usize, r: &mut Results) {
    for k in 0..CHAIN {
        let (Some(src), Some(dst)) = (f.bufs.get(2 * k), f.bufs.get(2 * k + 1)) else {
            r.errors += 1;
            return;
        };
        let calls = f.state.called[k].load(Ordering::Relaxed);
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
    r.late_callbacks += f.state.late.load(Ordering::Relaxed);
    if f.state.running.load(Ordering::SeqCst) != 0 {
        pr_err!("synchronize returned while a callback was still running\n");
        r.callback_running += 1;
    }
    if f.state.hold_us == 0 {
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
/// Not `fsleep()`: on the zynq guest (HZ_PERIODIC, no high-resolution
/// timers) an `fsleep` of 2 ms from this module never returned.
fn sleep_ms(ms: u32) {
    if let Ok(c) = KBox::pin_init(ReusableCompletion::new(), GFP_KERNEL) {
        c.wait_timeout_ms(ms);
    }
}

/// A copy of every destination buffer.
///
/// A plain copy (memcpy) compared with `==` (memcmp), not a checksum loop:
/// on 32-bit arm the compiler vectorised a checksum fold into code that hung
/// the zynq guest.
fn snapshot(f: &Finished<ChainState>) -> Result<KVec<u8>> {
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
fn last_completed(f: &Finished<ChainState>) -> usize {
    f.state
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
    let stopped = Arc::pin_init(ReusableCompletion::new(), GFP_KERNEL)?;
    let state = ChainState {
        stop_at: (!from_process).then_some(stop_at),
        notify_at: if matches!(scenario, Scenario::SyncInflight | Scenario::PauseResume) {
            0
        } else {
            stop_at
        },
        called: Default::default(),
        late: AtomicU32::new(0),
        running: AtomicU32::new(0),
        // Stress keeps cycles short: the slow checks run every 16th cycle.
        hold_us: if stress && iter % 16 != 0 { 0 } else { hold },
        stopped: stopped.clone(),
    };
    let flight = ch.submit(chain_bufs(iter)?, &chain_ops(), state)?;
    r.transfers += CHAIN as u32;
    match scenario {
        Scenario::SyncInflight => {
            // Wait for the first completion, then stop the rest in flight.
            if !stopped.wait_timeout_ms(TIMEOUT_MS) {
                r.errors += 1;
            }
            let f = stop(flight)?;
            check_chain(&f, last_completed(&f), r);
        }
        Scenario::NegativeSkipSync => {
            if !stopped.wait_timeout_ms(TIMEOUT_MS) {
                r.errors += 1;
            }
            let t = flight.terminate_async().map_err(|(e, _)| e)?;
            // SAFETY: NOT SAFE, on purpose: this is the negative control.
            // The buffers are freed while the engine may still write them;
            // KASAN must report it.
            let f = unsafe { t.finish_without_synchronize() };
            drop(f);
            // Give the engine time to write into the freed buffers while
            // KASAN still has them in quarantine.
            sleep_ms(200);
        }
        Scenario::PauseResume => {
            // Descriptor 0 completed: pause while 1 runs, and check that
            // nothing moves until resume.
            if !stopped.wait_timeout_ms(TIMEOUT_MS) {
                r.errors += 1;
            }
            flight.pause()?;
            // The pause lands at the next burst boundary: wait until a
            // descriptor reports DMA_PAUSED, or the chain is already done.
            let mut paused = None;
            for _ in 0..200 {
                paused =
                    (0..CHAIN).find(|&i| matches!(flight.residue(i), Some((Status::Paused, _))));
                let all_done =
                    (0..CHAIN).all(|i| matches!(flight.residue(i), Some((Status::Complete, _))));
                if paused.is_some() || all_done {
                    break;
                }
                sleep_ms(1);
            }
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
            flight.resume()?;
            // After resume the chain runs to its end.
            let last_done = flight.residue(CHAIN - 1).map(|(s, _)| s);
            let mut waited = 0;
            let mut last = last_done;
            while last != Some(Status::Complete) && waited < TIMEOUT_MS {
                sleep_ms(10);
                waited += 10;
                last = flight.residue(CHAIN - 1).map(|(s, _)| s);
            }
            if last != Some(Status::Complete) {
                pr_err!("resume: the chain did not finish\n");
                r.errors += 1;
            }
            let f = stop(flight)?;
            check_chain(&f, CHAIN - 1, r);
        }
        Scenario::Stress if from_process => {
            if !stopped.wait_timeout_ms(TIMEOUT_MS) {
                r.errors += 1;
            }
            let f = stop(flight)?;
            check_chain(&f, last_completed(&f), r);
        }
        _ => {
            if !stopped.wait_timeout_ms(TIMEOUT_MS) {
                pr_err!("{}: the stopping callback never came\n", scenario.name());
                r.errors += 1;
            }
            let f = stop(flight)?;
            check_chain(&f, stop_at, r);
        }
    }
    Ok(())
}

/// A channel with capability `cap` (named `name`, if given).  Only
/// channels whose provider implements `device_synchronize`, unless the
/// module was loaded with `unsynchronized=1`, which `init` accepts only on a
/// single-CPU kernel.
fn request_channel(cap: Cap, name: Option<&CStr>) -> Result<Channel> {
    if module_parameters::unsynchronized.value() != 1 || kernel::cpu::nr_cpu_ids() != 1 {
        return Channel::request(cap, name, None);
    }
    // SAFETY: The kernel has a single CPU (checked just above, and `init`
    // refuses the parameter otherwise).  Callbacks run in softirq context,
    // which process context cannot interrupt, so when process context calls
    // `dmaengine_synchronize()` no callback is running; and the provider
    // this is for, upstream pl330, stops the channel thread (DMAKILL) in
    // `device_terminate_all` before it returns and moves the descriptors it
    // terminated off its lists, so no callback of them runs later.
    let ch = unsafe { Channel::request_unsynchronized(cap, name, None) }?;
    if !ch.can_synchronize() {
        pr_info!(
            "{}: no device_synchronize; used anyway (unsynchronized=1, single CPU)\n",
            ch.name()
        );
    }
    Ok(ch)
}

/// `terminate_sync`, with a failure to terminate reported as an error (the
/// batch's drop then tries once more, and leaks it if that fails too).
fn stop<S: Callback>(flight: InFlight<'_, S>) -> Result<Finished<S>> {
    flight.terminate_sync().map_err(|(e, flight)| {
        pr_err!("{}: terminate failed: {e:?}\n", flight.channel_name());
        e
    })
}

fn run_cyclic(ch: &mut Channel, iter: u32, r: &mut Results) -> Result {
    const PERIOD: usize = 1024;
    let stopped = Arc::pin_init(ReusableCompletion::new(), GFP_KERNEL)?;
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
    let flight = ch.submit(bufs, &[op], state)?;
    r.transfers += 1;
    if !stopped.wait_timeout_ms(TIMEOUT_MS) {
        r.errors += 1;
    }
    let f = stop(flight)?;
    r.late_callbacks += f.state.late.load(Ordering::Relaxed);
    // The first period holds consecutive samples of the simulated FIFO.
    if let Some(b) = f.bufs.first() {
        let mut words = b.as_slice()[..PERIOD]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        let first = words.next().unwrap_or(0);
        let consecutive = words
            .try_fold(first, |prev, w| (w == prev.wrapping_add(1)).then_some(w))
            .is_some();
        if consecutive {
            r.completed += f.state.periods.load(Ordering::Relaxed);
            r.verified_bytes = r.verified_bytes.saturating_add(PERIOD as u32);
        } else {
            pr_err!("cyclic: samples are not consecutive\n");
            r.errors += 1;
        }
    }
    Ok(())
}

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
}

/// Copies in flight at once for [`Lat::Queued`].
const QUEUED: usize = 8;
/// Bytes per copy for [`Lat::Queued`].
const QUEUED_LEN: usize = 65536;

impl Lat {
    const COUNT: usize = 5;
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
        }
    }
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
    stopped: Arc<ReusableCompletion>,
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
/// `samples`.  Copies are checked like in the other scenarios, so a
/// benchmark of a broken provider does not produce figures.
fn run_latency(
    ch: &mut Channel,
    iter: u32,
    samples: &mut [KVec<u32>; Lat::COUNT],
    r: &mut Results,
) -> Result {
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
    let stopped = Arc::pin_init(ReusableCompletion::new(), GFP_KERNEL)?;
    let state = LatState {
        t0: Instant::now(),
        stop_at: 0,
        terminate: false,
        at_ns: AtomicU32::new(0),
        stopped: stopped.clone(),
    };
    let flight = ch.submit(bufs, &[op], state)?;
    r.transfers += 1;
    if !stopped.wait_timeout_ms(TIMEOUT_MS) {
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
    let stopped = Arc::pin_init(ReusableCompletion::new(), GFP_KERNEL)?;
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
    let stopped = Arc::pin_init(ReusableCompletion::new(), GFP_KERNEL)?;
    let state = LatState {
        t0: Instant::now(),
        stop_at,
        terminate: true,
        at_ns: AtomicU32::new(0),
        stopped: stopped.clone(),
    };
    let flight = ch.submit(chain_bufs(iter)?, &chain_ops(), state)?;
    r.transfers += CHAIN as u32;
    if !stopped.wait_timeout_ms(TIMEOUT_MS) {
        pr_err!("latency: the terminating callback never came\n");
        r.errors += 1;
    }
    let f = stop(flight)?;
    let end_ns = ns_since(f.state.t0);
    let async_ns = end_ns.saturating_sub(f.state.at_ns.load(Ordering::Relaxed));
    check_copies(&f.bufs, stop_at + 1, "chunk", r);

    let queued_ns = run_queued(ch, iter, r)?;

    for (v, x) in samples
        .iter_mut()
        .zip([cb_ns, idle_ns, sync_ns, async_ns, queued_ns])
    {
        v.push(x, GFP_KERNEL)?;
    }
    Ok(())
}

/// One sample of [`Lat::Queued`]: nanoseconds from submit to the last
/// callback; the copies are checked.
fn run_queued(ch: &mut Channel, iter: u32, r: &mut Results) -> Result<u32> {
    let mut bufs = KVec::with_capacity(2 * QUEUED, GFP_KERNEL)?;
    for k in 0..QUEUED {
        let mut src = DmaBuf::new(QUEUED_LEN)?;
        src.as_mut_slice().fill(pattern(iter, k));
        bufs.push(src, GFP_KERNEL)?;
        bufs.push(DmaBuf::new(QUEUED_LEN)?, GFP_KERNEL)?;
    }
    let ops: [Op; QUEUED] = core::array::from_fn(|k| Op::Memcpy {
        dst: 2 * k + 1,
        src: 2 * k,
        offset: 0,
        len: QUEUED_LEN,
    });
    let stopped = Arc::pin_init(ReusableCompletion::new(), GFP_KERNEL)?;
    let state = LatState {
        t0: Instant::now(),
        stop_at: QUEUED - 1,
        terminate: false,
        at_ns: AtomicU32::new(0),
        stopped: stopped.clone(),
    };
    let flight = ch.submit(bufs, &ops, state)?;
    r.transfers += QUEUED as u32;
    if !stopped.wait_timeout_ms(TIMEOUT_MS) {
        pr_err!("latency: the last of {QUEUED} queued copies never called back\n");
        r.errors += 1;
    }
    let f = stop(flight)?;
    check_copies(&f.bufs, QUEUED, "queued copy", r);
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

/// p50 and p99 of `v` (sorts it); zeros if empty.
fn percentiles(v: &mut [u32]) -> [u32; 2] {
    v.sort_unstable();
    let at = |p: usize| v.get(v.len().saturating_sub(1) * p / 100).copied();
    [at(50).unwrap_or(0), at(99).unwrap_or(0)]
}

impl Ctl {
    fn run(&self) -> Result {
        let _running = self.running.lock();
        let scenario = *self.scenario.lock();
        let iterations = *self.iterations.lock();
        let name = *self.channel.lock();
        let filter = core::str::from_utf8(&name.buf[..name.len]).map_err(|_| EINVAL)?;
        let cname = CString::try_from_fmt(fmt!("{filter}"))?;
        let cap = if scenario == Scenario::CyclicStop {
            Cap::Cyclic
        } else {
            Cap::Memcpy
        };
        let seed = *self.seed.lock();
        let hold = *self.hold_us.lock();
        let mut rng = seed.max(1);
        let mut r = Results {
            seed,
            ..Results::default()
        };
        let mut ch = match request_channel(cap, (name.len > 0).then_some(&*cname)) {
            Ok(c) => c,
            Err(e) if e == ENODEV && scenario == Scenario::CyclicStop => {
                pr_info!("cyclic_stop: SKIP: no free channel with DMA_CYCLIC\n");
                r.skipped = true;
                *self.results.lock() = r;
                return Ok(());
            }
            Err(e) => {
                pr_err!(
                    "{}: no free channel matching '{filter}': load a DMA provider first\n",
                    scenario.name()
                );
                return Err(e);
            }
        };
        let mut samples: [KVec<u32>; Lat::COUNT] = Default::default();
        if scenario == Scenario::Latency {
            for v in &mut samples {
                v.reserve(iterations as usize, GFP_KERNEL)?;
            }
        }
        for iter in 0..iterations {
            rng = xorshift(rng);
            let res = match scenario {
                Scenario::CyclicStop => run_cyclic(&mut ch, iter, &mut r),
                Scenario::Latency => run_latency(&mut ch, iter, &mut samples, &mut r),
                _ => run_chain(&mut ch, iter, scenario, rng, hold, &mut r),
            };
            match res {
                Ok(()) => {}
                // A clean allocation failure (fault injection): counted,
                // nothing leaked, nothing left running.
                Err(e) if e == ENOMEM => r.alloc_failures += 1,
                Err(e) => {
                    pr_err!("{}: iteration {iter}: {e:?}\n", scenario.name());
                    r.errors += 1;
                }
            }
            r.iterations += 1;
        }
        for (p, v) in r.latency.iter_mut().zip(samples.iter_mut()) {
            *p = percentiles(v);
        }
        if scenario == Scenario::Latency {
            for (l, [p50, p99]) in Lat::ALL.into_iter().zip(r.latency) {
                pr_info!(
                    "latency on {}: {} p50 {} ns p99 {} ns ({} samples)\n",
                    ch.name(),
                    l.name(),
                    p50,
                    p99,
                    samples[0].len()
                );
            }
        }
        pr_info!(
            "{} on {} (seed {}): {} iterations, {} transfers, {} completed, {} aborted, {} bytes verified, {} late callbacks, {} callbacks running after sync, {} writes after sync, {} allocation failures, {} errors\n",
            scenario.name(),
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
        *self.results.lock() = r;
        Ok(())
    }
}

/// Reads a short trimmed string written to a debugfs file.
fn read_str<'a>(reader: &mut UserSliceReader, buf: &'a mut [u8; 64]) -> Result<&'a str> {
    let n = reader.len();
    if n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    core::str::from_utf8(&buf[..n])
        .map(str::trim)
        .map_err(|_| EINVAL)
}

fn show_scenario(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let cur = *c.scenario.lock();
    for s in Scenario::ALL {
        if s == cur {
            write!(f, "[{}] ", s.name())?;
        } else {
            write!(f, "{} ", s.name())?;
        }
    }
    writeln!(f)
}

fn set_scenario(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 64];
    *c.scenario.lock() = Scenario::parse(read_str(r, &mut b)?)?;
    Ok(())
}

fn show_iterations(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", *c.iterations.lock())
}

/// Reads a decimal number in `range` written to a debugfs file.
fn read_u32(r: &mut UserSliceReader, range: RangeInclusive<u32>) -> Result<u32> {
    let mut b = [0u8; 64];
    let n: u32 = read_str(r, &mut b)?.parse().map_err(|_| EINVAL)?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(EINVAL)
    }
}

fn set_iterations(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    *c.iterations.lock() = read_u32(r, 1..=100_000)?;
    Ok(())
}

fn show_channel(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let n = *c.channel.lock();
    writeln!(f, "{}", core::str::from_utf8(&n.buf[..n.len]).unwrap_or(""))
}

fn set_channel(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 64];
    let s = read_str(r, &mut b)?;
    if s.len() > 31
        || !s
            .bytes()
            .all(|x| x.is_ascii_alphanumeric() || x == b'_' || x == b'-')
    {
        return Err(EINVAL);
    }
    let mut n = ChanName {
        buf: [0; 32],
        len: s.len(),
    };
    n.buf[..s.len()].copy_from_slice(s.as_bytes());
    *c.channel.lock() = n;
    Ok(())
}

fn show_seed(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", *c.seed.lock())
}

fn set_seed(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    *c.seed.lock() = read_u32(r, 0..=u32::MAX)?;
    Ok(())
}

fn show_hold(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", *c.hold_us.lock())
}

fn set_hold(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    *c.hold_us.lock() = read_u32(r, 0..=20_000)?;
    Ok(())
}

fn show_run(_c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "0")
}

fn do_run(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 64];
    if read_str(r, &mut b)? != "1" {
        return Err(EINVAL);
    }
    c.run()
}

fn show_results(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let r = *c.results.lock();
    writeln!(f, "scenario: {}", c.scenario.lock().name())?;
    writeln!(f, "skipped: {}", u32::from(r.skipped))?;
    writeln!(f, "iterations: {}", r.iterations)?;
    writeln!(f, "transfers: {}", r.transfers)?;
    writeln!(f, "completed: {}", r.completed)?;
    writeln!(f, "aborted: {}", r.aborted)?;
    writeln!(f, "verified_bytes: {}", r.verified_bytes)?;
    writeln!(f, "late_callbacks: {}", r.late_callbacks)?;
    writeln!(f, "callback_running_after_sync: {}", r.callback_running)?;
    writeln!(f, "writes_after_sync: {}", r.late_writes)?;
    writeln!(f, "alloc_failures: {}", r.alloc_failures)?;
    writeln!(f, "paused_checks: {}", r.paused_checks)?;
    writeln!(f, "seed: {}", r.seed)?;
    if *c.scenario.lock() == Scenario::Latency {
        for (l, [p50, p99]) in Lat::ALL.into_iter().zip(r.latency) {
            writeln!(f, "{}_ns: p50 {} p99 {}", l.name(), p50, p99)?;
        }
    }
    writeln!(f, "errors: {}", r.errors)
}

/// One client: its settings, results and debugfs files.
#[pin_data]
struct Client {
    #[pin]
    scenario: File<Arc<Ctl>>,
    #[pin]
    iterations: File<Arc<Ctl>>,
    #[pin]
    channel: File<Arc<Ctl>>,
    #[pin]
    seed: File<Arc<Ctl>>,
    #[pin]
    hold: File<Arc<Ctl>>,
    #[pin]
    run: File<Arc<Ctl>>,
    #[pin]
    results: File<Arc<Ctl>>,
    _dir: Dir,
}

impl Client {
    /// A client with its files in `dir`.
    fn new(dir: Dir) -> impl PinInit<Self, Error> {
        let ctl = Arc::pin_init(
            pin_init!(Ctl {
                scenario <- new_mutex!(Scenario::AsyncInCallback),
                iterations <- new_mutex!(10),
                channel <- new_mutex!(ChanName { buf: [0; 32], len: 0 }),
                results <- new_mutex!(Results::default()),
                seed <- new_mutex!(1),
                hold_us <- new_mutex!(CALLBACK_HOLD_US),
                running <- new_mutex!(()),
            }),
            GFP_KERNEL,
        );
        try_pin_init!(Self {
            scenario <- dir.read_write_callback_file(
                c"scenario",
                ctl.clone()?,
                &show_scenario,
                &set_scenario
            ),
            iterations <- dir.read_write_callback_file(
                c"iterations",
                ctl.clone()?,
                &show_iterations,
                &set_iterations
            ),
            channel <- dir.read_write_callback_file(
                c"channel",
                ctl.clone()?,
                &show_channel,
                &set_channel
            ),
            seed <- dir.read_write_callback_file(c"seed", ctl.clone()?, &show_seed, &set_seed),
            hold <- dir.read_write_callback_file(
                c"callback_hold_us",
                ctl.clone()?,
                &show_hold,
                &set_hold
            ),
            run <- dir.read_write_callback_file(c"run", ctl.clone()?, &show_run, &do_run),
            results <- dir.read_callback_file(c"results", ctl.clone()?, &show_results),
            _dir: dir,
        })
    }
}

#[pin_data]
struct RustDmaengineClient {
    #[pin]
    first: Client,
    /// Clients 1 and up (module parameter `clients`).
    more: KVec<Pin<KBox<Client>>>,
}

impl kernel::InPlaceModule for RustDmaengineClient {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let n = module_parameters::clients.value();
        let unsync = module_parameters::unsynchronized.value();
        let checked = if !(1..=MAX_CLIENTS).contains(&n) {
            pr_err!("clients={n} is out of range: use 1 to {MAX_CLIENTS}\n");
            Err(EINVAL)
        } else if unsync > 1 {
            pr_err!("unsynchronized={unsync} is out of range: use 0 or 1\n");
            Err(EINVAL)
        } else if unsync == 1 && kernel::cpu::nr_cpu_ids() != 1 {
            pr_err!(
                "unsynchronized=1 is only sound on a single-CPU kernel (this one has {} CPU ids): \
                 on SMP a callback can still run after dmaengine_synchronize() returns\n",
                kernel::cpu::nr_cpu_ids()
            );
            Err(EINVAL)
        } else {
            Ok(())
        };
        // Refuse to load without a provider: nothing could run.
        let probed = checked.and_then(|()| {
            request_channel(Cap::Memcpy, None)
                .inspect_err(|_| {
                    pr_err!(
                        "no DMA channel with DMA_MEMCPY: load a DMA provider (e.g. rust_dmaengine) first\n"
                    )
                })
                .map(drop)
        });
        let dir = Dir::new(c"rust_dmaengine_client");
        let more = probed.and_then(|()| {
            let mut v = KVec::with_capacity(n as usize - 1, GFP_KERNEL)?;
            for k in 1..n {
                let name = CString::try_from_fmt(fmt!("client{k}"))?;
                v.push(
                    KBox::pin_init(Client::new(dir.subdir(&name)), GFP_KERNEL)?,
                    GFP_KERNEL,
                )?;
            }
            Ok(v)
        });
        try_pin_init!(Self {
            more: more?,
            first <- Client::new(dir),
        })
    }
}
