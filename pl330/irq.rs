// SPDX-License-Identifier: GPL-2.0

//! The interrupt handler: events, faults and the manager thread.

use super::*;
use kernel::{
    irq::{
        Handler,
        IrqReturn, //
    },
    workqueue, //
};

/// Whether the active descriptor is cyclic: its events are periods.
fn is_cyclic(g: &Inner<Pl330>) -> bool {
    g.queue()
        .active()
        .is_some_and(|d| matches!(d.data.kind, Kind::Cyclic { .. }))
}

/// The interrupt handler of every line of the controller (the abort line
/// and one per event).
pub(crate) struct Irq {
    pub(crate) hw: Arc<Hw>,
    /// Each channel, with its stop watch: set once the DMA device is
    /// registered, which is after the handlers are (an interrupt before
    /// has no channel to look at).
    pub(crate) watches: Arc<SetOnce<KVec<Arc<StopWatch>>>>,
}

impl Irq {
    /// Channel `c`'s event: its program reached `DMASEV` (after `DMAWMB`:
    /// every write of the descriptor has completed).
    /// `r`: the registers, within the handler's one access.
    pub(crate) fn event(&self, w: &Arc<StopWatch>, r: &Regs<'_>) {
        let c = &w.chan;
        let ch = c.data().thread();
        let mut g = c.lock();
        // Still set? `terminate_all` clears it under this lock.
        if r.events() & (1 << ch) == 0 {
            return;
        }
        r.int_clear(1 << ch);
        if g.engine.state == State::Running && is_cyclic(&g) {
            self.periods(w, &mut g);
        } else if g.engine.state == State::Running {
            // Only DMAEND is left.
            let mut stopped = r.wait_stopped(ch);
            if !stopped {
                dev_warn!(
                    c.dev(),
                    "thread {ch}: thread not stopped after its event; killing it\n"
                );
                let _ = self.hw.kill(ch);
                stopped = r.wait_stopped(ch);
            }
            if stopped {
                g.engine.state = State::Idle;
                test_check_stopped(c, "a transfer completed");
                g.complete_active();
                start_next(c, &mut g);
            } else {
                // Its writes are done (`DMAWMB` before `DMASEV`), but the
                // slot is not free until the thread stops.
                stop_pending(w, &mut g, TxResult::NoError);
            }
        }
        drop(g);
        c.schedule_callbacks();
    }

    /// Channel `c`'s cyclic transfer reached the end of one or more
    /// periods (events do not queue: one may stand for several).  Reports
    /// each period once, and at the end of the lap starts the next.
    pub(crate) fn periods(&self, w: &Arc<StopWatch>, g: &mut Inner<Pl330>) {
        let c = &w.chan;
        let t = c.data().thread();
        let Some((periods, all)) = g.queue().active().and_then(|a| {
            let (done, periods) = a.data.lap(&self.hw, t)?;
            Some((periods, done == a.data.len))
        }) else {
            return;
        };
        // Whether earlier interrupts reported periods of this lap: the
        // engine runs at its request lines' pace.
        let paced = g.engine.lap > 0;
        while g.engine.lap < periods {
            g.period_elapsed();
            g.engine.lap += 1;
        }
        if !all {
            return;
        }
        // The lap's last event: only `DMAEND` is left.
        if !self.hw.wait_stopped(t) {
            dev_warn!(
                c.dev(),
                "thread {t}: not stopped after its lap; killing it\n"
            );
            let _ = self.hw.kill(t);
            if !self.hw.wait_stopped(t) {
                stop_pending(w, g, TxResult::Aborted);
                return;
            }
        }
        if paced {
            start_lap(c, g);
        } else {
            // A whole lap within one interrupt: requests that are always
            // ready (QEMU's model, a peripheral that never pauses).  The
            // next lap starts after this one's callbacks, from a BH work
            // item, so that such an engine cannot keep the CPU in this
            // handler.
            g.engine.restart = true;
            let _ = workqueue::system_bh().enqueue::<_, 1>(w.clone());
        }
    }

