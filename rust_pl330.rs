// SPDX-License-Identifier: GPL-2.0

//! A driver for the ARM PL330 DMA controller (DMA-330) that keeps the
//! DMA-engine termination contract.
//!
//! The PL330 runs a small program per channel thread: this driver writes,
//! for each memcpy descriptor, a program of `DMAMOV CCR/SAR/DAR`, loops of
//! `DMALD`/`DMAST` bursts, `DMAWMB`, `DMASEV <channel>` and `DMAEND` into
//! the channel's microcode slot (coherent DMA memory), and starts it with
//! `DMAGO` through the debug-instruction registers.  The event raises the
//! channel's interrupt; the handler completes the descriptor and starts
//! the next.  A fault (FSRC/FTR) completes the descriptor with an error and
//! resets the thread with `DMAKILL`.
//!
//! Terminate and synchronize map onto the thread states:
//!
//! - `terminate_all` (atomic) issues `DMAKILL` to the thread.  Once its
//!   state (CSR) reads Stopped, its outstanding bus transactions are done:
//!   then it is stopped already; otherwise the driver announces the stop
//!   (`engine_stopping`).
//! - `synchronize` waits for the interrupt handlers, then for the thread to
//!   read Stopped, and only then acknowledges (`engine_stopped`).
//!
//! See Documentation/pl330.rst.  Reference: ARM DDI 0424 (CoreLink DMA-330
//! TRM), QEMU `hw/dma/pl330.c`; C driver: `drivers/dma/pl330.c`.

use core::sync::atomic::{
    AtomicBool,
    AtomicU32,
    Ordering, //
};
use kernel::{
    devres::Devres,
    dma::{
        Coherent,
        DmaMask, //
    },
    driver, fmt,
    io::{
        poll::read_poll_timeout_atomic,
        register::Array,
        Io, //
    },
    irq::{
        Handler,
        IrqReturn, //
    },
    new_spinlock_irq, new_work,
    prelude::*,
    processor::cpu_relax,
    sync::{
        Arc,
        SetOnce,
        SpinLockIrq, //
    },
    time::{
        delay::fsleep,
        Delta, //
    },
    workqueue::{
        self,
        impl_has_work,
        Work,
        WorkItem, //
    },
};

pub mod dmaengine;

use dmaengine::{
    amba::{
        self,
        DevresIoMem,
        IoMem,
        IrqRegistration,
        IrqSync, //
    },
    provider::{
        Inner,
        Provider,
        Registration,
        TxStatus,
        VirtChan,
        VirtChanRef, //
    },
    queue::Cookie,
    Cap,
    DmaAddress,
    ResidueGranularity,
    Status,
    TxResult, //
};

#[cfg(not(any(rde_pl330_fault_test, rde_sync_returns_early)))]
module! {
    type: RustPl330,
    name: "rust_pl330",
    authors: ["rust-dmaengine developers"],
    description: "ARM PL330 DMA controller, keeping the dmaengine termination contract",
    license: "GPL",
}

// The fault test: the same driver, with a fault injected into every 4th
// descriptor of a channel (see `fault_every`).
#[cfg(rde_pl330_fault_test)]
module! {
    type: RustPl330,
    name: "rust_pl330_fault_test",
    authors: ["rust-dmaengine developers"],
    description: "TEST ONLY: rust_pl330 whose every 4th descriptor faults",
    license: "GPL",
    params: {
        fault_every: u32 {
            default: 4,
            description: "Every Nth descriptor of a channel faults (0: none; 1 to 1000)",
        },
        kill_lag: u32 {
            default: 0,
            description: "After DMAKILL a thread reads as not Stopped for this many reads (0 to 10000000)",
        },
        complete_early: bool {
            default: false,
            description: "Negative control: a fault completes its transfer without waiting for Stopped",
        },
    },
}

// The negative control of the contract on SMP: the same driver, on a
// framework whose `device_synchronize` returns at once (see
// `dmaengine/provider/chan.rs`).
#[cfg(rde_sync_returns_early)]
module! {
    type: RustPl330,
    name: "rust_pl330_broken_sync",
    authors: ["rust-dmaengine developers"],
    description: "TEST ONLY: rust_pl330 whose synchronize returns early (negative control)",
    license: "GPL",
}

#[cfg(not(any(rde_pl330_fault_test, rde_sync_returns_early)))]
const NAME: &CStr = c"rust_pl330";
#[cfg(rde_pl330_fault_test)]
const NAME: &CStr = c"rust_pl330_fault_test";
#[cfg(rde_sync_returns_early)]
const NAME: &CStr = c"rust_pl330_broken_sync";

/// The fault-test build: a knob's `value`, refused with a message if it is
/// above `max` (0 means `zero`).
#[cfg(rde_pl330_fault_test)]
fn knob(name: &str, value: u32, max: u32, zero: &str) -> Result<u32> {
    if value > max {
        pr_err!("{name}={value} is out of range: use 0 ({zero}) to {max}\n");
        return Err(EINVAL);
    }
    Ok(value)
}

/// The fault-test build (Kbuild: `rust_pl330_fault_test.ko`): every
/// `fault_every`th descriptor prepared on a channel (default 4, 0: none)
/// starts with an undefined instruction, so that its thread faults, and the
/// fault path (message, error result, thread reset, next descriptor) runs
/// on QEMU, whose model raises no bus errors.  Checked at load.
#[cfg(rde_pl330_fault_test)]
fn fault_every() -> Result<u32> {
    knob(
        "fault_every",
        module_parameters::fault_every.value(),
        1000,
        "no faults",
    )
}

#[cfg(not(rde_pl330_fault_test))]
fn fault_every() -> Result<u32> {
    Ok(0)
}

/// The fault-test build: after `DMAKILL` a thread reads as not Stopped
/// (Killing) for `kill_lag` more reads of its state, as a thread whose AXI
/// slave stalls its outstanding writes would on silicon.  QEMU's model
/// stops a thread at once.  Checked at load.
#[cfg(rde_pl330_fault_test)]
fn kill_lag() -> Result<u32> {
    knob(
        "kill_lag",
        module_parameters::kill_lag.value(),
        10_000_000,
        "none",
    )
}

