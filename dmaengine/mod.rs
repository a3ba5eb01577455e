// SPDX-License-Identifier: GPL-2.0

//! DMA engine: a safe abstraction of the Linux DMA-engine API for providers
//! (drivers of DMA controllers) and clients (drivers that use channels).
//!
//! The point of the abstraction is the termination protocol:
//! `device_terminate_all` may be called from atomic context, even from a
//! transfer's own completion callback, and must not sleep; only after
//! `device_synchronize` returns is it safe to free what the transfer used.
//! Every call of the C API lives below this module; what is left `unsafe`
//! to its users is a claim only they can make.
//!
//! - [`queue`]: the descriptor queue of a virtual channel,
//!   [`queue::DescQueue`], and its cookies.
//! - [`provider`]: a virtual channel for drivers of DMA controllers, with
//!   callback dispatch from a tasklet or a BH work item and a
//!   [`Completion`](kernel::sync::Completion) to wait for the engine to stop.  A
//!   provider's word about its hardware
//!   ([`provider::VirtChan::engine_stopped`]) is `unsafe`.
//! - [`client`]: channels, buffers and transfers for drivers that use DMA;
//!   freeing before `synchronize` is a compile error.  A client's opt-in to
//!   a provider without `device_synchronize`
//!   ([`client::Channel::request_unsynchronized`]) is `unsafe`.
//! - `test_build`: the switches of the test builds that break a rule on
//!   purpose, all off in a product build.
//!
//! C header: [`include/linux/dmaengine.h`](srctree/include/linux/dmaengine.h)
//!
//! Reference: <https://docs.kernel.org/driver-api/dmaengine/provider.html>
//! and <https://docs.kernel.org/driver-api/dmaengine/client.html>

mod bh_work;
pub mod client;
mod lock;
pub mod provider;
pub mod queue;
mod tasklet;
pub(crate) mod test_build;
mod types;

/// A bus address as seen by the DMA engine (`dma_addr_t`): the kernel
/// crate's own type, re-exported for the users of this module.
pub use kernel::dma::DmaAddress;
pub use types::{
    Cap,
    DevSide,
    Direction,
    ResidueGranularity,
    SlaveConfig,
    Status,
    TxResult, //
};

// Out of tree only: what the series adds to the kernel crate first
// (`kernel/`: the AMBA bus, `kernel::amba`, and the completion's additions,
// `kernel::sync::Completion`), our bindgen run and the platform device of a
// software provider.
#[cfg(CONFIG_ARM_AMBA)]
#[path = "../kernel/amba.rs"]
pub mod amba;
pub mod bindings;
#[path = "../kernel/sync/completion.rs"]
pub mod completion;
pub mod platform;
