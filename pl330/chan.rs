// SPDX-License-Identifier: GPL-2.0

//! A channel thread: its state under the channel lock, its transfers, and
//! how a stop or a fault settles before anything completes.

use super::*;
use kernel::{
    impl_has_work,
    sync::Mutex,
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
    /// Paused (`device_pause`): the thread was killed between bursts; the
    /// active descriptor resumes from `Engine::paused_at` with a program of
    /// its rest.
    Paused,
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
    /// A cyclic transfer's periods reported in its current lap.
    pub(crate) lap: u32,
    /// A cyclic transfer's next lap is due, from the stop watch's BH work
    /// item (see `Irq::periods`).
    pub(crate) restart: bool,
    /// The bytes the active descriptor had done when it was paused.
    pub(crate) paused_at: u32,
    /// The slot holds a resumed program (the rest of a cyclic lap), not the
    /// active descriptor's own: the next lap writes that first.
    pub(crate) resumed: bool,
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
    /// The peripheral request line this channel serves: its index, as in
    /// `drivers/dma/pl330.c`'s binding (`dmas = <&dma N>` names channel
    /// `N`); `None` for the channels beyond the controller's lines.
    pub(crate) line: Option<u32>,
    /// The controller's runtime PM, and the usage reference the channel's
    /// client holds (from `alloc_chan_resources` to
    /// `free_chan_resources`): the controller is active while a client
    /// holds a channel.
    pub(crate) rpm: amba::Rpm,
    #[pin]
    pub(crate) active: Mutex<Option<amba::Active>>,
    /// The channel thread its client holds, taken in
    /// `alloc_chan_resources` and given back in `free_chan_resources`, or
    /// [`NO_THREAD`].  It changes only while no client holds the channel,
    /// so every method called for a client sees one value.
    pub(crate) thread: AtomicU32,
}

/// [`Chan::thread`] of a channel no client holds.
pub(crate) const NO_THREAD: u32 = u32::MAX;

impl Chan {
    /// The channel's thread ([`NO_THREAD`] if no client holds it: every
    /// register access on it reads as a Stopped thread and writes nothing).
    pub(crate) fn thread(&self) -> u32 {
        self.thread.load(Ordering::Relaxed)
    }
}

/// Makes the next issued descriptor active and starts the thread on it,
/// if the thread is idle and the device alive.  Under the channel lock.
pub(crate) fn start_next(chan: &Pl330Chan, g: &mut Inner<Pl330>) {
    if g.is_dead() || g.engine.state != State::Idle {
        return;
    }
    if chan.data().hw.suspended.load(Ordering::Relaxed) {
        // The system sleeps: it starts at resume (`Pl330Driver::resume`).
        return;
    }
    let data = chan.data();
    let ch = data.thread();
    test_check_stopped(chan, "a program started");
    match g.start_next() {
        // The thread is Stopped (`Idle`).
        Some(d) => write_slot(data, &d.data.mc[..d.data.mc_len.min(MC_SLOT)]),
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
        Ok(()) => {
            g.engine.state = State::Running;
            g.engine.lap = 0;
            g.engine.restart = false;
            g.engine.resumed = false;
        }
        Err(e) => {
            dev_err!(
                chan.dev(),
                "thread {ch}: DMAGO failed, the debug interface is busy ({e:?}); transfer aborted\n"
            );
            let len = g.queue().active().map_or(0, |d| d.data.len);
            g.complete_active_with(TxResult::Aborted, len);
            chan.schedule_callbacks();
        }
    }
}

/// Writes `prog` into the channel's microcode slot.  Under the channel
/// lock, with the channel's thread Stopped: the controller does not read
/// the slot until the next `DMAGO` (an MMIO write, ordered after these
/// stores by its barrier).
pub(crate) fn write_slot(data: &Chan, prog: &[u8]) {
    let n = prog.len().min(MC_SLOT);
    // SAFETY: The slot is `MC_SLOT` bytes of coherent memory, and `n` is at
    // most that; the thread is Stopped (the caller's promise), so the
    // controller does not read it now, and the CPU writes it only under the
    // channel lock, which the caller holds.
    unsafe { core::ptr::copy_nonoverlapping(prog.as_ptr(), data.mc.as_mut_ptr().cast::<u8>(), n) };
}

/// The bytes of the active descriptor not yet transferred, by its memory
/// side's address register (burst granularity); all of them if the
/// program has not set it yet.  Under the channel lock.
pub(crate) fn active_residue(chan: &Pl330Chan, g: &Inner<Pl330>) -> u32 {
    active_progress(chan, g).0
}

/// The active descriptor's residue (as [`active_residue`]) and the bytes
/// read but not yet written, which wait in the MFIFO (`in_flight_bytes`,
/// memcpy only).  Under the channel lock.
pub(crate) fn active_progress(chan: &Pl330Chan, g: &Inner<Pl330>) -> (u32, u32) {
    g.queue().active().map_or((0, 0), |a| {
        a.data.progress(&chan.data().hw, chan.data().thread())
    })
}