#[cfg(not(rde_pl330_fault_test))]
fn kill_lag() -> Result<u32> {
    Ok(0)
}

/// The fault-test build's negative control of the fault path: with
/// `complete_early=1` a fault completes its descriptor and starts the next
/// even though the killed thread does not read Stopped (as this driver did
/// before issue 21); with `kill_lag` the build's own check must catch it.
#[cfg(rde_pl330_fault_test)]
fn complete_early() -> bool {
    module_parameters::complete_early.value()
}

#[cfg(not(rde_pl330_fault_test))]
fn complete_early() -> bool {
    false
}

/// The registers (DDI 0424, 3.2): the ones the driver reads, as
/// `kernel::io::register!` types read through [`IoMem::read`]; the ones it
/// writes, as offsets for [`IoMem::write32`] (`unsafe`: a write to the
/// debug interface can start a thread).
mod reg {
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
const CS_STOPPED: u32 = 0;
/// FTR: the fault was an AXI error on a data write.
const FT_DATA_WRITE_ERR: u32 = 1 << 17;

/// Bytes of microcode per channel; a descriptor's program must fit.
const MC_SLOT: usize = 256;
/// Reads of DBGSTATUS before the debug interface counts as hung.
const DBG_POLL: u32 = 100_000;
/// Reads of a channel's CSR while it finishes `DMAEND` or `DMAKILL`.
const STOP_POLL: u32 = 100_000;

/// `v` as a 32-bit bus address or length, which is all the PL330 has.
///
/// Generic because `dma_addr_t` and `usize` are 32-bit on arm and 64-bit on
/// arm64, where a direct `u32::try_from` would be a no-op on one of them.
fn bus32<T: TryInto<u32>>(v: T) -> Option<u32> {
    v.try_into().ok()
}

/// The instruction set (DDI 0424, chapter 4): the encodings this driver
/// emits, into a microcode buffer.
struct Mc<'a> {
    buf: &'a mut [u8],
    off: usize,
}

/// `DMAMOV` destination registers.
#[derive(Clone, Copy)]
#[repr(u8)]
enum MovReg {
    Sar = 0,
    Ccr = 1,
    Dar = 2,
}

impl<'a> Mc<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, off: 0 }
    }

    fn emit(&mut self, bytes: &[u8]) -> Result {
        let end = self.off + bytes.len();
        let slot = self.buf.get_mut(self.off..end).ok_or(E2BIG)?;
        slot.copy_from_slice(bytes);
        self.off = end;
        Ok(())
    }

    /// `DMAMOV rd, imm32`.
    fn mov(&mut self, rd: MovReg, v: u32) -> Result {
        let b = v.to_le_bytes();
        self.emit(&[0xbc, rd as u8, b[0], b[1], b[2], b[3]])
    }

    /// `DMALP lc, n` (1 to 256 iterations).
    fn lp(&mut self, lc: u8, n: u32) -> Result {
        // CAST: `n - 1` is in 0..=255 (checked by the caller's loop split).
        self.emit(&[0x20 | (lc << 1), (n - 1) as u8])
    }

    /// `DMALPEND lc` back to `body`, the offset after the matching `DMALP`.
    fn lpend(&mut self, lc: u8, body: usize) -> Result {
        let jump = u8::try_from(self.off - body).map_err(|_| E2BIG)?;
        // nf (bit 4): not forever; bs = 0: always.
        self.emit(&[0x38 | (lc << 2), jump])
    }

    /// `DMALD` then `DMAST`: one burst through the MFIFO.
    fn burst(&mut self) -> Result {
        self.emit(&[0x04, 0x08])
    }

    /// `DMAWMB`, `DMASEV ev`, `DMAEND`: the writes are complete before the
    /// event, and the event is the last thing the program does.
    fn finish(&mut self, ev: u32) -> Result {
        // CAST: events are 0..32; the encoding has 5 bits.
        self.emit(&[0x13, 0x34, ((ev & 0x1f) << 3) as u8, 0x00])
    }

    /// `n` bursts, in loops of up to 256 x 256.
    fn bursts(&mut self, mut n: u32) -> Result {
        while n > 0 {
            let (outer, inner) = match n {
                65536.. => (256, 256),
                257.. => (n / 256, 256),
                _ => (1, n),
            };
            if inner == 1 {
                self.burst()?;
            } else {
                let o = self.off + 2;
                if outer > 1 {
                    self.lp(0, outer)?;
                }
                self.lp(1, inner)?;
                let b = self.off;
                self.burst()?;
                self.lpend(1, b)?;
                if outer > 1 {
                    self.lpend(0, o)?;
                }
            }
            n -= outer * inner;
        }
        Ok(())
    }
}

/// The names of the fault bits of an FTR or FTRD value, for `dev_err`.
struct FaultNames(u32);

impl fmt::Display for FaultNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u32, &str); 13] = [
            (0, "undefined instruction"),
            (1, "invalid operand"),
            (4, "DMAGO security"),
            (5, "event security"),
            (6, "peripheral security"),
            (7, "read/write security"),
            (12, "MFIFO"),
            (13, "store data unavailable"),
            (16, "instruction fetch bus error"),
            (17, "data write bus error"),
            (18, "data read bus error"),
            (30, "from a debug instruction"),
            (31, "lockup"),
        ];
        let mut first = true;
        for (bit, name) in NAMES {
            if self.0 & (1 << bit) != 0 {
                if !first {
                    f.write_str(", ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("no fault bit")?;
        }
        Ok(())
    }
}

/// What the microcode depends on: the controller's configuration.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    /// Channel threads in use.
    nchan: u32,
    /// The manager thread is non-secure (CR0): DMAGO and the channels
    /// must be non-secure too.
    ns: bool,
    /// Data bus width in bytes.
    bus_bytes: u32,
    /// MFIFO depth in bus-width lines.
    buf_dep: u32,
}

