// SPDX-License-Identifier: GPL-2.0

//! The PL330's registers (DDI 0424, 3.2) and the limits of the driver's
//! polls.

/// The registers (DDI 0424, 3.2): the ones the driver reads, as
/// `kernel::io::register!` types read through
/// [`IoMem::read`](crate::dmaengine::amba::IoMem::read); the ones it
/// writes, as offsets for
/// [`IoMem::write32`](crate::dmaengine::amba::IoMem::write32) (`unsafe`: a write to the
/// debug interface can start a thread).
pub(crate) mod reg {
    use kernel::io::register;

    /// Interrupt enable: event `n` raises interrupt `n`.
    pub(crate) const INTEN: usize = 0x020;
    /// Interrupt clear (write 1).
    pub(crate) const INTCLR: usize = 0x02c;
    /// Debug command: write 0 to execute DBGINST0/1.
    pub(crate) const DBGCMD: usize = 0xd04;
    /// Debug instruction, bytes 0-1 and the target thread.
    pub(crate) const DBGINST0: usize = 0xd08;
    /// Debug instruction, bytes 2-5.
    pub(crate) const DBGINST1: usize = 0xd0c;

    /// The register window: the last register read is CRD.
    pub(crate) const WINDOW: usize = 0x1000;

    register! {
        /// Event status (raw): bit `n`, event `n`.
        pub(crate) INT_EVENT_RIS(u32) @ 0x024 {
            31:0 events;
        }
        /// Manager thread fault status.
        pub(crate) FSRD(u32) @ 0x030 {
            0:0 fault => bool;
        }
        /// Channel thread fault status: bit `n`, channel `n`.
        pub(crate) FSRC(u32) @ 0x034 {
            7:0 faults;
        }
        /// Manager thread fault type.
        pub(crate) FTRD(u32) @ 0x038 {
            31:0 fault_type;
        }
        /// Channel thread fault type.
        pub(crate) FTR(u32)[8, stride = 4] @ 0x040 {
            31:0 fault_type;
        }
        /// Channel thread status.
        pub(crate) CSR(u32)[8, stride = 8] @ 0x100 {
            3:0 state;
        }
        /// Channel thread program counter.
        pub(crate) CPC(u32)[8, stride = 8] @ 0x104 {
            31:0 pc;
        }
        /// Channel source address.
        pub(crate) SAR(u32)[8, stride = 0x20] @ 0x400 {
            31:0 addr;
        }
        /// Channel destination address.
        pub(crate) DAR(u32)[8, stride = 0x20] @ 0x404 {
            31:0 addr;
        }
        /// Debug status.
        pub(crate) DBGSTATUS(u32) @ 0xd00 {
            0:0 busy => bool;
        }
        /// Configuration 0: channels, events, peripheral requests.
        pub(crate) CR0(u32) @ 0xe00 {
            21:17 num_events;
            16:12 num_periph_req;
            6:4 num_chnls;
            2:2 mgr_ns_at_rst => bool;
            0:0 periph_req => bool;
        }
        /// DMA configuration: MFIFO depth, bus width.
        pub(crate) CRD(u32) @ 0xe14 {
            29:20 data_buffer_dep;
            2:0 data_width;
        }
    }
}

/// CSR state: Stopped.
pub(crate) const CS_STOPPED: u32 = 0;
/// FTR: the fault was an AXI error on a data write.
pub(crate) const FT_DATA_WRITE_ERR: u32 = 1 << 17;

/// Reads of DBGSTATUS before the debug interface counts as hung.
pub(crate) const DBG_POLL: u32 = 100_000;
/// Reads of a channel's CSR while it finishes `DMAEND` or `DMAKILL`.
pub(crate) const STOP_POLL: u32 = 100_000;