/// Fault-test build: reports, as an error the test looks for, a
/// descriptor completed, a stop acknowledged or a slot reused while the
/// thread is still Killing.  Never in the product build.
pub(crate) fn test_check_stopped(chan: &Pl330Chan, what: &str) {
    if chan.data().hw.lagging(chan.data().thread()) {
        dev_err!(
            chan.dev(),
            "TEST BUILD: chan {}: {what} while its thread is still Killing\n",
            chan.index()
        );
        // A kernel report, which fails any boot that sees it.
        kernel::warn_on!(true);
    }
}

/// Starts the next lap of the active cyclic transfer, whose thread reads
/// Stopped after its last event.  Under the channel lock; call
/// [`VirtChan::schedule_callbacks`] afterwards (an aborted transfer has
/// its callback due).
pub(crate) fn start_lap(c: &Pl330Chan, g: &mut Inner<Pl330>) {
    let t = c.data().thread();
    g.engine.lap = 0;
    g.engine.restart = false;
    if core::mem::replace(&mut g.engine.resumed, false) {
        // The slot holds the rest of a resumed lap: the whole lap again.
        if let Some(a) = g.queue().active() {
            write_slot(c.data(), &a.data.mc[..a.data.mc_len.min(MC_SLOT)]);
        }
    }
    // SAFETY: Thread `t` is Stopped (the caller saw it after the lap's
    // last event); the slot holds the active cyclic descriptor's program,
    // written by `start_next` under the contract of `Hw::go` there, whose
    // buffer stays lent for DMA until the transfer is terminated and the
    // thread reads Stopped.
    if let Err(e) = unsafe { c.data().hw.go(t, c.data().mc_addr) } {
        dev_err!(
            c.dev(),
            "thread {t}: the next lap not started, the debug interface is busy ({e:?}); \
             cyclic transfer aborted\n"
        );
        g.engine.state = State::Idle;
        let len = g.queue().active().map_or(0, |d| d.data.len);
        g.complete_active_with(TxResult::Aborted, len);
    }
}

/// The stop watch's BH work: the next lap of a cyclic transfer that ran a
/// whole lap within one interrupt (`Irq::periods`), unless it was
/// terminated, or failed, meanwhile.
pub(crate) fn next_lap(c: &Pl330Chan) {
    let mut g = c.lock();
    if !g.engine.restart || g.engine.state != State::Running {
        return;
    }
    start_lap(c, &mut g);
    drop(g);
    c.schedule_callbacks();
}

/// Once the thread of a killed channel reads Stopped: acknowledges a stop
/// announced by `terminate_all` (`Stopping`), or completes the descriptor
/// of a fault (`Ending`).  Returns whether a descriptor completed (its
/// callback is due).  Under the channel lock.
pub(crate) fn settle(chan: &Pl330Chan, g: &mut Inner<Pl330>) -> bool {
    let (State::Stopping | State::Ending(_)) = g.engine.state else {
        return false;
    };
    if !chan.data().hw.stopped(chan.data().thread()) {
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
    let ch = c.data().thread();
    dev_err!(
        c.dev(),
        "thread {ch}: thread not stopped after DMAKILL (CSR {:#x}); its transfer completes, \
         and the channel takes new work, only once it stops\n",
        c.data().hw.csr(ch)
    );
    g.engine.state = State::Ending(r);
    c.data().failed.store(true, Ordering::Relaxed);
    // Already queued: it is running or about to, and looks again.
    let _ = workqueue::system_long().enqueue::<_, 0>(w.clone());
}

/// The poll of a thread in `State::Ending`: it raises no interrupt when
/// it reaches Stopped, so a work item looks, sleeping between looks, and
/// kills it again now and then, with a warning.
pub(crate) fn stop_watch(c: &Arc<Pl330Chan>) {
    let ch = c.data().thread();
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
                "thread {ch}: thread still not stopped (CSR {:#x}); killing it again\n",
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
///
/// It also carries the channel's lap work ([`next_lap`]), queued on the BH
/// workqueue.
#[pin_data]
pub(crate) struct StopWatch {
    pub(crate) chan: Arc<Pl330Chan>,
    #[pin]
    pub(crate) work: Work<StopWatch>,
    #[pin]
    pub(crate) lap: Work<StopWatch, 1>,
}

impl_has_work! {
    impl HasWork<Self> for StopWatch { self.work }
    impl HasWork<Self, 1> for StopWatch { self.lap }
}

impl WorkItem<1> for StopWatch {
    type Pointer = Arc<StopWatch>;

    fn run(this: Arc<StopWatch>) {
        next_lap(&this.chan);
    }
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
                lap <- new_work!("rust_pl330::StopWatch::lap"),
            }),
            GFP_KERNEL,
        )
    }

    /// Waits until the stop watch is neither queued nor running.  Sleeps.
    pub(crate) fn flush(&self) {
        // SAFETY: `work` and `lap` were initialised by `new_work!`
        // (`StopWatch::new`).
        unsafe {
            kernel::bindings::flush_work(Work::raw_get(&self.work));
            kernel::bindings::flush_work(Work::raw_get(&self.lap));
        }
    }
}

