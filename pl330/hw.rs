// SPDX-License-Identifier: GPL-2.0

//! Hardware access: the register window, the debug-instruction interface
//! (`DMAKILL`, `DMAGO`) and the thread states.

use super::*;
use crate::dmaengine::amba::{
    DevresIoMem,
    IoMem,
    IrqLine,
    IrqSync, //
};
use kernel::{
    fmt, impl_has_hr_timer,
    io::{
        poll::read_poll_timeout_atomic,
        register::Array, //
    },
    new_spinlock_irq,
    sync::{
        ArcBorrow,
        SpinLockIrq, //
    },
    time::{
        hrtimer::{
            ArcHrTimerHandle,
            HrTimer,
            HrTimerCallback,
            HrTimerCallbackContext,
            HrTimerPointer,
            HrTimerRestart,
            RelativeMode, //
        },
        Delta,
        Monotonic, //
    },
};

/// The names of the fault bits of an FTR or FTRD value, for `dev_err`.
pub(crate) struct FaultNames(pub(crate) u32);

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
pub(crate) struct Geometry {
    /// Channel threads in use.
    pub(crate) nchan: u32,
    /// The manager thread is non-secure (CR0): DMAGO and the channels
    /// must be non-secure too.
    pub(crate) ns: bool,
    /// Data bus width in bytes.
    pub(crate) bus_bytes: u32,
    /// MFIFO depth in bus-width lines.
    pub(crate) buf_dep: u32,
}

/// The controller, shared by its channels and its interrupt handlers.
#[pin_data]
pub(crate) struct Hw {
    /// The registers, revoked when the device is unbound: a channel that a
    /// client still holds after that (a leaked registration) finds them
    /// gone instead of touching a controller whose clock is off.
    pub(crate) io: DevresIoMem<{ reg::WINDOW }>,
    /// The debug-instruction interface (DBGINST0/1, DBGCMD) is one for all
    /// threads: its three writes go under this lock, taken innermost
    /// (under a channel lock).
    #[pin]
    pub(crate) dbg: SpinLockIrq<()>,
    pub(crate) geo: Geometry,
    pub(crate) irqs: KVec<IrqSync>,
    /// Fault-test build: reads of a killed thread's state that still say
    /// Killing (see `kill_lag`); 0 in the product build.
    pub(crate) kill_lag: u32,
    /// Per channel thread: how many of those reads are left.
    pub(crate) lag: [AtomicU32; 8],
    /// Fault-test build: the deferral of a `DMAGO` in ms (`go_defer_ms`);
    /// 0 in the product build.
    pub(crate) go_defer: u32,
    /// Per thread: the program address of a deferred `DMAGO`, or
    /// [`NO_GO`], and the clock's ticks before it takes effect.  Written
    /// under `dbg`.
    pub(crate) deferred: [AtomicU32; 8],
    pub(crate) defer_ticks: [AtomicU32; 8],
    /// Per thread: a `DMAKILL` cancelled its deferred `DMAGO` (the program
    /// never ran); cleared by the next `DMAGO`.
    pub(crate) cancelled: [AtomicBool; 8],
    /// Fault-test build: the terminates that found a running thread and
    /// went through Stopping.
    pub(crate) stoppings: AtomicU32,
    #[pin]
    pub(crate) defer_timer: HrTimer<Hw>,
    /// Set from a refused-free system suspend until resume: no program
    /// starts; issued descriptors wait (`start_next`).
    pub(crate) suspended: AtomicBool,
    /// The channel threads held by a channel (bit `t`: thread `t`).
    pub(crate) busy: AtomicU32,
    /// Per thread: the index of the channel that holds it, or
    /// [`NO_CHAN`]; what the interrupt handler finds an event's channel by.
    pub(crate) owner: [AtomicU32; 8],
}

/// [`Hw::deferred`] of a thread with no deferred `DMAGO`.
pub(crate) const NO_GO: u32 = u32::MAX;

/// The fault-test build's clock of deferred `DMAGO`s: stops when dropped.
pub(crate) struct DeferClock(#[allow(dead_code)] ArcHrTimerHandle<Hw>);

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Hw {
        mode: RelativeMode<Monotonic>, field: self.defer_timer
    }
}