/// The controller, shared by its channels and its interrupt handlers.
#[pin_data]
struct Hw {
    /// The registers, revoked when the device is unbound: a channel that a
    /// client still holds after that (a leaked registration) finds them
    /// gone instead of touching a controller whose clock is off.
    io: DevresIoMem<{ reg::WINDOW }>,
    /// The debug-instruction interface (DBGINST0/1, DBGCMD) is one for all
    /// threads: its three writes go under this lock, taken innermost
    /// (under a channel lock).
    #[pin]
    dbg: SpinLockIrq<()>,
    geo: Geometry,
    irqs: KVec<IrqSync>,
    /// Fault-test build: reads of a killed thread's state that still say
    /// Killing (see `kill_lag`); 0 in the product build.
    kill_lag: u32,
    /// Per channel thread: how many of those reads are left.
    lag: [AtomicU32; 8],
}

impl Hw {
    /// `f` on the register window, or `gone` once the device was unbound
    /// (the window revoked).  A revoked window reads as an idle controller
    /// with every thread Stopped: before its unbind revokes the window,
    /// [`Pl330Driver`]'s drop killed every thread and waited for it.
    fn rd<T>(&self, gone: T, f: impl FnOnce(&IoMem<'_, { reg::WINDOW }>) -> T) -> T {
        self.io.try_access().map_or(gone, |io| f(&io))
    }

    /// INT_EVENT_RIS: the channels whose event is pending.
    fn events(&self) -> u32 {
        self.rd(0, |io| io.read(reg::INT_EVENT_RIS).events().get())
    }

    /// FSRC: the channels whose thread faulted.
    fn chan_faults(&self) -> u32 {
        self.rd(0, |io| io.read(reg::FSRC).faults().get())
    }

    /// FSRD: whether the manager thread faulted.
    fn mgr_fault(&self) -> bool {
        self.rd(false, |io| io.read(reg::FSRD).fault())
    }

    /// FTRD: the manager thread's fault bits.
    fn mgr_fault_type(&self) -> u32 {
        self.rd(0, |io| io.read(reg::FTRD).fault_type().get())
    }

    // The channel registers below: `ch < 8` (CR0 counts channels in 3
    // bits), so `try_at` finds each; a bad `ch` would read as 0.

    /// CSR: channel thread `ch`'s status.
    fn csr(&self, ch: u32) -> u32 {
        reg::CSR::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).into_raw()))
    }

    /// CPC: channel thread `ch`'s program counter.
    fn cpc(&self, ch: u32) -> u32 {
        reg::CPC::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).pc().get()))
    }

    /// FTR: channel thread `ch`'s fault bits.
    fn fault_type(&self, ch: u32) -> u32 {
        reg::FTR::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).fault_type().get()))
    }

    /// SAR: channel `ch`'s source address.
    fn sar(&self, ch: u32) -> u32 {
        reg::SAR::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).addr().get()))
    }

    /// DAR: channel `ch`'s destination address.
    fn dar(&self, ch: u32) -> u32 {
        reg::DAR::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).addr().get()))
    }

    /// Clears the interrupts of the channels in `mask` (INTCLR).
    fn int_clear(&self, mask: u32) {
        self.rd((), |io| {
            // SAFETY: INTCLR only clears event and interrupt status bits: no
            // thread starts or changes what it accesses.
            unsafe { io.write32(mask, reg::INTCLR) }
        })
    }

    /// Routes the events in `mask` to interrupts, the others to events
    /// only (INTEN).
    fn int_enable(&self, mask: u32) {
        self.rd((), |io| {
            // SAFETY: INTEN selects whether a `DMASEV` raises an interrupt: no
            // thread starts or changes what it accesses.
            unsafe { io.write32(mask, reg::INTEN) }
        })
    }

    /// Executes a debug instruction on thread `chan` (a channel) or on the
    /// manager (`None`).  Any context.
    ///
    /// # Safety
    ///
    /// `insn` is `DMAKILL` (always sound: it only stops a thread), or
    /// `DMAGO` under the contract of [`Hw::go`].
    unsafe fn exec_dbg(&self, insn: [u8; 6], chan: Option<u32>) -> Result {
        let _g = self.dbg.lock();
        let io = self.io.try_access().ok_or(ENODEV)?;
        // The debug interface takes one instruction at a time.
        read_poll_timeout_atomic(
            || Ok(io.read(reg::DBGSTATUS).busy()),
            |&busy| !busy,
            Delta::ZERO,
            DBG_POLL as usize,
        )
        .map_err(|_| EBUSY)?;
        let mut v0 = (u32::from(insn[0]) << 16) | (u32::from(insn[1]) << 24);
        if let Some(c) = chan {
            v0 |= 1 | (c << 8);
        }
        // SAFETY: DBGINST0/1 only hold the instruction; DBGCMD executes it,
        // which is the caller's contract.
        unsafe {
            io.write32(v0, reg::DBGINST0);
            io.write32(
                u32::from_le_bytes([insn[2], insn[3], insn[4], insn[5]]),
                reg::DBGINST1,
            );
            io.write32(0, reg::DBGCMD);
        }
        Ok(())
    }

    /// `DMAKILL` on channel thread `ch`.
    fn kill(&self, ch: u32) -> Result {
        if self.kill_lag > 0 {
            // A second kill of a thread still Killing does not restart it.
            let _ = self.lag[ch as usize].compare_exchange(
                0,
                self.kill_lag,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        // SAFETY: `DMAKILL` only stops the thread.
        unsafe { self.exec_dbg([0x01, 0, 0, 0, 0, 0], Some(ch)) }
    }

    /// Fault-test build: whether thread `ch` is still Killing by
    /// `kill_lag`, so that nothing may complete or be reused yet.
    fn lagging(&self, ch: u32) -> bool {
        self.kill_lag > 0 && self.lag[ch as usize].load(Ordering::Relaxed) > 0
    }

    /// `DMAKILL` on the manager thread (after a manager fault).
    fn kill_manager(&self) -> Result {
        // SAFETY: `DMAKILL` only stops the manager.
        unsafe { self.exec_dbg([0x01, 0, 0, 0, 0, 0], None) }
    }

    /// `DMAGO ch, addr` on the manager thread.
    ///
    /// # Safety
    ///
    /// Thread `ch` is Stopped, and `addr` is the bus address of a program
    /// in memory that stays mapped for the device while the thread may run
    /// it; the program accesses only memory owned for DMA by an outstanding
    /// descriptor of channel `ch`, which is not released before the thread
    /// is Stopped again (the framework's `engine_stopped`).
    unsafe fn go(&self, ch: u32, addr: u32) -> Result {
        let a = addr.to_le_bytes();
        // CAST: `ch < 8`.
        let insn = [
            0xa0 | (u8::from(self.geo.ns) << 1),
            ch as u8,
            a[0],
            a[1],
            a[2],
            a[3],
        ];
        // SAFETY: `DMAGO`, under this function's contract.
        unsafe { self.exec_dbg(insn, None) }
    }

    /// Whether channel thread `ch` is Stopped: after `DMAEND`, or after
    /// `DMAKILL` once its outstanding transactions completed.
    fn stopped(&self, ch: u32) -> bool {
        if self.kill_lag > 0
            && self.lag[ch as usize]
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                .is_ok()
        {
            // Fault-test build: still Killing.
            return false;
        }
        reg::CSR::try_at(ch as usize)
            .is_some_and(|r| self.rd(CS_STOPPED, |io| io.read(r).state().get()) == CS_STOPPED)
    }

    /// Polls until thread `ch` is Stopped; false if it is not after
    /// `STOP_POLL` reads.  Any context.
    fn wait_stopped(&self, ch: u32) -> bool {
        read_poll_timeout_atomic(
            || Ok(self.stopped(ch)),
            |&stopped| stopped,
            Delta::ZERO,
            STOP_POLL as usize,
        )
        .is_ok()
    }
}

/// What a channel thread is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Stopped, nothing active.
    Idle,
    /// Running the active descriptor's program.
    Running,
    /// `DMAKILL` issued by `terminate_all`, the thread not yet Stopped;
    /// the stop was announced (`engine_stopping`).
    Stopping,
    /// The thread faulted, or did not end after its event, and was
    /// killed, but does not read Stopped yet (Killing: on silicon a stalled
    /// AXI slave keeps its writes outstanding).  The active descriptor
    /// stays active, its program in the slot, until the thread reads
    /// Stopped; then it completes with this result (`settle`).  Until then
    /// the channel refuses new transfers and `synchronize` waits.
    Ending(TxResult),
}

