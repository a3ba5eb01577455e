// SPDX-License-Identifier: GPL-2.0

//! A software DMA engine that keeps the DMA-engine termination contract.
//!
//! `rust_dmaengine` registers a platform device and driver of that name and,
//! on probe, a DMA device with `channels` channels (MEMCPY, MEMSET,
//! CYCLIC).  Each channel's engine behaves like hardware:
//!
//! - it runs asynchronously to the submitter (a work item, the "hardware"),
//!   one burst of `burst_size` bytes at a time, so a terminate can land
//!   mid-transfer; a pause is synchronous: once it returns no burst moves
//!   ([`soft::BurstGate`]);
//! - at the end of a descriptor, and of each cyclic period, it raises an
//!   "interrupt" (an irq_work, hard IRQ context) whose handler completes the
//!   descriptor and schedules callback dispatch (a tasklet);
//! - stopping is a state: `terminate_all` asks the engine to stop and
//!   returns, the engine acknowledges at the next burst boundary, and
//!   `synchronize` waits for that acknowledgement;
//! - with `chain=N` it is a deep queue, as LLI hardware: it goes on with the
//!   next issued descriptor without waiting for its interrupt, which it
//!   raises every N descriptors and when it runs dry, so one tasklet run
//!   calls back a batch (see `chain_done`).
//!
//! Cyclic device-to-memory transfers read a simulated peripheral FIFO: a
//! 32-bit sample counter, as an audio codec would produce.
//!
//! Everything unsafe about the C API is in `dmaengine/`.  What remains here
//! is what only the driver can know about its hardware: that the engine
//! touches a client's memory only while the DMA-engine contract lets it
//! ([`soft::engine_range`]) and that it has stopped
//! ([`dmaengine::provider::VirtChan::engine_stopped`]).  Each is one `unsafe`
//! block with the argument next to it.
//!
//! Built with `--cfg rde_broken_sync` (Kbuild: `rust_dmaengine_broken_sync.ko`)
//! it is the negative control of the contract: `terminate_all` does not
//! announce the running engine's stop, so `synchronize` returns while the
//! engine still copies, and KASAN must catch the client's buffers freed
//! under it.  The product module has no such knob.

use core::sync::atomic::{
    AtomicBool,
    AtomicU32,
    Ordering, //
};
use kernel::{
    device::Core,
    devres::Devres,
    driver, platform,
    prelude::*,
    time::{
        delay::fsleep,
        Delta, //
    },
};

pub mod dmaengine;
pub mod soft;

use soft::{
    BurstGate,
    EnginePair,
    EngineRange,
    SoftChan,
    SoftEngine, //
};

use dmaengine::{
    platform::PlatformDevice,
    provider::{
        Dispatch,
        Inner,
        Provider,
        Registration,
        SlaveConfig,
        TxStatus, //
        VirtChan,
        VirtChanRef,
    },
    queue::Cookie,
    Cap,
    Direction,
    DmaAddress,
    ResidueGranularity,
    Status, //
};

/// `module!` with this module's parameters: the product module and its
/// test build differ only in name and description.
macro_rules! this_module {
    ($name:tt, $description:tt) => {
        module! {
            type: RustDmaengine,
            name: $name,
            authors: ["rust-dmaengine developers"],
            description: $description,
            license: "GPL",
            params: {
                channels: u32 {
                    default: 4,
                    description: "Number of DMA channels (1-32)",
                },
                burst_size: u32 {
                    default: 4096,
                    description: "Bytes the engine moves per burst (64-1048576)",
                },
                burst_delay_us: u32 {
                    default: 0,
                    description: "Extra delay per burst in microseconds, models slow hardware (0-100000)",
                },
                chain: u32 {
                    default: 0,
                    description: "Deep queue: descriptors run back to back per interrupt (0: one at a time; 1-64)",
                },
            },
        }
    };
}