impl HrTimerCallback for Hw {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, mut ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        ctx.forward_now(Delta::from_millis(1));
        for t in 0..this.geo.nchan {
            let _g = this.dbg.lock();
            let i = t as usize;
            if this.deferred[i].load(Ordering::Relaxed) == NO_GO {
                continue;
            }
            if this.defer_ticks[i].fetch_sub(1, Ordering::Relaxed) > 1 {
                continue;
            }
            let addr = this.deferred[i].swap(NO_GO, Ordering::Relaxed);
            // SAFETY: The `DMAGO` that `Hw::go` deferred, under its
            // contract: no `DMAKILL` came since (it would have cancelled
            // it, under the same lock), so the descriptor is still the
            // active one of a channel that has not been terminated.
            let _ = unsafe { this.exec_dbg_locked(this.go_insn(t, addr), None) };
        }
        HrTimerRestart::Restart
    }
}

/// [`Hw::owner`] of a free thread.
pub(crate) const NO_CHAN: u32 = u32::MAX;

impl Hw {
    /// `f` on the register window, or `gone` once the device was unbound
    /// (the window revoked).  A revoked window reads as an idle controller
    /// with every thread Stopped: before its unbind revokes the window,
    /// [`Pl330Driver`]'s drop killed every thread and waited for it.
    ///
    /// Always inlined: the `register!` reads in `f` are bounds-checked at
    /// build time (`build_assert!`), which needs the register's offset
    /// constant-folded into the caller, whatever the optimiser's mood (a
    /// Clippy build does not inline as much).
    #[inline(always)]
    pub(crate) fn rd<T>(&self, gone: T, f: impl FnOnce(&IoMem<'_, { reg::WINDOW }>) -> T) -> T {
        self.io.try_access().map_or(gone, |io| f(&io))
    }

    /// `f` on the registers of [`Regs`], or `gone` once the device was
    /// unbound (as [`Hw::rd`]), for a path that reads several: one
    /// `try_access`, so one RCU read-side section, for all of them.  The
    /// interrupt handler, which reads the status, the event, the thread's
    /// state and clears the event, pays for one section per interrupt; with
    /// one per register (with lockdep, each is a lock acquire and release)
    /// it cost about a thousand instructions per transfer more than
    /// pl330.c's bare `readl()`s (`make bench BENCH=pl330`, deep queue).
    #[inline(always)]
    pub(crate) fn with_regs<T>(&self, gone: T, f: impl FnOnce(&Regs<'_>) -> T) -> T {
        self.io
            .try_access()
            .map_or(gone, |io| f(&Regs { hw: self, io: &io }))
    }

    /// INT_EVENT_RIS: the channels whose event is pending.
    pub(crate) fn events(&self) -> u32 {
        self.with_regs(0, |r| r.events())
    }

    /// FSRC: the channels whose thread faulted.
    pub(crate) fn chan_faults(&self) -> u32 {
        self.with_regs(0, |r| r.chan_faults())
    }

    /// FTRD: the manager thread's fault bits.
    pub(crate) fn mgr_fault_type(&self) -> u32 {
        self.rd(0, |io| io.read(reg::FTRD).fault_type().get())
    }

    // The channel registers below: `ch < 8` (CR0 counts channels in 3
    // bits), so `try_at` finds each; a bad `ch` would read as 0.

    /// CSR: channel thread `ch`'s status.
    pub(crate) fn csr(&self, ch: u32) -> u32 {
        reg::CSR::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).into_raw()))
    }

    /// CPC: channel thread `ch`'s program counter.
    pub(crate) fn cpc(&self, ch: u32) -> u32 {
        reg::CPC::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).pc().get()))
    }

    /// FTR: channel thread `ch`'s fault bits.
    pub(crate) fn fault_type(&self, ch: u32) -> u32 {
        reg::FTR::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).fault_type().get()))
    }

    /// SAR: channel `ch`'s source address.
    pub(crate) fn sar(&self, ch: u32) -> u32 {
        reg::SAR::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).addr().get()))
    }

    /// DAR: channel `ch`'s destination address.
    pub(crate) fn dar(&self, ch: u32) -> u32 {
        reg::DAR::try_at(ch as usize).map_or(0, |r| self.rd(0, |io| io.read(r).addr().get()))
    }

    /// Clears the interrupts of the channels in `mask` (INTCLR).
    pub(crate) fn int_clear(&self, mask: u32) {
        self.with_regs((), |r| r.int_clear(mask))
    }

    /// Routes the events in `mask` to interrupts, the others to events
    /// only (INTEN).
    pub(crate) fn int_enable(&self, mask: u32) {
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
    pub(crate) unsafe fn exec_dbg(&self, insn: [u8; 6], chan: Option<u32>) -> Result {
        let _g = self.dbg.lock();
        if let (Some(t), 0x01) = (chan, insn[0]) {
            // A kill cancels a deferred `DMAGO` (fault-test build): the
            // program never ran.
            if let (Some(d), Some(c)) = (
                self.deferred.get(t as usize),
                self.cancelled.get(t as usize),
            ) {
                if d.swap(NO_GO, Ordering::Relaxed) != NO_GO {
                    c.store(true, Ordering::Relaxed);
                }
            }
        }
        // SAFETY: Under `dbg`, with the caller's contract.
        unsafe { self.exec_dbg_locked(insn, chan) }
    }

    /// [`Hw::exec_dbg`], with `dbg` held.
    ///
    /// # Safety
    ///
    /// As [`Hw::exec_dbg`]; the caller holds `dbg`.
    unsafe fn exec_dbg_locked(&self, insn: [u8; 6], chan: Option<u32>) -> Result {
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
    pub(crate) fn kill(&self, ch: u32) -> Result {
        if ch >= self.geo.nchan {
            return Err(EINVAL);
        }
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
    pub(crate) fn lagging(&self, ch: u32) -> bool {
        self.kill_lag > 0
            && self
                .lag
                .get(ch as usize)
                .is_some_and(|l| l.load(Ordering::Relaxed) > 0)
    }

    /// `DMAKILL` on the manager thread (after a manager fault).
    pub(crate) fn kill_manager(&self) -> Result {
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
    pub(crate) unsafe fn go(&self, ch: u32, addr: u32) -> Result {
        if ch >= self.geo.nchan {
            return Err(EINVAL);
        }
        self.cancelled[ch as usize].store(false, Ordering::Relaxed);
        if self.go_defer > 0 {
            // Fault-test build: the clock issues it later.
            let _g = self.dbg.lock();
            self.defer_ticks[ch as usize].store(self.go_defer, Ordering::Relaxed);
            self.deferred[ch as usize].store(addr, Ordering::Relaxed);
            return Ok(());
        }
        // SAFETY: `DMAGO`, under this function's contract.
        unsafe { self.exec_dbg(self.go_insn(ch, addr), None) }
    }

    /// The `DMAGO ch, addr` instruction.
    fn go_insn(&self, ch: u32, addr: u32) -> [u8; 6] {
        let a = addr.to_le_bytes();
        // CAST: `ch < 8`.
        [
            0xa0 | (u8::from(self.geo.ns) << 1),
            ch as u8,
            a[0],
            a[1],
            a[2],
            a[3],
        ]
    }

    /// Fault-test build: starts the clock of deferred `DMAGO`s, if
    /// `go_defer_ms` asks for one.
    pub(crate) fn start_defer_clock(this: &Arc<Self>) -> Option<DeferClock> {
        (this.go_defer > 0).then(|| DeferClock(this.clone().start(Delta::from_millis(1))))
    }

    /// How far into the program at `base` thread `ch`'s program counter is
    /// (0 if a `DMAKILL` cancelled its deferred `DMAGO`: it never ran).
    pub(crate) fn pc_offset(&self, ch: u32, base: u32) -> u32 {
        if self
            .cancelled
            .get(ch as usize)
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return 0;
        }
        self.cpc(ch).wrapping_sub(base)
    }

    /// Whether channel thread `ch` is Stopped: after `DMAEND`, or after
    /// `DMAKILL` once its outstanding transactions completed.
    pub(crate) fn stopped(&self, ch: u32) -> bool {
        self.with_regs(true, |r| r.stopped(ch))
    }

    /// Polls until thread `ch` is Stopped; false if it is not after
    /// `STOP_POLL` reads.  Any context.
    pub(crate) fn wait_stopped(&self, ch: u32) -> bool {
        self.with_regs(true, |r| r.wait_stopped(ch))
    }
}

/// The controller's registers within one `try_access` of the window
/// ([`Hw::with_regs`]): the reads and writes of a path that makes several.
pub(crate) struct Regs<'a> {
    hw: &'a Hw,
    io: &'a IoMem<'a, { reg::WINDOW }>,
}

impl Regs<'_> {
    /// INT_EVENT_RIS: the channels whose event is pending.
    #[inline(always)]
    pub(crate) fn events(&self) -> u32 {
        self.io.read(reg::INT_EVENT_RIS).events().get()
    }

    /// FSRC: the channels whose thread faulted.
    #[inline(always)]
    pub(crate) fn chan_faults(&self) -> u32 {
        self.io.read(reg::FSRC).faults().get()
    }

    /// FSRD: whether the manager thread faulted.
    #[inline(always)]
    pub(crate) fn mgr_fault(&self) -> bool {
        self.io.read(reg::FSRD).fault()
    }

    /// Clears the interrupts of the channels in `mask` (INTCLR).
    #[inline(always)]
    pub(crate) fn int_clear(&self, mask: u32) {
        // SAFETY: INTCLR only clears event and interrupt status bits: no
        // thread starts or changes what it accesses.
        unsafe { self.io.write32(mask, reg::INTCLR) }
    }

    /// As [`Hw::stopped`].
    pub(crate) fn stopped(&self, ch: u32) -> bool {
        let hw = self.hw;
        if hw.go_defer > 0
            && hw
                .deferred
                .get(ch as usize)
                .is_some_and(|d| d.load(Ordering::Relaxed) != NO_GO)
        {
            // Fault-test build: its `DMAGO` is still to take effect.
            return false;
        }
        if hw.kill_lag > 0
            && hw.lag.get(ch as usize).is_some_and(|l| {
                l.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                    .is_ok()
            })
        {
            // Fault-test build: still Killing.
            return false;
        }
        self.state(ch) == CS_STOPPED
    }

    /// CSR's state field of channel thread `ch` (a bad `ch` reads as
    /// Stopped).
    #[inline(always)]
    fn state(&self, ch: u32) -> u32 {
        reg::CSR::try_at(ch as usize).map_or(CS_STOPPED, |r| self.io.read(r).state().get())
    }

    /// As [`Hw::wait_stopped`].
    pub(crate) fn wait_stopped(&self, ch: u32) -> bool {
        read_poll_timeout_atomic(
            || Ok(self.stopped(ch)),
            |&stopped| stopped,
            Delta::ZERO,
            STOP_POLL as usize,
        )
        .is_ok()
    }
}

