// SPDX-License-Identifier: GPL-2.0

//! A channel thread: its state under the channel lock, its transfers, and
//! how a stop or a fault settles before anything completes.

use super::*;
use kernel::{
    impl_has_work,
    io::Io,
    time::{
        delay::fsleep,
        Delta, //
    },
    workqueue::{
        self,
        WorkItem, //
    },
};

/// What a channel thread is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Stopped, nothing active.
    Idle,
    /// Running the active descriptor's program.
    Running,
    /// `DMAKILL` issued by `terminate_all`, the thread not yet Stopped;
    /// the stop was announced (`engine_stopping`).
    Stopping,
    /// The thread faulted, or did not end after its event, and was
    /// killed, but does not read Stopped yet (Killing: on silicon a stalled
    /// AXI slave keeps its writes outstanding).  The active descriptor
    /// stays active, its program in the slot, until the thread reads
    /// Stopped; then it completes with this result (`settle`).  Until then
    /// the channel refuses new transfers and `synchronize` waits.
    Ending(TxResult),
}

/// Per-channel state under the channel lock.
pub(crate) struct Engine {
    pub(crate) state: State,
}

/// Per-channel data outside the lock.
#[pin_data]
pub(crate) struct Chan {
    pub(crate) hw: Arc<Hw>,
    /// The channel's microcode slot: the active descriptor's program,
    /// written only while the thread is Stopped, under the channel lock.
    pub(crate) mc: Coherent<[u8; MC_SLOT]>,
    /// Its bus address (checked below 4 GiB at probe).
    pub(crate) mc_addr: u32,
    /// Fault injection (the fault-test build's; none otherwise).
    pub(crate) faults: Faults,
    /// Set while the thread of a failed transfer has not stopped (state
    /// `Ending`, and `Stopping` after it): `prep` refuses new transfers.
    pub(crate) failed: AtomicBool,
}

/// A memcpy descriptor: its addresses and its program.
pub(crate) struct Xfer {
    pub(crate) dst: u32,
    pub(crate) src: u32,
    pub(crate) len: u32,
    pub(crate) mc: [u8; MC_SLOT],
    pub(crate) mc_len: usize,
}

impl Xfer {
    /// Generates the program of a copy of `len` bytes on channel `ch`.
    pub(crate) fn memcpy(hw: &Geometry, ch: u32, dst: u32, src: u32, len: u32) -> Result<Self> {
        // Beat size: the widest that divides both addresses and the
        // length, up to the bus width.
        let mut bsize = hw.bus_bytes;
        while (src | dst | len) & (bsize - 1) != 0 {
            bsize /= 2;
        }
        // Beats per burst: the channel's share of the MFIFO, at most 16;
        // one beat when the beat is narrower than the bus, so that a burst
        // never straddles an MFIFO line (as drivers/dma/pl330.c does).
        let blen = if bsize < hw.bus_bytes {
            1
        } else {
            (hw.bus_bytes * (hw.buf_dep / hw.nchan) / bsize).clamp(1, 16)
        };
        let ccr = |blen: u32| {
            let size = bsize.trailing_zeros();
            let ns = if hw.ns { (1 << 9) | (1 << 23) } else { 0 };
            // SRC_INC, DST_INC; sizes and burst lengths; non-secure bits.
            1 | (1 << 14) | (size << 1) | ((blen - 1) << 4) | (size << 15) | ((blen - 1) << 18) | ns
        };
        let burst = bsize * blen;
        let mut x = Self {
            dst,
            src,
            len,
            mc: [0; MC_SLOT],
            mc_len: 0,
        };
        let mut mc = Mc::new(&mut x.mc);
        mc.mov(MovReg::Ccr, ccr(blen))?;
        mc.mov(MovReg::Sar, src)?;
        mc.mov(MovReg::Dar, dst)?;
        mc.bursts(len / burst)?;
        let dregs = (len % burst) / bsize;
        if dregs > 0 {
            mc.mov(MovReg::Ccr, ccr(dregs))?;
            mc.burst()?;
        }
        mc.finish(ch)?;
        x.mc_len = mc.off;
        Ok(x)
    }
}