#[cfg(not(any(
    rde_broken_sync,
    rde_bh_skip_cancel,
    rde_release_window,
    rde_forget_registration
)))]
this_module!(
    "rust_dmaengine",
    "Software DMA engine keeping the dmaengine termination contract"
);

// The negative control: the same engine with a broken stop (see the crate
// documentation).
#[cfg(rde_broken_sync)]
this_module!(
    "rust_dmaengine_broken_sync",
    "TEST ONLY: rust_dmaengine whose synchronize does not wait (negative control)"
);

// The negative control of the BH dispatcher: synchronize does not cancel
// and wait for the BH work item (see dmaengine/provider/chan.rs).
#[cfg(rde_bh_skip_cancel)]
this_module!(
    "rust_dmaengine_bh_nocancel",
    "TEST ONLY: rust_dmaengine whose synchronize skips cancel_work_sync (negative control)"
);

// The test of a device released by a client after the unregister (issue
// 21, hole 2; `release_race.sh`): a sysfs unbind file, and the window
// between the unregister and the free widened (see
// `dmaengine/provider/registration.rs`).
#[cfg(all(rde_release_window, not(rde_skip_list_barrier)))]
this_module!(
    "rust_dmaengine_release_race",
    "TEST ONLY: rust_dmaengine with an unbind file and a widened release window"
);

// Its negative control: the free not serialised on dma_list_mutex.
#[cfg(all(rde_release_window, rde_skip_list_barrier))]
this_module!(
    "rust_dmaengine_release_race_nobarrier",
    "TEST ONLY: rust_dmaengine_release_race without the dma_list_mutex barrier (negative control)"
);

// A driver that forgets (`mem::forget`) a registration: the device's
// unbind must still unregister it (`forget.sh`).
#[cfg(rde_forget_registration)]
this_module!(
    "rust_dmaengine_forget",
    "TEST ONLY: rust_dmaengine that forgets the handle of a second DMA device's registration"
);

#[cfg(not(any(
    rde_broken_sync,
    rde_bh_skip_cancel,
    rde_release_window,
    rde_forget_registration
)))]
const NAME: &CStr = c"rust_dmaengine";
#[cfg(rde_forget_registration)]
const NAME: &CStr = c"rust_dmaengine_forget";
#[cfg(all(rde_release_window, not(rde_skip_list_barrier)))]
const NAME: &CStr = c"rust_dmaengine_release_race";
#[cfg(all(rde_release_window, rde_skip_list_barrier))]
const NAME: &CStr = c"rust_dmaengine_release_race_nobarrier";
#[cfg(rde_broken_sync)]
const NAME: &CStr = c"rust_dmaengine_broken_sync";
#[cfg(rde_bh_skip_cancel)]
const NAME: &CStr = c"rust_dmaengine_bh_nocancel";

/// Whether this is the negative control of the BH dispatcher.
const BH_NOCANCEL: bool = cfg!(rde_bh_skip_cancel);

/// Whether this is the negative-control build.
const BROKEN_SYNC: bool = cfg!(rde_broken_sync);

/// Whether this build forgets a second registration's handle.
const FORGET_REGISTRATION: bool = cfg!(rde_forget_registration);

/// The validated module parameters.
#[derive(Clone, Copy)]
struct Config {
    channels: u32,
    burst: usize,
    delay_us: u32,
    /// `dispatch=tasklet|bh`: a string parameter, declared in C (the
    /// `module!` macro takes integers only), see
    /// [`Dispatch::from_module_param`].
    dispatch: Dispatch,
    /// 0: the engine stops after each descriptor until its interrupt
    /// handler starts the next.  N > 0: it chains, as LLI hardware does
    /// (see [`chain_done`]), and raises its interrupt after N descriptors
    /// or when it runs out of issued ones.
    chain: u32,
}