impl Hw {
    /// Takes a free channel thread for channel `chan`: its index, or
    /// `None` if every thread is held.  Any context.
    pub(crate) fn take_thread(&self, chan: u32) -> Option<u32> {
        for t in 0..self.geo.nchan {
            if self.busy.fetch_or(1 << t, Ordering::AcqRel) & (1 << t) == 0 {
                self.owner[t as usize].store(chan, Ordering::Release);
                return Some(t);
            }
        }
        None
    }

    /// Gives thread `t` back.  Its channel is idle and synchronized: no
    /// program runs on it and no event of it is pending.
    pub(crate) fn put_thread(&self, t: u32) {
        if let Some(o) = self.owner.get(t as usize) {
            o.store(NO_CHAN, Ordering::Release);
            self.busy.fetch_and(!(1 << t), Ordering::AcqRel);
        }
    }

    /// The channel that holds thread `t`, if any.
    pub(crate) fn owner_of(&self, t: u32) -> Option<usize> {
        self.owner
            .get(t as usize)
            .map(|o| o.load(Ordering::Acquire))
            .filter(|&c| c != NO_CHAN)
            .map(|c| c as usize)
    }
}

/// What CR0 says beyond the driver's [`Geometry`], for the probe's message.
pub(crate) struct Config {
    /// Channel threads.
    pub(crate) nchan: u32,
    /// Events (and interrupts).
    pub(crate) nevents: u32,
    /// Peripheral request interfaces.
    pub(crate) nperiph: u32,
}