/// Per-channel state under the channel lock.
struct Engine {
    state: State,
}

/// Per-channel data outside the lock.
#[pin_data]
struct Chan {
    hw: Arc<Hw>,
    /// The channel's microcode slot: the active descriptor's program,
    /// written only while the thread is Stopped, under the channel lock.
    mc: Coherent<[u8; MC_SLOT]>,
    /// Its bus address (checked below 4 GiB at probe).
    mc_addr: u32,
    /// Descriptors prepared (counted in the fault-test build only).
    prepared: AtomicU32,
    /// Fault-test build: every how many descriptors one faults (0: none;
    /// always 0 in the product build).
    fault_every: u32,
    /// Set while the thread of a failed transfer has not stopped (state
    /// `Ending`, and `Stopping` after it): `prep` refuses new transfers.
    failed: AtomicBool,
}

/// A memcpy descriptor: its addresses and its program.
struct Xfer {
    dst: u32,
    src: u32,
    len: u32,
    mc: [u8; MC_SLOT],
    mc_len: usize,
}

struct Pl330;

type Pl330Chan = VirtChan<Pl330>;

impl Xfer {
    /// Generates the program of a copy of `len` bytes on channel `ch`.
    fn memcpy(hw: &Geometry, ch: u32, dst: u32, src: u32, len: u32) -> Result<Self> {
        // Beat size: the widest that divides both addresses and the
        // length, up to the bus width.
        let mut bsize = hw.bus_bytes;
        while (src | dst | len) & (bsize - 1) != 0 {
            bsize /= 2;
        }
        // Beats per burst: the channel's share of the MFIFO, at most 16;
        // one beat when the beat is narrower than the bus, so that a burst
        // never straddles an MFIFO line (as drivers/dma/pl330.c does).
        let blen = if bsize < hw.bus_bytes {
            1
        } else {
            (hw.bus_bytes * (hw.buf_dep / hw.nchan) / bsize).clamp(1, 16)
        };
        let ccr = |blen: u32| {
            let size = bsize.trailing_zeros();
            let ns = if hw.ns { (1 << 9) | (1 << 23) } else { 0 };
            // SRC_INC, DST_INC; sizes and burst lengths; non-secure bits.
            1 | (1 << 14) | (size << 1) | ((blen - 1) << 4) | (size << 15) | ((blen - 1) << 18) | ns
        };
        let burst = bsize * blen;
        let mut x = Self {
            dst,
            src,
            len,
            mc: [0; MC_SLOT],
            mc_len: 0,
        };
        let mut mc = Mc::new(&mut x.mc);
        mc.mov(MovReg::Ccr, ccr(blen))?;
        mc.mov(MovReg::Sar, src)?;
        mc.mov(MovReg::Dar, dst)?;
        mc.bursts(len / burst)?;
        let dregs = (len % burst) / bsize;
        if dregs > 0 {
            mc.mov(MovReg::Ccr, ccr(dregs))?;
            mc.burst()?;
        }
        mc.finish(ch)?;
        x.mc_len = mc.off;
        Ok(x)
    }
}

/// Makes the next issued descriptor active and starts the thread on it,
/// if the thread is idle and the device alive.  Under the channel lock.
fn start_next(chan: &Pl330Chan, g: &mut Inner<Pl330>) {
    if g.is_dead() || g.engine.state != State::Idle {
        return;
    }
    let data = chan.data();
    let ch = chan.index();
    test_check_stopped(chan, "a program started");
    match g.start_next() {
        // The thread is Stopped (`Idle`): it does not read its microcode
        // until the `DMAGO` below, an MMIO write ordered after this one.
        Some(d) => (&data.mc).copy_write(d.data.mc),
        None => return,
    }
    // SAFETY: The thread is Stopped (`Idle`).  `mc_addr`, the channel's
    // coherent slot, is freed only once the device is unregistered and every
    // thread killed (`Pl330Driver::drop`).  Its program is the active
    // descriptor's, which `Xfer::memcpy` made access only the client's source
    // and destination, lent for DMA until completion or, once terminated,
    // until `engine_stopped` (only when the thread reads Stopped: `settle`).
    let started = unsafe { data.hw.go(ch, data.mc_addr) };
    match started {
        Ok(()) => g.engine.state = State::Running,
        Err(e) => {
            dev_err!(
                chan.dev(),
                "chan {ch}: DMAGO failed, the debug interface is busy ({e:?}); transfer aborted\n"
            );
            let len = g.queue().active().map_or(0, |d| d.data.len);
            g.complete_active_with(TxResult::Aborted, len);
            chan.schedule_callbacks();
        }
    }
}