impl Config {
    /// Reads and checks the module parameters; a bad one refuses the load.
    fn from_params() -> Result<Self> {
        let channels = module_parameters::channels.value();
        let burst = module_parameters::burst_size.value();
        let delay_us = module_parameters::burst_delay_us.value();
        let chain = module_parameters::chain.value();
        let check = |name: &str, v: u32, lo: u32, hi: u32| -> Result {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                pr_err!("{name}={v} is out of range: use {lo} to {hi}\n");
                Err(EINVAL)
            }
        };
        check("channels", channels, 1, 32)?;
        check("burst_size", burst, 64, 1 << 20)?;
        check("burst_delay_us", delay_us, 0, 100_000)?;
        check("chain", chain, 0, 64)?;
        Ok(Self {
            channels,
            burst: burst as usize,
            delay_us,
            dispatch: Dispatch::from_module_param()?,
            chain,
        })
    }
}

/// What the engine is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
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

/// Per-channel engine state, under the channel lock.
struct Engine {
    state: State,
    pause_requested: bool,
    /// The descriptor's operation whose first burst started when the
    /// engine started it (in the interrupt handler): that burst completes
    /// even if a stop request comes first, as a hardware burst would.
    started: Option<Xfer>,
    /// Chained mode: descriptors completed since the engine last raised
    /// its interrupt.
    unsignalled: u32,
    slave: SlaveConfig,
}

/// Per-channel data outside the lock: the configuration, and what the
/// engine reads and writes between bursts without taking the lock, as
/// hardware would have status registers.
struct ChanCtl {
    cfg: Config,
    /// Set under the lock by `terminate_all` and `pause`: the engine looks
    /// at its state (under the lock) at the next burst boundary.  Cleared
    /// under the lock by the engine once it has looked.
    attention: AtomicBool,
    /// Bytes done of the active descriptor (`gate.progress`), published
    /// after every burst (the residue), written under the lock when a
    /// descriptor starts; and the pause handshake.
    gate: BurstGate,
    /// The simulated peripheral: next sample of the FIFO.
    sample: AtomicU32,
}

/// What one descriptor asks for, with its memory as the engine reaches it
/// (checked and translated at prep, once), and its length.
///
/// Four words, so that it moves (prep, start, the engine) without a call
/// to `memcpy`: the Rust target of arm64 calls it for larger moves, and for
/// a byte-sized tag followed by 31 bytes (hence the word-sized tag).
#[derive(Clone, Copy)]
#[repr(usize)]
enum Xfer {
    Memcpy(EnginePair),
    Memset { dst: EngineRange, value: u8 },
    Cyclic { buf: CyclicBuf, period: usize },
}

/// The buffer of a cyclic transfer.
#[derive(Clone, Copy)]
enum CyclicBuf {
    /// Device-to-memory: the buffer the simulated FIFO fills.
    Fill(EngineRange),
    /// Memory-to-device, whose simulated sink reads nothing: the buffer's
    /// length.
    Sink(usize),
}

const _: () = assert!(core::mem::size_of::<Option<Xfer>>() <= 4 * core::mem::size_of::<usize>());

impl Xfer {
    /// The transfer's length in bytes (a cyclic one: its buffer's).
    fn len(&self) -> usize {
        match self {
            Xfer::Memcpy(p) => p.len(),
            Xfer::Memset { dst, .. } => dst.len(),
            Xfer::Cyclic {
                buf: CyclicBuf::Fill(b),
                ..
            } => b.len(),
            Xfer::Cyclic {
                buf: CyclicBuf::Sink(len),
                ..
            } => *len,
        }
    }
}

struct SoftDma;

#[vtable]
impl Provider for SoftDma {
    type Desc = Xfer;
    type Engine = Engine;
    type ChanData = SoftChan<Self, ChanCtl>;

