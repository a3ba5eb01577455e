// SPDX-License-Identifier: GPL-2.0

//! The C enums of the DMA engine API as Rust types.
//!
//! C header: [`include/linux/dmaengine.h`](srctree/include/linux/dmaengine.h)

use super::{
    bindings,
    DmaAddress, //
};

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
    pub(super) fn to_raw(self) -> bindings::dma_status {
        match self {
            Status::Complete => bindings::dma_status_DMA_COMPLETE,
            Status::InProgress => bindings::dma_status_DMA_IN_PROGRESS,
            Status::Paused => bindings::dma_status_DMA_PAUSED,
            Status::Error => bindings::dma_status_DMA_ERROR,
            Status::OutOfOrder => bindings::dma_status_DMA_OUT_OF_ORDER,
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
    pub(super) fn to_raw(self) -> bindings::dmaengine_tx_result {
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
    pub(super) fn from_raw(d: bindings::dma_transfer_direction) -> Option<Self> {
        match d {
            bindings::dma_transfer_direction_DMA_MEM_TO_MEM => Some(Direction::MemToMem),
            bindings::dma_transfer_direction_DMA_MEM_TO_DEV => Some(Direction::MemToDev),
            bindings::dma_transfer_direction_DMA_DEV_TO_MEM => Some(Direction::DevToMem),
            _ => None,
        }
    }

    pub(super) fn to_raw(self) -> bindings::dma_transfer_direction {
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
    pub(super) fn to_raw(self) -> bindings::dma_residue_granularity {
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
    pub(super) fn to_raw(self) -> bindings::dma_transaction_type {
        match self {
            Cap::Memcpy => bindings::dma_transaction_type_DMA_MEMCPY,
            Cap::Memset => bindings::dma_transaction_type_DMA_MEMSET,
            Cap::Slave => bindings::dma_transaction_type_DMA_SLAVE,
            Cap::Cyclic => bindings::dma_transaction_type_DMA_CYCLIC,
            Cap::Private => bindings::dma_transaction_type_DMA_PRIVATE,
        }
    }
}

/// Slave configuration (`struct dma_slave_config`), for slave and cyclic
/// transfers.
#[derive(Clone, Copy, Debug, Default)]
pub struct SlaveConfig {
    /// Device FIFO address for device-to-memory transfers.
    pub src_addr: DmaAddress,
    /// Device FIFO address for memory-to-device transfers.
    pub dst_addr: DmaAddress,
    /// Width of a source FIFO access, in bytes.
    pub src_addr_width: u32,
    /// Width of a destination FIFO access, in bytes.
    pub dst_addr_width: u32,
    /// Words per burst from the source.
    pub src_maxburst: u32,
    /// Words per burst to the destination.
    pub dst_maxburst: u32,
}

impl SlaveConfig {
    /// The device side of a transfer in direction `dir`: the FIFO a
    /// memory-to-device transfer writes (`dst_*`) or a device-to-memory one
    /// reads (`src_*`); `None` for memory to memory.
    pub fn device_side(&self, dir: Direction) -> Option<DevSide> {
        match dir {
            Direction::MemToDev => Some(DevSide {
                addr: self.dst_addr,
                width: self.dst_addr_width,
                burst: self.dst_maxburst,
            }),
            Direction::DevToMem => Some(DevSide {
                addr: self.src_addr,
                width: self.src_addr_width,
                burst: self.src_maxburst,
            }),
            Direction::MemToMem => None,
        }
    }
}

impl From<&bindings::dma_slave_config> for SlaveConfig {
    fn from(c: &bindings::dma_slave_config) -> Self {
        Self {
            src_addr: c.src_addr,
            dst_addr: c.dst_addr,
            src_addr_width: c.src_addr_width,
            dst_addr_width: c.dst_addr_width,
            src_maxburst: c.src_maxburst,
            dst_maxburst: c.dst_maxburst,
        }
    }
}

impl From<&SlaveConfig> for bindings::dma_slave_config {
    fn from(c: &SlaveConfig) -> Self {
        Self {
            src_addr: c.src_addr,
            dst_addr: c.dst_addr,
            src_addr_width: c.src_addr_width,
            dst_addr_width: c.dst_addr_width,
            src_maxburst: c.src_maxburst,
            dst_maxburst: c.dst_maxburst,
            ..Default::default()
        }
    }
}

/// The device end of a slave or cyclic transfer, from the channel's slave
/// configuration for its direction.  The framework hands it to a
/// provider's `prep_*` only when it is complete: an address, and a width
/// and a burst the provider declared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DevSide {
    /// The device FIFO's bus address.
    pub addr: DmaAddress,
    /// The width of each FIFO access, in bytes.
    pub width: u32,
    /// Words per burst (0: the driver's choice).
    pub burst: u32,
}
