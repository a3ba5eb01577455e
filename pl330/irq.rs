// SPDX-License-Identifier: GPL-2.0

//! The interrupt handler: events, faults and the manager thread.

use super::*;
use kernel::irq::{
    Handler,
    IrqReturn, //
};

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
    pub(crate) fn event(&self, w: &Arc<StopWatch>) {
        let c = &w.chan;
        let ch = c.index();
        let mut g = c.lock();
        // Still set? `terminate_all` clears it under this lock.
        if self.hw.events() & (1 << ch) == 0 {
            return;
        }
        self.hw.int_clear(1 << ch);
        if g.engine.state == State::Running {
            // Only DMAEND is left.
            let mut stopped = self.hw.wait_stopped(ch);
            if !stopped {
                dev_warn!(
                    c.dev(),
                    "chan {ch}: thread not stopped after its event; killing it\n"
                );
                let _ = self.hw.kill(ch);
                stopped = self.hw.wait_stopped(ch);
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

    /// Channel `c`'s thread faulted: name the fault, kill the thread, fail
    /// the descriptor, carry on with the next.
    pub(crate) fn fault(&self, w: &Arc<StopWatch>) {
        let c = &w.chan;
        let ch = c.index();
        let mut g = c.lock();
        let ftr = self.hw.fault_type(ch);
        let pc = self.hw.cpc(ch);
        dev_err!(
            c.dev(),
            "chan {ch}: thread fault {ftr:#010x} ({}) at pc {pc:#x}; transfer failed, thread reset\n",
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
            State::Idle => {}
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
        let ch = c.index();
        let mut g = c.lock();
        if g.engine.state == State::Running
            && self.hw.stopped(ch)
            && self.hw.events() & (1 << ch) == 0
            && self.hw.chan_faults() & (1 << ch) == 0
        {
            dev_err!(c.dev(), "chan {ch}: DMAGO faulted; transfer aborted\n");
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
        let hw = &self.hw;
        let mut handled = false;
        let watches = SetOnce::as_ref(&self.watches).map_or(&[][..], |v| &v[..]);
        let mgr_fault = hw.mgr_fault();
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
        let faults = hw.chan_faults();
        let events = hw.events();
        for w in watches {
            let bit = 1 << w.chan.index();
            if faults & bit != 0 {
                self.fault(w);
                handled = true;
            } else if events & bit != 0 {
                self.event(w);
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