    // Memcpy and memset, and cyclic transfers to or from a (simulated)
    // device FIFO of any of the usual widths; `tx_status` counts bursts.
    const DIRECTIONS: &'static [Direction] = &[
        Direction::MemToMem,
        Direction::MemToDev,
        Direction::DevToMem,
    ];
    const ADDR_WIDTHS: &'static [u32] = &[1, 2, 4, 8];
    const RESIDUE_GRANULARITY: ResidueGranularity = ResidueGranularity::Burst;

    fn prep_memcpy(
        chan: &VirtChan<Self>,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
    ) -> Result<Xfer> {
        if len == 0 {
            return Err(EINVAL);
        }
        // SAFETY: `dst`, `src` and `len` are the arguments of this prep;
        // accesses as for `reachable`.
        match unsafe { soft::engine_pair(chan, dst, src, len) } {
            Ok(p) => Ok(Xfer::Memcpy(p)),
            Err(e) => Err(report_unreachable(chan, dst, src, len, e)),
        }
    }

    fn prep_memset(chan: &VirtChan<Self>, dst: DmaAddress, value: u8, len: usize) -> Result<Xfer> {
        if len == 0 {
            return Err(EINVAL);
        }
        Ok(Xfer::Memset {
            dst: reachable(chan, dst, len)?,
            value,
        })
    }

    fn prep_cyclic(
        chan: &VirtChan<Self>,
        buf: DmaAddress,
        buf_len: usize,
        period: usize,
        dir: Direction,
    ) -> Result<Xfer> {
        if period == 0 || buf_len == 0 || buf_len % period != 0 || dir == Direction::MemToMem {
            dev_err!(
                chan.dev(),
                "cyclic: bad geometry (buffer {buf_len}, period {period}, {dir:?})\n"
            );
            return Err(EINVAL);
        }
        let buf = if dir == Direction::DevToMem {
            CyclicBuf::Fill(reachable(chan, buf, buf_len)?)
        } else {
            CyclicBuf::Sink(buf_len)
        };
        Ok(Xfer::Cyclic { buf, period })
    }

    fn slave_config(chan: &VirtChan<Self>, cfg: &SlaveConfig) -> Result {
        chan.lock().engine.slave = *cfg;
        Ok(())
    }

    #[inline]
    fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
        if g.issue_pending() && g.engine.state == State::Idle && !g.engine.pause_requested {
            start_next(&chan, g);
        }
    }

    #[inline]
    fn tx_status(chan: &VirtChan<Self>, g: &Inner<Self>, cookie: Cookie) -> TxStatus {
        let residue = match (g.queue().active(), g.queue().find(cookie)) {
            (Some(a), Some(d)) if a.cookie() == cookie => d
                .len()
                .saturating_sub(chan.data().ctl.gate.progress.load(Ordering::Relaxed)),
            (_, Some(d)) => d.len(),
            (_, None) => 0,
        };
        // A paused channel pauses every transaction on it, not only the
        // active one; it is paused as soon as `pause` returned, before the
        // engine parks.
        let status = if g.engine.pause_requested {
            Status::Paused
        } else {
            Status::InProgress
        };
        TxStatus {
            status,
            residue: u32::try_from(residue).unwrap_or(u32::MAX),
            // A burst is read and written in one go.
            in_flight_bytes: 0,
        }
    }

    fn pause(chan: VirtChanRef<'_, Self>) -> Result {
        chan.lock().engine.pause_requested = true;
        chan.data().ctl.attention.store(true, Ordering::Release);
        // Synchronous, as `device_pause` should be: once this returns no
        // burst moves until resume (the engine parks at its next look).
        chan.data().ctl.gate.pause();
        Ok(())
    }

    fn resume(chan: VirtChanRef<'_, Self>) -> Result {
        let mut g = chan.lock();
        g.engine.pause_requested = false;
        chan.data().ctl.gate.unpause();
        match g.engine.state {
            State::Paused => {
                g.engine.state = State::Running;
                soft::kick(&g);
            }
            State::Idle => start_next(&chan, &mut g),
            _ => {}
        }
        Ok(())
    }

    fn terminate_all(chan: &VirtChan<Self>, g: &mut Inner<Self>) -> Result {
        match g.engine.state {
            // The engine may be in the middle of a burst: ask it to stop and
            // let `synchronize` wait for the acknowledgement.
            State::Running => {
                if !BROKEN_SYNC {
                    chan.engine_stopping();
                }
                g.engine.state = State::Stopping;
                chan.data().ctl.attention.store(true, Ordering::Release);
            }
            // Not touching memory: stopped already.
            State::IrqPending | State::Paused => g.engine.state = State::Idle,
            State::Idle | State::Stopping => {}
        }
        g.engine.pause_requested = false;
        chan.data().ctl.gate.unpause();
        // The completed descriptors not yet signalled are terminated with
        // the rest: their callbacks do not run.
        g.engine.unsignalled = 0;
        Ok(())
    }

    fn synchronize(chan: VirtChanRef<'_, Self>) {
        // The negative control does not wait for its engine here either:
        // waiting for the work would wait for the stop it never announced.
        if !BROKEN_SYNC {
            soft::synchronize(&chan);
        }
    }
}