impl Hw {
    /// Kills every channel thread that does not read Stopped, and waits
    /// for it (at most `STOP_POLL` reads each).  Any context.
    pub(crate) fn stop_all(&self) {
        for ch in 0..self.geo.nchan {
            if !self.stopped(ch) {
                let _ = self.kill(ch);
                self.wait_stopped(ch);
            }
        }
    }

    /// Maps the controller's registers, reads its configuration, and stops
    /// any thread left running (by a previous driver, or a boot loader),
    /// with no stale event left.  The interrupt lines go to `lines`, for
    /// the handlers the driver requests next.
    pub(crate) fn probe<'a>(
        adev: &amba::Device<'a>,
        lines: &mut KVec<IrqLine<'a>>,
    ) -> Result<(Arc<Hw>, Config)> {
        let dev = adev.dev();
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
                go_defer: go_defer_ms()?,
                deferred: [const { AtomicU32::new(NO_GO) }; 8],
                defer_ticks: [const { AtomicU32::new(0) }; 8],
                cancelled: [const { AtomicBool::new(false) }; 8],
                stoppings: AtomicU32::new(0),
                suspended: AtomicBool::new(false),
                defer_timer <- HrTimer::new(),
                busy: AtomicU32::new(0),
                owner: [const { AtomicU32::new(NO_CHAN) }; 8],
            }),
            GFP_KERNEL,
        )?;
        // A thread left running (by a previous driver, or a boot loader)
        // is stopped; no stale event remains.
        hw.stop_all();
        hw.int_clear((1u32 << chans) - 1);
        Ok((
            hw,
            Config {
                nchan,
                nevents,
                nperiph,
            },
        ))
    }
}