/// Makes the next issued descriptor active and starts the thread on it,
/// if the thread is idle and the device alive.  Under the channel lock.
pub(crate) fn start_next(chan: &Pl330Chan, g: &mut Inner<Pl330>) {
    if g.is_dead() || g.engine.state != State::Idle {
        return;
    }
    let data = chan.data();
    let ch = chan.index();
    test_check_stopped(chan, "a program started");
    match g.start_next() {
        // The thread is Stopped (`Idle`): it does not read its microcode
        // until the `DMAGO` below, an MMIO write ordered after this one.
        Some(d) => (&data.mc).copy_write(d.data.mc),
        None => return,
    }
    // SAFETY: The thread is Stopped (`Idle`).  `mc_addr`, the channel's
    // coherent slot, is freed only once the device is unregistered and every
    // thread killed (`Pl330Driver::drop`).  Its program is the active
    // descriptor's, which `Xfer::memcpy` made access only the client's source
    // and destination, lent for DMA until completion or, once terminated,
    // until `engine_stopped` (only when the thread reads Stopped: `settle`).
    let started = unsafe { data.hw.go(ch, data.mc_addr) };
    match started {
        Ok(()) => g.engine.state = State::Running,
        Err(e) => {
            dev_err!(
                chan.dev(),
                "chan {ch}: DMAGO failed, the debug interface is busy ({e:?}); transfer aborted\n"
            );
            let len = g.queue().active().map_or(0, |d| d.data.len);
            g.complete_active_with(TxResult::Aborted, len);
            chan.schedule_callbacks();
        }
    }
}

/// The bytes of the active descriptor not yet written, by the destination
/// address register (burst granularity); all of them if the program has
/// not set it yet.  Under the channel lock.
pub(crate) fn active_residue(chan: &Pl330Chan, g: &Inner<Pl330>) -> u32 {
    active_progress(chan, g).0
}

/// The active descriptor's residue (as [`active_residue`]) and the bytes
/// read but not yet written, which wait in the MFIFO (`in_flight_bytes`):
/// the source address register runs ahead of the destination's by them.
/// Under the channel lock.
pub(crate) fn active_progress(chan: &Pl330Chan, g: &Inner<Pl330>) -> (u32, u32) {
    let Some(a) = g.queue().active() else {
        return (0, 0);
    };
    let hw = &chan.data().hw;
    let x = &a.data;
    // Before the program's `DMAMOV DAR`/`SAR` a register may hold
    // anything: then nothing is done.  DAR first: SAR only runs ahead of it.
    let done = |reg: u32, base: u32| Some(reg.wrapping_sub(base)).filter(|&d| d <= x.len);
    let written = done(hw.dar(chan.index()), x.dst).unwrap_or(0);
    let read = done(hw.sar(chan.index()), x.src).unwrap_or(0);
    (x.len - written, read.saturating_sub(written))
}

/// Fault-test build: reports, as an error the test looks for, a
/// descriptor completed, a stop acknowledged or a slot reused while the
/// thread is still Killing.  Never in the product build.
pub(crate) fn test_check_stopped(chan: &Pl330Chan, what: &str) {
    if chan.data().hw.lagging(chan.index()) {
        dev_err!(
            chan.dev(),
            "TEST BUILD: chan {}: {what} while its thread is still Killing\n",
            chan.index()
        );
        // A kernel report, which fails any boot that sees it.
        kernel::warn_on!(true);
    }
}

/// Once the thread of a killed channel reads Stopped: acknowledges a stop
/// announced by `terminate_all` (`Stopping`), or completes the descriptor
/// of a fault (`Ending`).  Returns whether a descriptor completed (its
/// callback is due).  Under the channel lock.
pub(crate) fn settle(chan: &Pl330Chan, g: &mut Inner<Pl330>) -> bool {
    let (State::Stopping | State::Ending(_)) = g.engine.state else {
        return false;
    };
    if !chan.data().hw.stopped(chan.index()) {
        return false;
    }
    let state = core::mem::replace(&mut g.engine.state, State::Idle);
    chan.data().failed.store(false, Ordering::Relaxed);
    match state {
        State::Ending(r) => {
            test_check_stopped(chan, "a failed transfer completed");
            // The thread reads Stopped: its program's writes are done (or
            // were never made), and the slot may take the next program.
            let residue = active_residue(chan, g);
            g.complete_active_with(r, residue)
        }
        _ => {
            test_check_stopped(chan, "a stop acknowledged");
            // SAFETY: The thread reads Stopped after the `DMAKILL` that
            // `terminate_all` (or the fault path) issued: the PL330 enters
            // Stopped from Killing only once its outstanding bus
            // transactions have completed, and it fetches no instruction
            // while Stopped; it is started again only by `start_next`, on a
            // descriptor that is not terminated.
            unsafe { chan.engine_stopped() };
            false
        }
    }
}