/// The rest of `synchronize`, after the interrupt handlers: waits until a
/// stop announced by `terminate_all`, or a killed thread's failed transfer,
/// has settled (the thread reads Stopped), killing again now and then,
/// then starts what was issued meanwhile.
pub(crate) fn wait_settled(chan: &Pl330Chan) {
    let hw = &chan.data().hw;
    let t = chan.data().thread();
    // A stop announced by `terminate_all`, or a killed thread's
    // failed transfer: wait for Stopped.
    let mut polls: u32 = 0;
    loop {
        {
            let mut g = chan.lock();
            let done = settle(chan, &mut g);
            if let State::Idle | State::Running | State::Paused = g.engine.state {
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
                "chan {}: synchronize: thread {t} not stopped after DMAKILL (CSR {:#x}); \
                 killing again and waiting\n",
                chan.index(),
                hw.csr(t)
            );
            let _ = hw.kill(t);
        }
        cpu_relax();
    }
}

/// `device_pause`: kills the thread between bursts and keeps the active
/// descriptor with its position (`Engine::paused_at`).  A cyclic
/// transfer's periods done so far are reported.  Any context.
///
/// `pl330.c`'s pause is a kill too, but it keeps no position and has no
/// resume.  What a kill loses: bytes read but not yet written, at most a
/// burst in the MFIFO.  A capture resumes from the memory written (the
/// device's bytes in the MFIFO are gone); playback from the memory read
/// (the burst in the MFIFO never reaches the device); memcpy reads again.
pub(crate) fn pause(chan: &Pl330Chan) -> Result {
    let mut g = chan.lock();
    if g.engine.state != State::Running {
        // Idle, paused already, or stopping: nothing moves.
        return Ok(());
    }
    let d = chan.data();
    let (hw, t) = (&d.hw, d.thread());
    let Some((period, len)) = g.queue().active().map(|a| (a.data.period(), a.data.len)) else {
        return Ok(());
    };
    if period.is_none() && hw.events() & (1 << t) != 0 {
        // The program reached its event: its interrupt completes it.
        return Ok(());
    }
    hw.kill(t).inspect_err(|e| {
        dev_err!(
            chan.dev(),
            "chan {}: pause: DMAKILL not issued, the debug interface is busy ({e:?})\n",
            chan.index()
        )
    })?;
    // Stopped (or, on a stalled bus, Killing: resume waits for Stopped).
    hw.wait_stopped(t);
    hw.int_clear(1 << t);
    let pc_off = hw.pc_offset(t, d.mc_addr);
    let mut done = g.queue().active().map_or(0, |a| a.data.done(hw, t, pc_off));
    let mut elapsed = false;
    if let Some(period) = period {
        while g.engine.lap < done / period {
            g.period_elapsed();
            g.engine.lap += 1;
            elapsed = true;
        }
        if done == len {
            // At the end of a lap: a whole lap next.
            done = 0;
            g.engine.lap = 0;
        }
    }
    g.engine.paused_at = done;
    g.engine.state = State::Paused;
    drop(g);
    if elapsed {
        chan.schedule_callbacks();
    }
    Ok(())
}

/// `device_resume`: starts the paused descriptor's rest.  Any context.
pub(crate) fn resume(chan: &Pl330Chan) -> Result {
    let mut g = chan.lock();
    if g.engine.state != State::Paused {
        return Ok(());
    }
    let d = chan.data();
    let (hw, t) = (&d.hw, d.thread());
    if !hw.stopped(t) {
        dev_err!(
            chan.dev(),
            "chan {}: resume: the paused thread {t} is still Killing; try again\n",
            chan.index()
        );
        return Err(EBUSY);
    }
    let done = g.engine.paused_at;
    let mut prog = [0u8; MC_SLOT];
    let n = match g.queue().active() {
        None => None,
        Some(a) if done >= a.data.len => None,
        Some(a) if done == 0 => {
            let n = a.data.mc_len.min(MC_SLOT);
            prog[..n].copy_from_slice(&a.data.mc[..n]);
            Some(n)
        }
        Some(a) => Some(a.data.rest_program(&d.hw.geo, t, done, &mut prog)?),
    };
    let Some(n) = n else {
        // Nothing left to move: it is complete.
        g.engine.state = State::Idle;
        let done = g.complete_active();
        start_next(chan, &mut g);
        drop(g);
        if done {
            chan.schedule_callbacks();
        }
        return Ok(());
    };
    write_slot(d, &prog[..n]);
    // SAFETY: Thread `t` is Stopped; the slot holds the rest of the active
    // descriptor's program (`Xfer::rest_program`, from its own addresses),
    // which accesses only that descriptor's memory, lent for DMA until it
    // completes or, once terminated, until the thread reads Stopped.
    unsafe { hw.go(t, d.mc_addr) }?;
    g.engine.resumed = done > 0
        && g.queue()
            .active()
            .is_some_and(|a| a.data.period().is_some());
    g.engine.state = State::Running;
    Ok(())
}
