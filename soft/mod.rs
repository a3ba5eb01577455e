// SPDX-License-Identifier: GPL-2.0

//! The hardware model of a software DMA engine: what `rust_dmaengine.rs`
//! has instead of registers and an interrupt line.
//!
//! None of this is part of the DMA-engine framework (`dmaengine/`), which a
//! driver for real hardware uses alone.  Per channel, a [`SoftChan`] (the
//! driver's [`Provider::ChanData`]) holds:
//!
//! - a work item on the system's unbound workqueue, the engine's "hardware"
//!   that moves the data (queued by [`kick`]);
//! - an `irq_work`, its "interrupt line" (hard IRQ context, raised by
//!   [`raise_irq`]);
//! - the engine's configuration and status registers ([`SoftChan::ctl`]).
//!
//! The engine itself, its state machine, bursts and interrupt handler, is
//! [`engine`](self#the-engine): a provider programs it under the channel lock
//! through [`Engine`], [`Ctl`] and [`start_next`].
//!
//! and [`EngineRange`] is the engine's window on a client's DMA memory, as
//! a controller's descriptor holds bus addresses.
//!
//! A driver's `device_synchronize` part is [`synchronize`]: the work and
//! the interrupt are done, as `synchronize_irq()` would say of a real line.
//! The framework calls it again after the device is dead, so nothing of the
//! driver runs after its `Registration` is gone.
//!
//! C header: [`include/linux/irq_work.h`](srctree/include/linux/irq_work.h)

use crate::dmaengine::provider::{
    Dispatch,
    Provider, //
};
use kernel::prelude::*;

mod bindings;
mod chan;
mod desc;
mod engine;
pub mod fifo;
mod gate;
mod window;

pub use chan::{
    kick,
    raise_irq,
    synchronize,
    EngineWork,
    SoftChan, //
};
pub use desc::{
    SoftDesc,
    Xfer,
    MAX_SG, //
};
pub use engine::{
    start_next,
    Ctl,
    Engine,
    State, //
};
pub use fifo::{
    Fifo,
    Port, //
};
pub use gate::BurstGate;
pub use window::{
    engine_pair,
    engine_range,
    EnginePair,
    EngineRange, //
};

/// A software engine: a [`Provider`] whose descriptors ([`Xfer`]), engine
/// state ([`Engine`]) and per-channel data ([`SoftChan`]) are this
/// module's, so that the simulated hardware runs its descriptors.
pub trait SoftEngine:
    Provider<Desc = SoftDesc, Engine = Engine, ChanData = SoftChan<Self>>
{
}

/// The value of rust_dmaengine's `dispatch` module parameter (a string,
/// declared in C: `soft/helpers.c`, as the `module!` macro takes integers
/// only).  A value that is not one of [`Dispatch::NAMES`] is refused with
/// an error that names the valid ones.
pub fn dispatch_param() -> Result<Dispatch> {
    // SAFETY: No arguments; returns the module's static parameter buffer.
    let p = unsafe { bindings::rde_dispatch_param() };
    // SAFETY: `p` is the module's NUL-terminated parameter buffer, written
    // only while the module loads (permission 0444), before `init` runs.
    let s = unsafe { CStr::from_char_ptr(p) };
    Dispatch::from_name(s.to_bytes()).ok_or_else(|| {
        pr_err!(
            "dispatch={} is not valid: use one of {}\n",
            s.to_str().unwrap_or("(not UTF-8)"),
            Dispatch::NAMES
        );
        EINVAL
    })
}

/// Whether the device tree has an available node compatible with `compat`:
/// the board describes the controller, whose platform device the OF core
/// created.
pub fn of_has_compatible(compat: &CStr) -> bool {
    // SAFETY: `compat` is NUL-terminated and outlives the call.
    unsafe { bindings::rde_of_has_compatible(compat.as_char_ptr()) }
}