    /// Channel `c`'s thread faulted: name the fault, kill the thread, fail
    /// the descriptor, carry on with the next.
    pub(crate) fn fault(&self, w: &Arc<StopWatch>) {
        let c = &w.chan;
        let ch = c.data().thread();
        let mut g = c.lock();
        let ftr = self.hw.fault_type(ch);
        let pc = self.hw.cpc(ch);
        dev_err!(
            c.dev(),
            "thread {ch}: thread fault {ftr:#010x} ({}) at pc {pc:#x}; transfer failed, thread reset\n",
            FaultNames(ftr)
        );
        let _ = self.hw.kill(ch);
        let stopped = self.hw.wait_stopped(ch);
        self.hw.int_clear(1 << ch);
        match g.engine.state {
            State::Running => {
                let r = if ftr & FT_DATA_WRITE_ERR != 0 {
                    TxResult::WriteFailed
                } else {
                    TxResult::ReadFailed
                };
                if stopped || complete_early() {
                    g.engine.state = State::Idle;
                    test_check_stopped(c, "a failed transfer completed");
                    let residue = active_residue(c, &g);
                    g.complete_active_with(r, residue);
                    start_next(c, &mut g);
                } else {
                    // Nothing completes and the slot is not reused until
                    // the thread reads Stopped.
                    stop_pending(w, &mut g, r);
                }
            }
            State::Stopping | State::Ending(_) => {
                settle(c, &mut g);
                start_next(c, &mut g);
            }
            State::Idle | State::Paused => {}
        }
        drop(g);
        c.schedule_callbacks();
    }
}

impl Irq {
    /// After a manager fault: if channel `c` is Running but its thread is
    /// Stopped with no event, the manager's `DMAGO` for it faulted and the
    /// program never ran: the descriptor is aborted, the next one starts.
    pub(crate) fn not_started(&self, c: &Arc<Pl330Chan>) {
        let ch = c.data().thread();
        let mut g = c.lock();
        if g.engine.state == State::Running
            && self.hw.stopped(ch)
            && self.hw.events() & (1 << ch) == 0
            && self.hw.chan_faults() & (1 << ch) == 0
        {
            dev_err!(c.dev(), "thread {ch}: DMAGO faulted; transfer aborted\n");
            g.engine.state = State::Idle;
            let len = g.queue().active().map_or(0, |d| d.data.len);
            g.complete_active_with(TxResult::Aborted, len);
            start_next(c, &mut g);
            drop(g);
            c.schedule_callbacks();
        }
    }
}

impl Handler for Irq {
    fn handle(&self) -> IrqReturn {
        // One access to the registers for the whole interrupt; a revoked
        // window (unbound device) is not ours to handle.
        self.hw.with_regs(IrqReturn::None, |r| self.handle_regs(r))
    }
}

impl Irq {
    fn handle_regs(&self, r: &Regs<'_>) -> IrqReturn {
        let hw = &self.hw;
        let mut handled = false;
        let watches = SetOnce::as_ref(&self.watches).map_or(&[][..], |v| &v[..]);
        let mgr_fault = r.mgr_fault();
        if mgr_fault {
            let ftrd = hw.mgr_fault_type();
            if let Some(w) = watches.first() {
                let c = &w.chan;
                dev_err!(
                    c.dev(),
                    "manager thread fault {ftrd:#010x} ({}); manager reset\n",
                    FaultNames(ftrd)
                );
            } else {
                pr_err!(
                    "manager thread fault {ftrd:#010x} ({}) before the channels exist; \
                     manager reset\n",
                    FaultNames(ftrd)
                );
            }
            let _ = hw.kill_manager();
            handled = true;
        }
        let faults = r.chan_faults();
        let events = r.events();
        for t in 0..hw.geo.nchan {
            // The channel that holds thread `t`: its events and faults are
            // the thread's.
            let Some(w) = hw.owner_of(t).and_then(|c| watches.get(c)) else {
                continue;
            };
            let bit = 1 << t;
            if faults & bit != 0 {
                self.fault(w);
                handled = true;
            } else if events & bit != 0 {
                self.event(w, r);
                handled = true;
            } else if mgr_fault {
                // A DMAGO that did not start?
                self.not_started(&w.chan);
            }
        }
        if handled {
            IrqReturn::Handled
        } else {
            IrqReturn::None
        }
    }
}
