// SPDX-License-Identifier: GPL-2.0

//! DMA engine: a safe abstraction of the Linux DMA-engine API for providers
//! (drivers of DMA controllers) and clients (drivers that use channels).
//!
//! The point of the abstraction is the termination protocol:
//! `device_terminate_all` may be called from atomic context, even from a
//! transfer's own completion callback, and must not sleep; only after
//! `device_synchronize` returns is it safe to free what the transfer used.
//! On the provider side, [`provider`] gives drivers a virtual channel with a
//! [`queue::DescQueue`], callback dispatch from a tasklet and a
//! [`completion::ReusableCompletion`] to wait for the engine to stop.  On the
//! client side, [`client`] makes freeing before `synchronize` a compile
//! error.
//!
//! Every call of the C API lives below this directory.  What is left
//! `unsafe` outside it is a claim only its caller can make: a provider's
//! word about its hardware ([`provider::VirtChan::engine_stopped`]), and a
//! client's opt-in to a provider without `device_synchronize`
//! ([`client::Channel::request_unsynchronized`]).  Test builds that break
//! a rule on purpose are switched in one place, `test_build`.
//!
//! C header: [`include/linux/dmaengine.h`](srctree/include/linux/dmaengine.h)
//!
//! Reference: <https://docs.kernel.org/driver-api/dmaengine/provider.html>
//! and <https://docs.kernel.org/driver-api/dmaengine/client.html>

// The AMBA bus: `kernel/amba.rs`, which the series adds to the kernel
// crate as `kernel::amba`.
#[cfg(CONFIG_ARM_AMBA)]
#[path = "../kernel/amba.rs"]
pub mod amba;
mod bh_work;
pub mod bindings;
pub mod client;
pub mod completion;
pub mod lock;
pub mod platform;
pub mod provider;
pub mod queue;
mod tasklet;
pub(crate) mod test_build;

/// A bus address as seen by the DMA engine (`dma_addr_t`): the kernel
/// crate's own type, re-exported for the users of this module.
pub use kernel::dma::DmaAddress;

/// Whether the caller may sleep:
///
/// - `preemptible()`: interrupts on and no preemption count: not in hard or
///   softirq context (where DMA callbacks run), no raw spinlock and,
///   without `PREEMPT_RT`, no `spinlock_t` held;
/// - not `in_interrupt()`: with `PREEMPT_RT` the softirq count (a DMA
///   callback, run with BH disabled in a thread) is kept outside the
///   preemption count;
/// - no `rcu_preempt_depth()`: a read-side section of preemptible RCU, which
///   leaves preemption on, and with `PREEMPT_RT` a `spinlock_t`.
///
/// Without `CONFIG_PREEMPT_COUNT` a held spinlock leaves no trace: only
/// interrupt context and interrupts off are seen.
pub(crate) fn can_sleep() -> bool {
    if cfg!(CONFIG_PREEMPT_COUNT) {
        // SAFETY: Reads the preemption count, the interrupt state and the
        // current task's RCU nesting; no requirements.
        unsafe {
            bindings::preemptible()
                && !bindings::in_interrupt()
                && bindings::rcu_preempt_depth() == 0
        }
    } else {
        // SAFETY: As above.
        unsafe { !bindings::in_interrupt() && !bindings::irqs_disabled() }
    }
}

/// The result of a transaction status query (`enum dma_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The transaction completed.
    Complete,
    /// The transaction is queued or running.
    InProgress,
    /// The channel is paused.
    Paused,
    /// The transaction failed.
    Error,
    /// The provider completes descriptors out of order and cannot tell from
    /// the cookie alone (`DMA_OUT_OF_ORDER`): ask again with a transaction
    /// state, or wait for the callback.
    OutOfOrder,
}

impl Status {
    fn to_raw(self) -> bindings::dma_status {
        match self {
            Status::Complete => bindings::dma_status_DMA_COMPLETE,
            Status::InProgress => bindings::dma_status_DMA_IN_PROGRESS,
            Status::Paused => bindings::dma_status_DMA_PAUSED,
            Status::Error => bindings::dma_status_DMA_ERROR,
            Status::OutOfOrder => bindings::dma_status_DMA_OUT_OF_ORDER,
        }
    }