/// The bytes of the active descriptor not yet written, by the destination
/// address register (burst granularity); all of them if the program has
/// not set it yet.  Under the channel lock.
fn active_residue(chan: &Pl330Chan, g: &Inner<Pl330>) -> u32 {
    active_progress(chan, g).0
}

/// The active descriptor's residue (as [`active_residue`]) and the bytes
/// read but not yet written, which wait in the MFIFO (`in_flight_bytes`):
/// the source address register runs ahead of the destination's by them.
/// Under the channel lock.
fn active_progress(chan: &Pl330Chan, g: &Inner<Pl330>) -> (u32, u32) {
    let Some(a) = g.queue().active() else {
        return (0, 0);
    };
    let hw = &chan.data().hw;
    let x = &a.data;
    // Before the program's `DMAMOV DAR`/`SAR` a register may hold
    // anything: then nothing is done.  DAR first: SAR only runs ahead of it.
    let done = |reg: u32, base: u32| Some(reg.wrapping_sub(base)).filter(|&d| d <= x.len);
    let written = done(hw.dar(chan.index()), x.dst).unwrap_or(0);
    let read = done(hw.sar(chan.index()), x.src).unwrap_or(0);
    (x.len - written, read.saturating_sub(written))
}

/// Fault-test build: reports, as an error the test looks for, a
/// descriptor completed, a stop acknowledged or a slot reused while the
/// thread is still Killing.  Never in the product build.
fn test_check_stopped(chan: &Pl330Chan, what: &str) {
    if chan.data().hw.lagging(chan.index()) {
        dev_err!(
            chan.dev(),
            "TEST BUILD: chan {}: {what} while its thread is still Killing\n",
            chan.index()
        );
        // A kernel report, which fails any boot that sees it.
        kernel::warn_on!(true);
    }
}

/// Once the thread of a killed channel reads Stopped: acknowledges a stop
/// announced by `terminate_all` (`Stopping`), or completes the descriptor
/// of a fault (`Ending`).  Returns whether a descriptor completed (its
/// callback is due).  Under the channel lock.
fn settle(chan: &Pl330Chan, g: &mut Inner<Pl330>) -> bool {
    let (State::Stopping | State::Ending(_)) = g.engine.state else {
        return false;
    };
    if !chan.data().hw.stopped(chan.index()) {
        return false;
    }
    let state = core::mem::replace(&mut g.engine.state, State::Idle);
    chan.data().failed.store(false, Ordering::Relaxed);
    match state {
        State::Ending(r) => {
            test_check_stopped(chan, "a failed transfer completed");
            // The thread reads Stopped: its program's writes are done (or
            // were never made), and the slot may take the next program.
            let residue = active_residue(chan, g);
            g.complete_active_with(r, residue)
        }
        _ => {
            test_check_stopped(chan, "a stop acknowledged");
            // SAFETY: The thread reads Stopped after the `DMAKILL` that
            // `terminate_all` (or the fault path) issued: the PL330 enters
            // Stopped from Killing only once its outstanding bus
            // transactions have completed, and it fetches no instruction
            // while Stopped; it is started again only by `start_next`, on a
            // descriptor that is not terminated.
            unsafe { chan.engine_stopped() };
            false
        }
    }
}

/// The thread of channel `c` was killed but is not Stopped: the active
/// descriptor waits (`State::Ending`) and the channel refuses new work
/// until `StopWatch` (or `synchronize`, or `terminate_all`) sees it
/// Stopped.  Under the channel lock.
fn stop_pending(w: &Arc<StopWatch>, g: &mut Inner<Pl330>, r: TxResult) {
    let c = &w.chan;
    let ch = c.index();
    dev_err!(
        c.dev(),
        "chan {ch}: thread not stopped after DMAKILL (CSR {:#x}); its transfer completes, \
         and the channel takes new work, only once it stops\n",
        c.data().hw.csr(ch)
    );
    g.engine.state = State::Ending(r);
    c.data().failed.store(true, Ordering::Relaxed);
    // Already queued: it is running or about to, and looks again.
    let _ = workqueue::system_long().enqueue(w.clone());
}

/// The poll of a thread in `State::Ending`: it raises no interrupt when
/// it reaches Stopped, so a work item looks, sleeping between looks, and
/// kills it again now and then, with a warning.
fn stop_watch(c: &Arc<Pl330Chan>) {
    let ch = c.index();
    let hw = &c.data().hw;
    let mut rounds: u32 = 0;
    loop {
        let stopped = hw.wait_stopped(ch);
        {
            let mut g = c.lock();
            let State::Ending(_) = g.engine.state else {
                // Settled, or terminated, by someone else.
                return;
            };
            if stopped && settle(c, &mut g) {
                start_next(c, &mut g);
                drop(g);
                c.schedule_callbacks();
                return;
            }
        }
        rounds = rounds.wrapping_add(1);
        if rounds % 1000 == 0 {
            dev_warn!(
                c.dev(),
                "chan {ch}: thread still not stopped (CSR {:#x}); killing it again\n",
                hw.csr(ch)
            );
            let _ = hw.kill(ch);
        }
        fsleep(Delta::from_millis(1));
    }
}

/// The work item that polls a channel in `State::Ending` (`stop_watch`):
/// one per channel, made at probe, held by the interrupt handlers (which
/// queue it) and the driver (which waits for it at unbind).  Not in the
/// channel's data: the channel is the framework's type, and a driver crate
/// cannot implement the kernel crate's `HasWork` for it.
#[pin_data]
struct StopWatch {
    chan: Arc<Pl330Chan>,
    #[pin]
    work: Work<StopWatch>,
}

impl_has_work! {
    impl HasWork<Self> for StopWatch { self.work }
}

impl WorkItem for StopWatch {
    type Pointer = Arc<StopWatch>;

    fn run(this: Arc<StopWatch>) {
        stop_watch(&this.chan);
    }
}

