// SPDX-License-Identifier: GPL-2.0

//! What the software engine runs: its descriptors ([`SoftDesc`]) and what
//! each asks of the engine ([`Xfer`]), with the device side ([`Port`]).

use super::{
    EnginePair,
    EngineRange,
    Port, //
};

/// What one descriptor asks for, with its memory as the engine reaches it
/// (checked and translated at prep, once), and its length.
///
/// Four words, so that it moves (prep, start, the engine) without a call
/// to `memcpy`: the Rust target of arm64 calls it for larger moves, and for
/// a byte-sized tag followed by 31 bytes (hence the word-sized tag).
#[derive(Clone, Copy)]
#[repr(usize)]
pub enum Xfer {
    /// A copy.
    Memcpy(EnginePair),
    /// A fill of `dst` with `value`.
    Memset {
        /// The memory filled.
        dst: EngineRange,
        /// The byte it is filled with.
        value: u8,
    },
    /// A cyclic transfer of `period`-byte periods, to or from the device
    /// of [`SoftDesc::port`].
    Cyclic {
        /// The buffer.
        buf: EngineRange,
        /// Bytes per period.
        period: usize,
    },
    /// One scatter-gather segment of a slave transfer ([`SoftDesc::sg`]),
    /// to or from the device of [`SoftDesc::port`].
    Slave(EngineRange),
}

/// The most scatter-gather entries a slave transfer of the software
/// engine takes (its "LLI" limit): the segments live in the descriptor,
/// which must need no drop so that the framework can recycle it.
pub const MAX_SG: usize = 4;

/// A descriptor of the software engine: what the engine runs, copied out
/// of the channel lock per run ([`Xfer`]), a slave transfer's segments,
/// which stay in the descriptor (the engine takes one at a time, under the
/// lock), and the device side.
#[derive(Clone, Copy)]
pub struct SoftDesc {
    /// The transfer; of a slave transfer, its first segment.
    pub xfer: Xfer,
    /// A slave transfer's segments (none for the others).
    pub sg: [Option<EngineRange>; MAX_SG],
    /// The device side of a slave or cyclic transfer.
    pub port: Port,
}

impl SoftDesc {
    /// A descriptor for `xfer`, a memory-to-memory transfer.
    pub fn new(xfer: Xfer) -> Self {
        Self::to_port(xfer, Port::Mem)
    }

    /// A descriptor for `xfer` (not a scatter-gather one) to or from
    /// `port`.
    pub fn to_port(xfer: Xfer, port: Port) -> Self {
        Self {
            xfer,
            sg: [None; MAX_SG],
            port,
        }
    }

    /// What the engine runs for segment `seg` (the transfer itself if it
    /// is not a slave transfer).
    pub(super) fn op(&self, seg: usize) -> Xfer {
        match (self.xfer, self.sg.get(seg).copied().flatten()) {
            (Xfer::Slave(_), Some(s)) => Xfer::Slave(s),
            (x, _) => x,
        }
    }

    /// Whether segment `seg` exists.
    pub(super) fn has_segment(&self, seg: usize) -> bool {
        matches!(self.sg.get(seg), Some(Some(_)))
    }

    /// Bytes of the segments before `seg` (0 if not a slave transfer).
    pub fn done_before(&self, seg: usize) -> usize {
        self.sg.iter().take(seg).flatten().map(|s| s.len()).sum()
    }
}

const _: () = assert!(core::mem::size_of::<Option<Xfer>>() <= 4 * core::mem::size_of::<usize>());

impl Xfer {
    /// The transfer's length in bytes (a cyclic one: its buffer's).
    pub(crate) fn len(&self) -> usize {
        match self {
            Xfer::Memcpy(p) => p.len(),
            Xfer::Memset { dst, .. } => dst.len(),
            Xfer::Cyclic { buf, .. } => buf.len(),
            Xfer::Slave(seg) => seg.len(),
        }
    }
}