/// The thread of channel `c` was killed but is not Stopped: the active
/// descriptor waits (`State::Ending`) and the channel refuses new work
/// until `StopWatch` (or `synchronize`, or `terminate_all`) sees it
/// Stopped.  Under the channel lock.
pub(crate) fn stop_pending(w: &Arc<StopWatch>, g: &mut Inner<Pl330>, r: TxResult) {
    let c = &w.chan;
    let ch = c.index();
    dev_err!(
        c.dev(),
        "chan {ch}: thread not stopped after DMAKILL (CSR {:#x}); its transfer completes, \
         and the channel takes new work, only once it stops\n",
        c.data().hw.csr(ch)
    );
    g.engine.state = State::Ending(r);
    c.data().failed.store(true, Ordering::Relaxed);
    // Already queued: it is running or about to, and looks again.
    let _ = workqueue::system_long().enqueue(w.clone());
}

/// The poll of a thread in `State::Ending`: it raises no interrupt when
/// it reaches Stopped, so a work item looks, sleeping between looks, and
/// kills it again now and then, with a warning.
pub(crate) fn stop_watch(c: &Arc<Pl330Chan>) {
    let ch = c.index();
    let hw = &c.data().hw;
    let mut rounds: u32 = 0;
    loop {
        let stopped = hw.wait_stopped(ch);
        {
            let mut g = c.lock();
            let State::Ending(_) = g.engine.state else {
                // Settled, or terminated, by someone else.
                return;
            };
            if stopped && settle(c, &mut g) {
                start_next(c, &mut g);
                drop(g);
                c.schedule_callbacks();
                return;
            }
        }
        rounds = rounds.wrapping_add(1);
        if rounds % 1000 == 0 {
            dev_warn!(
                c.dev(),
                "chan {ch}: thread still not stopped (CSR {:#x}); killing it again\n",
                hw.csr(ch)
            );
            let _ = hw.kill(ch);
        }
        fsleep(Delta::from_millis(1));
    }
}

/// The work item that polls a channel in `State::Ending` (`stop_watch`):
/// one per channel, made at probe, held by the interrupt handlers (which
/// queue it) and the driver (which waits for it at unbind).  Not in the
/// channel's data: the channel is the framework's type, and a driver crate
/// cannot implement the kernel crate's `HasWork` for it.
#[pin_data]
pub(crate) struct StopWatch {
    pub(crate) chan: Arc<Pl330Chan>,
    #[pin]
    pub(crate) work: Work<StopWatch>,
}

impl_has_work! {
    impl HasWork<Self> for StopWatch { self.work }
}

impl WorkItem for StopWatch {
    type Pointer = Arc<StopWatch>;

    fn run(this: Arc<StopWatch>) {
        stop_watch(&this.chan);
    }
}

impl StopWatch {
    pub(crate) fn new(chan: Arc<Pl330Chan>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                chan,
                work <- new_work!("rust_pl330::StopWatch::work"),
            }),
            GFP_KERNEL,
        )
    }

    /// Waits until the stop watch is neither queued nor running.  Sleeps.
    pub(crate) fn flush(&self) {
        // SAFETY: `work` was initialised by `new_work!` (`StopWatch::new`).
        unsafe { kernel::bindings::flush_work(Work::raw_get(&self.work)) };
    }
}

/// The rest of `synchronize`, after the interrupt handlers: waits until a
/// stop announced by `terminate_all`, or a killed thread's failed transfer,
/// has settled (the thread reads Stopped), killing again now and then,
/// then starts what was issued meanwhile.
pub(crate) fn wait_settled(chan: &Pl330Chan) {
    let hw = &chan.data().hw;
    // A stop announced by `terminate_all`, or a killed thread's
    // failed transfer: wait for Stopped.
    let mut polls: u32 = 0;
    loop {
        {
            let mut g = chan.lock();
            let done = settle(chan, &mut g);
            if let State::Idle | State::Running = g.engine.state {
                start_next(chan, &mut g);
                drop(g);
                if done {
                    chan.schedule_callbacks();
                }
                return;
            }
        }
        polls = polls.wrapping_add(1);
        if polls % STOP_POLL == 0 {
            dev_warn!(
                chan.dev(),
                "chan {}: synchronize: thread not stopped after DMAKILL (CSR {:#x}); \
                 killing again and waiting\n",
                chan.index(),
                hw.csr(chan.index())
            );
            let _ = hw.kill(chan.index());
        }
        cpu_relax();
    }
}