impl SoftEngine for SoftDma {
    type Ctl = ChanCtl;

    fn engine_run(chan: VirtChanRef<'_, Self>) {
        // A plain reference, `Send` as `with_lock` wants.
        let chan: &VirtChan<Self> = &chan;
        let ctl = &chan.data().ctl;
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
                    return Some((op, op.len(), single));
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
                        g.start_next()?;
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
                    Some(d) => Some((d.data, d.data.len(), false)),
                    None => {
                        g.engine.state = State::Idle;
                        None
                    }
                }
            });
            let Some((op, len, single)) = picked else {
                return;
            };

            // Without the lock: bursts until the descriptor or period ends
            // or a request wants attention.
            let Some(off) = run_bursts(chan, ctl, op, len, single) else {
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
                            soft::raise_irq(g);
                        }
                        if off >= len {
                            ctl.gate.progress.store(0, Ordering::Relaxed);
                        }
                        true
                    }
                    _ if off >= len && ctl.cfg.chain > 0 => chain_done(chan, g),
                    _ if off >= len => {
                        g.engine.state = State::IrqPending;
                        soft::raise_irq(g);
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

    // Inlined into its trampoline, as C's handler is the irq_work function.
    #[inline]
    fn irq(chan: VirtChanRef<'_, Self>) {
        let chan: &VirtChan<Self> = &chan;
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
fn chain_done(chan: &VirtChan<SoftDma>, g: &mut Inner<SoftDma>) -> bool {
    g.complete_active();
    g.engine.unsignalled += 1;
    let next = !g.engine.pause_requested && g.start_next().is_some();
    if next {
        chan.data().ctl.gate.progress.store(0, Ordering::Relaxed);
        if g.engine.unsignalled >= chan.data().ctl.cfg.chain {
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
fn signal(g: &mut Inner<SoftDma>) {
    if g.engine.unsignalled > 0 {
        g.engine.unsignalled = 0;
        soft::raise_irq(g);
    }
}

/// Makes the next issued descriptor active and starts the engine on it.
fn start_next(chan: &VirtChan<SoftDma>, g: &mut Inner<SoftDma>) {
    let started = match g.start_next() {
        Some(d) => d.data,
        None => return,
    };
    // The hardware fetches the descriptor and starts its first burst now.
    g.engine.started = Some(started);
    g.engine.state = State::Running;
    chan.data().ctl.gate.progress.store(0, Ordering::Relaxed);
    soft::kick(g);
}

/// The engine's view of `len` bytes at `addr`, checked at prep time so that
/// an address the engine cannot reach is a clean error for the client (the
/// prep returns NULL) and not a dropped transfer later.
///
/// Call it only from a `prep_*` callback, with its arguments.
fn reachable(chan: &VirtChan<SoftDma>, addr: DmaAddress, len: usize) -> Result<EngineRange> {
    // The engine reads a descriptor's ranges only while it is the active
    // one (`start_next`/`engine_run` take `op` from `queue.active()` under
    // the lock, or from `started`, set with it), so never after it
    // completed; a descriptor terminated while the engine runs is announced
    // with `engine_stopping` in `terminate_all` and acknowledged with
    // `engine_stopped` only once the engine is back between bursts.
    // SAFETY: `addr` and `len` are the arguments of the `prep_*` call that
    // makes the descriptor (only `prep_*` call this); accesses as above.
    unsafe { soft::engine_range(chan, addr, len) }.inspect_err(|_| {
        dev_err!(
            chan.dev(),
            "chan {}: DMA address {addr:#x} (+{len}) is not RAM the engine can reach\n",
            chan.index()
        )
    })
}

/// Reports a copy whose memory the engine cannot reach; returns `e`.  Out
/// of line: the message would otherwise make every prep's stack frame.
#[cold]
#[inline(never)]
fn report_unreachable(
    chan: &VirtChan<SoftDma>,
    dst: DmaAddress,
    src: DmaAddress,
    len: usize,
    e: Error,
) -> Error {
    dev_err!(
        chan.dev(),
        "chan {}: DMA address {dst:#x} or {src:#x} (+{len}) is not RAM the engine can reach\n",
        chan.index()
    );
    e
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
fn run_bursts(
    chan: &VirtChan<SoftDma>,
    ctl: &ChanCtl,
    op: Xfer,
    len: usize,
    single: bool,
) -> Option<usize> {
    let off = ctl.gate.progress.load(Ordering::Relaxed).min(len);
    // One loop per kind of operation, so that the per-burst work is only
    // the move itself and the checks.
    let burst = ctl.cfg.burst;
    let (res, end) = match op {
        // Three loops each: one burst (`single`), and bursts with and
        // without the burst delay, so that the common one (no delay, not
        // single) tests for neither after every burst.
        Xfer::Memcpy(p) => {
            burst_delay(ctl);
            let r = match (single, ctl.cfg.delay_us) {
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
            let r = match (single, ctl.cfg.delay_us) {
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
        Xfer::Cyclic {
            buf: CyclicBuf::Fill(b),
            period,
        } => bursts(ctl, off, period, single, |o, n| {
            write_samples(&b, o, &ctl.sample, n)
        }),
        Xfer::Cyclic {
            buf: CyclicBuf::Sink(_),
            period,
        } => bursts(ctl, off, period, single, |_, _| Ok(())),
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
fn burst_delay(ctl: &ChanCtl) {
    if ctl.cfg.delay_us > 0 {
        fsleep(Delta::from_micros(i64::from(ctl.cfg.delay_us)));
    }
}

/// What the engine does after each burst of a one-shot transfer of `len`
/// bytes (the gate published the progress): unless that was the last
/// burst (the engine looks at its requests under the lock next anyway),
/// stop when a request wants attention, and otherwise take the next
/// burst's time if `DELAY` (the caller's `delay_us > 0`).
fn burst_step<const DELAY: bool>(ctl: &ChanCtl, len: usize) -> impl FnMut(usize) -> bool + '_ {
    move |reached| {
        if reached >= len {
            return true;
        }
        if ctl.attention.load(Ordering::Acquire) {
            return false;
        }
        if DELAY {
            // The caller's `delay_us > 0`: no test after every burst.
            fsleep(Delta::from_micros(i64::from(ctl.cfg.delay_us)));
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

/// A cyclic transfer's bursts: at most the configured size from `off`,
/// none crossing a multiple of `unit` (the period), with
/// `mv(offset, bytes)` doing the move.  Stops after the burst that reaches
/// such a boundary, after the first burst if `single`, or when a request
/// wants attention.  Returns the result and the progress reached.
fn bursts(
    ctl: &ChanCtl,
    mut off: usize,
    unit: usize,
    single: bool,
    mut mv: impl FnMut(usize, usize) -> Result,
) -> (Result, usize) {
    let burst = ctl.cfg.burst;
    loop {
        let left = unit - off % unit;
        // Cyclic samples are words: keep bursts a multiple of 4.
        let n = match burst.min(left) & !3 {
            0 => left,
            n => n,
        };
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

/// The platform driver: registers the DMA device on probe; dropping it on
/// remove unregisters.
struct DmaDriver {
    _reg: Devres<Registration<SoftDma>>,
}

impl platform::Driver for DmaDriver {
    type IdInfo = ();
    type Data<'bound> = Self;

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self, Error> + 'bound {
        let dev = pdev.as_ref();
        let cfg = Config::from_params()?;
        let chan_init = |_| {
            Ok((
                Engine {
                    state: State::Idle,
                    pause_requested: false,
                    started: None,
                    unsignalled: 0,
                    slave: SlaveConfig::default(),
                },
                SoftChan::new(ChanCtl {
                    cfg,
                    attention: AtomicBool::new(false),
                    gate: BurstGate::new(),
                    sample: AtomicU32::new(0),
                }),
            ))
        };
        let reg = Registration::<SoftDma>::with_dispatch(
            dev,
            // No DMA_SLAVE: there is no `prep_slave_sg`.  Cyclic transfers
            // still take a slave configuration.
            &[Cap::Memcpy, Cap::Memset, Cap::Cyclic],
            cfg.channels,
            cfg.dispatch,
            &chan_init,
        )
        .inspect_err(|e| dev_err!(dev, "cannot register the DMA device: {e:?}\n"))?;
        dev_info!(
            dev,
            "registered {} channels: burst {} B, delay {} us, dispatch {}, chain {}\n",
            cfg.channels,
            cfg.burst,
            cfg.delay_us,
            cfg.dispatch.name(),
            cfg.chain
        );
        if FORGET_REGISTRATION {
            let lost = Registration::<SoftDma>::with_dispatch(
                dev,
                &[Cap::Memcpy],
                1,
                cfg.dispatch,
                &chan_init,
            )?;
            dev_warn!(
                dev,
                "TEST BUILD: a second DMA device's registration is forgotten; unbinding the \
                 driver must still unregister it\n"
            );
            core::mem::forget(lost);
        }
        if BH_NOCANCEL {
            dev_warn!(
                dev,
                "TEST BUILD: synchronize does not wait for the BH dispatcher; negative control only\n"
            );
        }
        if BROKEN_SYNC {
            dev_warn!(
                dev,
                "TEST BUILD: device_synchronize returns while the engine runs; negative control only\n"
            );
        }
        Ok(Self { _reg: reg })
    }
}

/// How the driver is registered: without sysfs `unbind`, so that the device
/// goes only with the module, which clients holding channels keep loaded.
#[cfg(not(rde_release_window))]
type DriverOps = dmaengine::platform::NoUnbind<DmaDriver>;

/// The release-window test builds have an `unbind` file: `release_race.sh`
/// unbinds the device while a client holds a channel.
#[cfg(rde_release_window)]
type DriverOps = platform::Adapter<DmaDriver>;

/// The module: our platform device and the driver that binds to it.
struct RustDmaengine {
    _driver: Pin<KBox<driver::Registration<DriverOps>>>,
    _pdev: PlatformDevice,
}

impl kernel::Module for RustDmaengine {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // Refuse bad parameters before anything is registered.
        Config::from_params()?;
        let pdev = PlatformDevice::register(NAME, true)?;
        let driver = KBox::pin_init(driver::Registration::new(NAME, module), GFP_KERNEL)?;
        pr_info!("loaded\n");
        Ok(Self {
            _driver: driver,
            _pdev: pdev,
        })
    }
}

impl Drop for RustDmaengine {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
