// SPDX-License-Identifier: GPL-2.0

//! The transfers a client submits ([`Channel::submit`](super::Channel::submit)).

use crate::dmaengine::Direction;

/// One transfer of a batch, on buffers given by their index in the batch.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Copy `len` bytes at `offset` of buffer `src` to the same offset of
    /// buffer `dst`.
    Memcpy {
        /// Destination buffer index.
        dst: usize,
        /// Source buffer index.
        src: usize,
        /// Byte offset in both buffers.
        offset: usize,
        /// Bytes to copy.
        len: usize,
    },
    /// A slave transfer between all of buffer `buf`, described to the
    /// provider as `segs` scatter-gather entries, and the configured
    /// device FIFO ([`Channel::slave_config`](super::Channel::slave_config)).
    Slave {
        /// Buffer index.
        buf: usize,
        /// Scatter-gather entries (the buffer in equal parts, the last
        /// one taking the rest).
        segs: usize,
        /// Direction: `MemToDev` or `DevToMem`.
        dir: Direction,
    },
    /// A cyclic transfer over all of buffer `buf`, one callback per period.
    Cyclic {
        /// Buffer index.
        buf: usize,
        /// Period length in bytes.
        period: usize,
        /// Direction.
        dir: Direction,
    },
}
