// SPDX-License-Identifier: GPL-2.0

//! The fault-test build's knobs, in one place.
//!
//! The fault-test build (`--cfg dma_engine_test_pl330_faults`) reads them from its
//! module parameters, checked at load; every other build has constants: no
//! fault, no lag, no early completion.
//!
//! - `fault_every`: every `fault_every`th descriptor prepared on a channel
//!   (default 4, 0: none) starts with an undefined instruction, so that its
//!   thread faults and the fault path (message, error result, thread
//!   reset, next descriptor) runs on a model that raises no bus errors.
//! - `kill_lag`: after `DMAKILL` a thread reads as not Stopped (Killing) for
//!   this many more reads of its state, as a thread whose AXI slave stalls
//!   its outstanding writes would on silicon.
//! - `go_defer_ms`: a `DMAGO` takes effect this many milliseconds later
//!   (a 1 ms clock issues it), and the thread reads as not Stopped
//!   (Executing) meanwhile, as a long transfer on silicon would; a
//!   `DMAKILL` before then cancels it.  With `kill_lag` a terminate finds
//!   a running thread that stays Killing: the Stopping path, which QEMU's
//!   model, running a program within the `DMAGO` write, never takes.  The
//!   module counts, and reports at unbind, the terminates that went
//!   through Stopping.
//! - `complete_early`, the negative control of the fault path: a fault
//!   completes its descriptor and starts the next even though the killed
//!   thread does not read Stopped; with `kill_lag` the driver's own check
//!   must catch it.

use super::*;

/// A channel's fault injection.
#[cfg(dma_engine_test_pl330_faults)]
pub(crate) struct Faults {
    every: u32,
    prepared: AtomicU32,
}

#[cfg(dma_engine_test_pl330_faults)]
impl Faults {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            every: fault_every()?,
            prepared: AtomicU32::new(0),
        })
    }

    /// Makes `x` fault if it is the `every`th of its channel.
    pub(crate) fn inject(&self, x: &mut Xfer) {
        let every = self.every;
        if every != 0 && self.prepared.fetch_add(1, Ordering::Relaxed) % every == every - 1 {
            // 0xff is no instruction: the thread faults at its first fetch.
            x.mc[0] = 0xff;
        }
    }
}

/// A channel's fault injection: none.
#[cfg(not(dma_engine_test_pl330_faults))]
pub(crate) struct Faults;

#[cfg(not(dma_engine_test_pl330_faults))]
impl Faults {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self)
    }

    pub(crate) fn inject(&self, _x: &mut Xfer) {}
}

/// A knob's `value`, refused with a message if it is above `max` (0 means
/// `zero`).
#[cfg(dma_engine_test_pl330_faults)]
fn knob(name: &str, value: u32, max: u32, zero: &str) -> Result<u32> {
    if value > max {
        pr_err!("{name}={value} is out of range: use 0 ({zero}) to {max}\n");
        return Err(EINVAL);
    }
    Ok(value)
}

#[cfg(dma_engine_test_pl330_faults)]
fn fault_every() -> Result<u32> {
    let value = crate::module_parameters::fault_every.value();
    knob("fault_every", value, 1000, "no faults")
}

/// The Killing lag (see the module documentation).
#[cfg(dma_engine_test_pl330_faults)]
pub(crate) fn kill_lag() -> Result<u32> {
    let value = crate::module_parameters::kill_lag.value();
    knob("kill_lag", value, 10_000_000, "none")
}

/// The Killing lag: none.
#[cfg(not(dma_engine_test_pl330_faults))]
pub(crate) fn kill_lag() -> Result<u32> {
    Ok(0)
}

/// The deferral of a `DMAGO`, in ms (see the module documentation).
#[cfg(dma_engine_test_pl330_faults)]
pub(crate) fn go_defer_ms() -> Result<u32> {
    let value = crate::module_parameters::go_defer_ms.value();
    knob("go_defer_ms", value, 10_000, "none")
}

/// The deferral of a `DMAGO`: none.
#[cfg(not(dma_engine_test_pl330_faults))]
pub(crate) fn go_defer_ms() -> Result<u32> {
    Ok(0)
}

/// Fault-test build: reports, at unbind, how many terminates went
/// through Stopping.
#[cfg(dma_engine_test_pl330_faults)]
pub(crate) fn report_stoppings(hw: &Hw) {
    pr_info!(
        "TEST BUILD: {} terminates found a running thread and went through Stopping\n",
        hw.stoppings.load(Ordering::Relaxed)
    );
}

/// Reports the terminates that went through Stopping: only in the
/// fault-test build.
#[cfg(not(dma_engine_test_pl330_faults))]
pub(crate) fn report_stoppings(_hw: &Hw) {}

/// Whether a fault completes without waiting for Stopped (the negative
/// control).
#[cfg(dma_engine_test_pl330_faults)]
pub(crate) fn complete_early() -> bool {
    crate::module_parameters::complete_early.value()
}

/// Whether a fault completes without waiting for Stopped: never.
#[cfg(not(dma_engine_test_pl330_faults))]
pub(crate) fn complete_early() -> bool {
    false
}

/// Refuses the load on a bad knob.
#[cfg(dma_engine_test_pl330_faults)]
pub(crate) fn check() -> Result {
    fault_every()?;
    kill_lag()?;
    go_defer_ms()?;
    Ok(())
}

/// Refuses the load on a bad knob: there is none.
#[cfg(not(dma_engine_test_pl330_faults))]
pub(crate) fn check() -> Result {
    Ok(())
}
