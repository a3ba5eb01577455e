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

use crate::dmaengine::provider::Provider;

mod chan;
mod engine;
mod gate;
mod window;

pub use chan::{
    kick,
    raise_irq,
    synchronize,
    EngineWork,
    SoftChan, //
};
pub use engine::{
    start_next,
    Ctl,
    CyclicBuf,
    Engine,
    State,
    Xfer, //
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
pub trait SoftEngine: Provider<Desc = Xfer, Engine = Engine, ChanData = SoftChan<Self>> {}