    fn from_raw(s: bindings::dma_status) -> Self {
        match s {
            bindings::dma_status_DMA_COMPLETE => Status::Complete,
            bindings::dma_status_DMA_IN_PROGRESS => Status::InProgress,
            bindings::dma_status_DMA_PAUSED => Status::Paused,
            bindings::dma_status_DMA_OUT_OF_ORDER => Status::OutOfOrder,
            _ => Status::Error,
        }
    }
}

/// How a transaction ended, as its callback is told
/// (`enum dmaengine_tx_result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxResult {
    /// The transfer completed.
    NoError,
    /// The engine could not read the source.
    ReadFailed,
    /// The engine could not write the destination.
    WriteFailed,
    /// The transfer was aborted.
    Aborted,
}

impl TxResult {
    fn to_raw(self) -> bindings::dmaengine_tx_result {
        match self {
            TxResult::NoError => bindings::dmaengine_tx_result_DMA_TRANS_NOERROR,
            TxResult::ReadFailed => bindings::dmaengine_tx_result_DMA_TRANS_READ_FAILED,
            TxResult::WriteFailed => bindings::dmaengine_tx_result_DMA_TRANS_WRITE_FAILED,
            TxResult::Aborted => bindings::dmaengine_tx_result_DMA_TRANS_ABORTED,
        }
    }
}

/// Direction of a slave or cyclic transfer (`enum dma_transfer_direction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Memory to memory.
    MemToMem,
    /// Memory to a device FIFO (playback).
    MemToDev,
    /// A device FIFO to memory (capture).
    DevToMem,
}

impl Direction {
    fn from_raw(d: bindings::dma_transfer_direction) -> Option<Self> {
        match d {
            bindings::dma_transfer_direction_DMA_MEM_TO_MEM => Some(Direction::MemToMem),
            bindings::dma_transfer_direction_DMA_MEM_TO_DEV => Some(Direction::MemToDev),
            bindings::dma_transfer_direction_DMA_DEV_TO_MEM => Some(Direction::DevToMem),
            _ => None,
        }
    }

    fn to_raw(self) -> bindings::dma_transfer_direction {
        match self {
            Direction::MemToMem => bindings::dma_transfer_direction_DMA_MEM_TO_MEM,
            Direction::MemToDev => bindings::dma_transfer_direction_DMA_MEM_TO_DEV,
            Direction::DevToMem => bindings::dma_transfer_direction_DMA_DEV_TO_MEM,
        }
    }
}

/// How finely a provider's `tx_status` reports the residue of a transfer
/// in progress (`enum dma_residue_granularity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResidueGranularity {
    /// Only whole descriptors: the residue is the length until done.
    Descriptor,
    /// After each completed segment (scatter-gather entry, cyclic period).
    Segment,
    /// After each burst the engine completed.
    Burst,
}

impl ResidueGranularity {
    fn to_raw(self) -> bindings::dma_residue_granularity {
        match self {
            Self::Descriptor => {
                bindings::dma_residue_granularity_DMA_RESIDUE_GRANULARITY_DESCRIPTOR
            }
            Self::Segment => bindings::dma_residue_granularity_DMA_RESIDUE_GRANULARITY_SEGMENT,
            Self::Burst => bindings::dma_residue_granularity_DMA_RESIDUE_GRANULARITY_BURST,
        }
    }
}

/// A DMA capability (`enum dma_transaction_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// Memory to memory copy.
    Memcpy,
    /// Fill memory with a value.
    Memset,
    /// Slave transfers (to or from a device FIFO).
    Slave,
    /// Cyclic transfers (audio ring buffers).
    Cyclic,
    /// Only private channels (not for the async_tx API).
    Private,
}

impl Cap {
    fn to_raw(self) -> bindings::dma_transaction_type {
        match self {
            Cap::Memcpy => bindings::dma_transaction_type_DMA_MEMCPY,
            Cap::Memset => bindings::dma_transaction_type_DMA_MEMSET,
            Cap::Slave => bindings::dma_transaction_type_DMA_SLAVE,
            Cap::Cyclic => bindings::dma_transaction_type_DMA_CYCLIC,
            Cap::Private => bindings::dma_transaction_type_DMA_PRIVATE,
        }
    }
}