impl StopWatch {
    fn new(chan: Arc<Pl330Chan>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                chan,
                work <- new_work!("rust_pl330::StopWatch::work"),
            }),
            GFP_KERNEL,
        )
    }
}

#[vtable]
impl Provider for Pl330 {
    type Desc = Xfer;
    type Engine = Engine;
    type ChanData = Chan;

    // Memcpy only (the default directions, no slave widths); the residue
    // follows the destination address register, burst by burst.
    const RESIDUE_GRANULARITY: ResidueGranularity = ResidueGranularity::Burst;

    fn prep_memcpy(chan: &Pl330Chan, dst: DmaAddress, src: DmaAddress, len: usize) -> Result<Xfer> {
        let (Some(dst), Some(src), Some(len)) = (bus32(dst), bus32(src), bus32(len)) else {
            return Err(EINVAL);
        };
        if len == 0 || src.checked_add(len).is_none() || dst.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        if chan.data().failed.load(Ordering::Relaxed) {
            dev_err!(
                chan.dev(),
                "chan {}: new transfer refused: the thread of a failed transfer has not \
                 stopped yet; terminate the channel or try again later\n",
                chan.index()
            );
            return Err(EBUSY);
        }
        let mut x =
            Xfer::memcpy(&chan.data().hw.geo, chan.index(), dst, src, len).inspect_err(|_| {
                dev_err!(
                    chan.dev(),
                    "chan {}: a copy of {len} bytes needs more than {MC_SLOT} bytes of microcode\n",
                    chan.index()
                )
            })?;
        let every = chan.data().fault_every;
        if every != 0 && chan.data().prepared.fetch_add(1, Ordering::Relaxed) % every == every - 1 {
            // 0xff is no instruction: the thread faults at its first fetch.
            x.mc[0] = 0xff;
        }
        Ok(x)
    }

    fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
        if g.issue_pending() {
            if settle(&chan, g) {
                chan.schedule_callbacks();
            }
            start_next(&chan, g);
        }
    }

    fn tx_status(chan: &Pl330Chan, g: &Inner<Self>, cookie: Cookie) -> TxStatus {
        let (residue, in_flight_bytes) = match (g.queue().active(), g.queue().find(cookie)) {
            // The address registers advance with each burst read and
            // written.
            (Some(a), Some(_)) if a.cookie() == cookie && g.engine.state == State::Running => {
                active_progress(chan, g)
            }
            (_, Some(d)) => (d.data.len, 0),
            (_, None) => (0, 0),
        };
        TxStatus {
            status: Status::InProgress,
            residue,
            in_flight_bytes,
        }
    }

    fn terminate_all(chan: &Pl330Chan, g: &mut Inner<Self>) -> Result {
        if g.engine.state == State::Idle {
            return Ok(());
        }
        if let State::Ending(_) = g.engine.state {
            // Killed already, by the fault path.  The active descriptor is
            // being terminated: until the thread reads Stopped, its memory
            // is not the client's again.
            if !chan.data().hw.stopped(chan.index()) {
                chan.engine_stopping();
                g.engine.state = State::Stopping;
                return Ok(());
            }
            g.engine.state = State::Idle;
            chan.data().failed.store(false, Ordering::Relaxed);
            return Ok(());
        }
        let hw = &chan.data().hw;
        let ch = chan.index();
        if g.engine.state == State::Running && !hw.stopped(ch) {
            // A thread that ended its program (its event is pending) needs
            // no kill.  If the kill cannot be issued, nothing changes: the
            // transfer goes on and completes, and the framework moves and
            // suppresses nothing (the error reaches the client).
            hw.kill(ch).inspect_err(|e| {
                dev_err!(
                    chan.dev(),
                    "chan {ch}: terminate: DMAKILL not issued, the debug interface is busy \
                     ({e:?}); the transfer goes on\n"
                )
            })?;
        }
        // Its event, if it came, belongs to a descriptor being aborted; the
        // interrupt handler looks at the event again under this lock.
        hw.int_clear(1 << ch);
        if g.engine.state == State::Running {
            if hw.stopped(ch) {
                test_check_stopped(chan, "a terminated thread taken as stopped");
                g.engine.state = State::Idle;
                return Ok(());
            }
            // Killing: outstanding transactions may still complete.
            chan.engine_stopping();
            g.engine.state = State::Stopping;
        }
        settle(chan, g);
        Ok(())
    }

    fn synchronize(chan: VirtChanRef<'_, Self>) {
        let hw = &chan.data().hw;
        for l in hw.irqs.iter() {
            l.synchronize();
        }
        // A stop announced by `terminate_all`, or a killed thread's
        // failed transfer: wait for Stopped.
        let mut polls: u32 = 0;
        loop {
            {
                let mut g = chan.lock();
                let done = settle(&chan, &mut g);
                if let State::Idle | State::Running = g.engine.state {
                    start_next(&chan, &mut g);
                    drop(g);
                    if done {
                        chan.schedule_callbacks();
                    }
                    return;
                }
            }
            polls = polls.wrapping_add(1);
            if polls % STOP_POLL == 0 {
                dev_warn!(
                    chan.dev(),
                    "chan {}: synchronize: thread not stopped after DMAKILL (CSR {:#x}); \
                     killing again and waiting\n",
                    chan.index(),
                    hw.csr(chan.index())
                );
                let _ = hw.kill(chan.index());
            }
            cpu_relax();
        }
    }
}

/// The interrupt handler of every line of the controller (the abort line
/// and one per event).
struct Irq {
    hw: Arc<Hw>,
    /// Each channel, with its stop watch: set once the DMA device is
    /// registered, which is after the handlers are (an interrupt before
    /// has no channel to look at).
    watches: Arc<SetOnce<KVec<Arc<StopWatch>>>>,
}

impl Irq {
    /// Channel `c`'s event: its program reached `DMASEV` (after `DMAWMB`:
    /// every write of the descriptor has completed).
    fn event(&self, w: &Arc<StopWatch>) {
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
    fn fault(&self, w: &Arc<StopWatch>) {
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
    fn not_started(&self, c: &Arc<Pl330Chan>) {
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

/// The bound driver: the DMA device, then the interrupt handlers, then the
/// controller (dropped in that order).
struct Pl330Driver {
    /// `None` only while dropping.
    reg: Option<Devres<Registration<Pl330>>>,
    /// The channels' stop watches, to wait for at unbind.
    watches: KVec<Arc<StopWatch>>,
    _irqs: KVec<Devres<IrqRegistration<Irq>>>,
    hw: Arc<Hw>,
}

impl Drop for Pl330Driver {
    fn drop(&mut self) {
        // Unregister: every channel is stopped and synchronized, and no
        // new descriptor can start (the channels are dead).
        drop(self.reg.take());
        // No thread is Ending now (`synchronize` waited for each): a
        // stop watch still queued or running returns at its next look.
        for w in self.watches.iter() {
            // SAFETY: `work` was initialised by `new_work!` (`StopWatch::new`).
            unsafe { kernel::bindings::flush_work(Work::raw_get(&w.work)) };
        }
        // Then no event should interrupt, and no thread run; the handlers
        // are freed next (field order), the registers unmapped last.
        self.hw.int_enable(0);
        for ch in 0..self.hw.geo.nchan {
            if !self.hw.stopped(ch) {
                let _ = self.hw.kill(ch);
                self.hw.wait_stopped(ch);
            }
        }
    }
}

impl amba::Driver for Pl330Driver {
    const ID: amba::DeviceId = amba::DeviceId {
        id: 0x0004_1330,
        mask: 0x000f_ffff,
    };

    fn probe(adev: &amba::Device<'_>) -> impl PinInit<Self, Error> {
        let dev = adev.dev();
        let fault_every = fault_every()?;
        // The PL330's AXI addresses, and its microcode address (`DMAGO`),
        // are 32-bit.
        // SAFETY: In probe, before this driver allocates or maps anything.
        unsafe { adev.dma_set_mask_and_coherent(DmaMask::new::<32>()) }.inspect_err(|e| {
            dev_err!(
                dev,
                "cannot set a 32-bit DMA mask ({e:?}): the PL330 addresses 4 GiB\n"
            )
        })?;
        let io = adev
            .ioremap::<{ reg::WINDOW }>(NAME)
            .inspect_err(|e| dev_err!(dev, "cannot map the 4 KiB register window: {e:?}\n"))?;
        let cr0 = io.read(reg::CR0);
        let crd = io.read(reg::CRD);
        let nchan = cr0.num_chnls().get() + 1;
        let nevents = cr0.num_events().get() + 1;
        let nperiph = if cr0.periph_req() {
            cr0.num_periph_req().get() + 1
        } else {
            0
        };
        let bus_bytes = 1u32 << crd.data_width().get();
        let buf_dep = crd.data_buffer_dep().get() + 1;
        // One event per channel: event `n` is channel `n`'s interrupt.
        let chans = nchan.min(nevents);
        let mut lines = KVec::new();
        let mut irqs = KVec::new();
        for l in adev.irqs() {
            lines.push(l, GFP_KERNEL)?;
            irqs.push(l.sync(), GFP_KERNEL)?;
        }
        if irqs.is_empty() {
            dev_err!(dev, "no interrupt line\n");
            return Err(ENODEV);
        }
        let hw = Arc::pin_init(
            try_pin_init!(Hw {
                io: io.into_devres()?,
                dbg <- new_spinlock_irq!((), "rust_pl330::Hw::dbg"),
                geo: Geometry {
                    nchan: chans,
                    ns: cr0.mgr_ns_at_rst(),
                    bus_bytes,
                    buf_dep,
                },
                irqs,
                kill_lag: kill_lag()?,
                lag: [const { AtomicU32::new(0) }; 8],
            }),
            GFP_KERNEL,
        )?;
        // A thread left running (by a previous driver, or a boot loader)
        // is stopped; no stale event remains.
        for ch in 0..chans {
            if !hw.stopped(ch) {
                let _ = hw.kill(ch);
                hw.wait_stopped(ch);
            }
        }
        let mask = (1u32 << chans) - 1;
        hw.int_clear(mask);

        // The interrupt handlers come first, so that a channel a client
        // finds has its interrupts, and a failure here unwinds with no DMA
        // device ever visible; they see the channels once registered.
        let watches_set = Arc::new(SetOnce::new(), GFP_KERNEL)?;
        let mut irq_regs = KVec::new();
        for l in lines.iter() {
            let handler = Irq {
                hw: hw.clone(),
                watches: watches_set.clone(),
            };
            let r = IrqRegistration::new(*l, NAME, Ok::<_, Error>(handler))
                .inspect_err(|e| dev_err!(dev, "cannot request IRQ {}: {e:?}\n", l.number()))?;
            irq_regs.push(r, GFP_KERNEL)?;
        }
        hw.int_enable(mask);

        let mut watches = KVec::new();
        let reg = Registration::<Pl330>::new_with_setup(
            dev,
            &[Cap::Memcpy],
            chans,
            |_| {
                let mc = Coherent::<[u8; MC_SLOT]>::zeroed(dev, GFP_KERNEL)?;
                let Some(mc_addr) =
                    bus32(mc.dma_address()).filter(|a| a.checked_add(MC_SLOT as u32).is_some())
                else {
                    dev_err!(dev, "microcode buffer above 4 GiB\n");
                    return Err(ENOMEM);
                };
                let hw = hw.clone();
                Ok((
                    Engine { state: State::Idle },
                    try_pin_init!(Chan {
                    hw,
                    mc,
                    mc_addr,
                    prepared: AtomicU32::new(0),
                    fault_every,
                    failed: AtomicBool::new(false),
                }? Error),
                ))
            },
            |chans| {
                // Before dmaengine sees the channels: no program can have run,
                // and the first event finds its channel.
                let mut watches_irq = KVec::new();
                for c in chans {
                    let w = StopWatch::new(c.clone())?;
                    watches_irq.push(w.clone(), GFP_KERNEL)?;
                    watches.push(w, GFP_KERNEL)?;
                }
                watches_set.populate(watches_irq);
                Ok(())
            },
        )
        .inspect_err(|e| dev_err!(dev, "cannot register the DMA device: {e:?}\n"))?;
        let periphid = adev.periphid();
        dev_info!(
            dev,
            "PL330 r{}: {chans} channels (of {nchan}), {nevents} events, {nperiph} peripheral \
             requests, {}-bit bus, {buf_dep}-line MFIFO, {} interrupt lines{}\n",
            (periphid >> 20) & 0xf,
            bus_bytes * 8,
            irq_regs.len(),
            if hw.geo.ns { ", non-secure" } else { "" }
        );
        Ok(Self {
            reg: Some(reg),
            watches,
            _irqs: irq_regs,
            hw,
        })
    }
}

/// The module: the AMBA driver.
struct RustPl330 {
    _driver: Pin<KBox<driver::Registration<amba::Adapter<Pl330Driver>>>>,
}

impl kernel::Module for RustPl330 {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // A bad knob of the fault-test build refuses the load.
        fault_every()?;
        kill_lag()?;
        let driver = KBox::pin_init(driver::Registration::new(NAME, module), GFP_KERNEL)?;
        Ok(Self { _driver: driver })
    }
}

#[kunit_tests(rust_pl330_microcode)]
mod tests {
    use super::*;

    /// Zynq's PL330 as QEMU models it.
    const ZYNQ: Geometry = Geometry {
        nchan: 8,
        ns: false,
        bus_bytes: 8,
        buf_dep: 256,
    };

    /// What a program did, by a small interpreter of the instructions the
    /// driver emits (DDI 0424 semantics: `DMALP` loads n - 1, `DMALPEND`
    /// jumps back while the counter is not zero, decrementing it).
    struct Run {
        sar: u32,
        dar: u32,
        loaded: u64,
        stored: u64,
        event: u32,
    }

    fn burst_bytes(ccr: u32, shift: u32) -> u64 {
        let size = 1u64 << ((ccr >> (shift + 1)) & 0x7);
        let len = u64::from((ccr >> (shift + 4)) & 0xf) + 1;
        size * len
    }

    fn run(prog: &[u8]) -> Result<Run> {
        let (mut pc, mut ccr, mut steps) = (0usize, 0u32, 0u32);
        let mut lc = [0u32; 2];
        let mut r = Run {
            sar: 0,
            dar: 0,
            loaded: 0,
            stored: 0,
            event: u32::MAX,
        };
        let at = |i: usize| prog.get(i).copied().ok_or(EINVAL);
        loop {
            steps += 1;
            if steps > 20_000_000 {
                return Err(ELOOP);
            }
            match at(pc)? {
                0xbc => {
                    let v =
                        u32::from_le_bytes([at(pc + 2)?, at(pc + 3)?, at(pc + 4)?, at(pc + 5)?]);
                    match at(pc + 1)? {
                        0 => r.sar = v,
                        1 => ccr = v,
                        2 => r.dar = v,
                        _ => return Err(EINVAL),
                    }
                    pc += 6;
                }
                op @ (0x20 | 0x22) => {
                    lc[usize::from((op >> 1) & 1)] = u32::from(at(pc + 1)?);
                    pc += 2;
                }
                op @ (0x38 | 0x3c) => {
                    let l = usize::from((op >> 2) & 1);
                    if lc[l] != 0 {
                        lc[l] -= 1;
                        pc -= usize::from(at(pc + 1)?);
                    } else {
                        pc += 2;
                    }
                }
                0x04 => {
                    // CAST: a burst is at most 16 x 128 bytes.
                    let n = burst_bytes(ccr, 0);
                    r.sar = r.sar.wrapping_add(n as u32);
                    r.loaded += n;
                    pc += 1;
                }
                0x08 => {
                    let n = burst_bytes(ccr, 14);
                    r.dar = r.dar.wrapping_add(n as u32);
                    r.stored += n;
                    if r.stored > r.loaded {
                        // The MFIFO would run dry.
                        return Err(EIO);
                    }
                    pc += 1;
                }
                0x13 => pc += 1,
                0x34 => {
                    r.event = u32::from(at(pc + 1)? >> 3);
                    pc += 2;
                }
                0x00 => return Ok(r),
                _ => return Err(EINVAL),
            }
        }
    }

    fn check(geo: &Geometry, ch: u32, dst: u32, src: u32, len: u32) -> Result {
        let x = Xfer::memcpy(geo, ch, dst, src, len)?;
        assert!(x.mc_len <= MC_SLOT);
        let r = run(&x.mc[..x.mc_len])?;
        assert_eq!(r.loaded, u64::from(len));
        assert_eq!(r.stored, u64::from(len));
        assert_eq!(r.sar, src + len);
        assert_eq!(r.dar, dst + len);
        assert_eq!(r.event, ch);
        assert_eq!(x.dst, dst);
        assert_eq!(x.len, len);
        Ok(())
    }

    #[test]
    fn memcpy_programs_copy_exactly_len_bytes() -> Result {
        let lens = [
            1u32,
            3,
            8,
            128,
            129,
            255,
            256 * 128,
            4096,
            16383,
            16384,
            65536 * 3 + 5,
            1 << 20,
            (1 << 20) + 1,
        ];
        for (i, len) in lens.into_iter().enumerate() {
            // CAST: `i` < 16.
            let ch = i as u32 % 8;
            // Aligned, and both unaligned ways.
            check(&ZYNQ, ch, 0x1000_0000, 0x2000_0000, len)?;
            check(&ZYNQ, ch, 0x1000_0001, 0x2000_0000, len)?;
            check(&ZYNQ, ch, 0x1000_0000, 0x2000_0006, len)?;
        }
        Ok(())
    }

    #[test]
    fn memcpy_on_a_narrow_bus_and_one_channel() -> Result {
        let geo = Geometry {
            nchan: 1,
            ns: true,
            bus_bytes: 4,
            buf_dep: 16,
        };
        for len in [4u32, 60, 64, 68, 1000, 1 << 16] {
            check(&geo, 0, 0x4000_0000, 0x5000_0000, len)?;
        }
        Ok(())
    }

    #[test]
    fn a_program_that_does_not_fit_is_refused() {
        // 64 MiB in 1-byte bursts needs 1024 loop nests: more than a slot.
        assert!(Xfer::memcpy(&ZYNQ, 0, 0x1000_0001, 0x2000_0000, 64 << 20).is_err());
    }
}
