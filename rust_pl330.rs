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
//! Terminate and synchronize map onto the thread states: `terminate_all`
//! (atomic) issues `DMAKILL`, and announces the stop (`engine_stopping`)
//! unless the thread already reads Stopped; `synchronize` waits for the
//! interrupt handlers, then for Stopped, and only then acknowledges
//! (`engine_stopped`).
//!
//! The crate root holds the provider, the AMBA driver and the module; the
//! registers, the microcode, the hardware access, the channel threads and
//! the interrupt handler are each a file of `pl330/`.
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
    driver, new_work,
    prelude::*,
    processor::cpu_relax,
    sync::{
        Arc,
        SetOnce, //
    },
    workqueue::Work,
};

pub mod dmaengine;

use dmaengine::amba::{
    self,
    IrqRegistration, //
};
use dmaengine::{
    provider::{
        DevSide,
        Inner,
        Provider,
        Registration,
        SgEntry,
        TxStatus,
        VirtChan,
        VirtChanRef, //
    },
    queue::Cookie,
    Cap,
    Direction,
    DmaAddress,
    ResidueGranularity,
    Status,
    TxResult, //
};

#[cfg(not(any(dma_engine_test_pl330_faults, dma_engine_test_sync_returns_early)))]
module! {
    type: RustPl330,
    name: "rust_pl330",
    authors: ["rust-dmaengine developers"],
    description: "ARM PL330 DMA controller, keeping the dmaengine termination contract",
    license: "GPL",
}

// The fault test: the same driver, with a fault injected into every 4th
// descriptor of a channel (see `fault_every`).
#[cfg(dma_engine_test_pl330_faults)]
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
        go_defer_ms: u32 {
            default: 0,
            description: "A DMAGO takes effect this many ms later; the thread reads Executing meanwhile (0 to 10000)",
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
#[cfg(dma_engine_test_sync_returns_early)]
module! {
    type: RustPl330,
    name: "rust_pl330_broken_sync",
    authors: ["rust-dmaengine developers"],
    description: "TEST ONLY: rust_pl330 whose synchronize returns early (negative control)",
    license: "GPL",
}

#[cfg(not(any(dma_engine_test_pl330_faults, dma_engine_test_sync_returns_early)))]
const NAME: &CStr = c"rust_pl330";
#[cfg(dma_engine_test_pl330_faults)]
const NAME: &CStr = c"rust_pl330_fault_test";
#[cfg(dma_engine_test_sync_returns_early)]
const NAME: &CStr = c"rust_pl330_broken_sync";

#[path = "pl330/chan.rs"]
mod chan;
#[path = "pl330/hw.rs"]
mod hw;
#[path = "pl330/irq.rs"]
mod irq;
#[path = "pl330/mc.rs"]
mod mc;
#[path = "pl330/regs.rs"]
mod regs;
#[path = "pl330/test_build.rs"]
mod test_build;
#[path = "pl330/xfer.rs"]
mod xfer;

use chan::*;
use hw::*;
use irq::*;
use mc::*;
use regs::*;
use test_build::*;
use xfer::*;

struct Pl330;

type Pl330Chan = VirtChan<Pl330>;

#[vtable]
impl Provider for Pl330 {
    type Desc = Xfer;
    type Engine = Engine;
    type ChanData = Chan;

    // Memcpy on every channel; slave and cyclic on the channels of the
    // request lines.  The residue follows the memory side's address
    // register, burst by burst.
    const DIRECTIONS: &'static [Direction] = &[
        Direction::MemToMem,
        Direction::MemToDev,
        Direction::DevToMem,
    ];
    const ADDR_WIDTHS: &'static [u32] = WIDTHS;
    const MAX_BURST: u32 = xfer::MAX_BURST;
    const RESIDUE_GRANULARITY: ResidueGranularity = ResidueGranularity::Burst;

    fn prep_memcpy(
        chan: VirtChanRef<'_, Self>,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
    ) -> Result<Xfer> {
        let (Some(dst), Some(src), Some(len)) = (bus32(dst), bus32(src), bus32(len)) else {
            return Err(EINVAL);
        };
        if len == 0 || src.checked_add(len).is_none() || dst.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        refuse_if_failed(&chan)?;
        let mut x = Xfer::memcpy(&chan.data().hw.geo, chan.data().thread(), dst, src, len)
            .inspect_err(|_| {
                dev_err!(
                    chan.dev(),
                    "chan {}: a copy of {len} bytes needs more than {MC_SLOT} bytes of microcode\n",
                    chan.index()
                )
            })?;
        chan.data().faults.inject(&mut x);
        Ok(x)
    }

    fn prep_slave_sg(
        chan: VirtChanRef<'_, Self>,
        sgl: KVec<SgEntry>,
        dir: Direction,
        dev: DevSide,
    ) -> Result<Xfer> {
        refuse_if_failed(&chan)?;
        let d = chan.data();
        let p = Periph::new(&d.hw.geo, d.line, dir, &dev)?;
        let mut x = Xfer::slave(&d.hw.geo, d.thread(), &p, &sgl).inspect_err(|e| {
            if *e == E2BIG {
                dev_err!(
                    chan.dev(),
                    "chan {}: a slave transfer of {} entries needs more than {MC_SLOT} bytes \
                     of microcode: split the list\n",
                    chan.index(),
                    sgl.len()
                )
            }
        })?;
        d.faults.inject(&mut x);
        Ok(x)
    }

    fn prep_cyclic(
        chan: VirtChanRef<'_, Self>,
        buf: DmaAddress,
        buf_len: usize,
        period_len: usize,
        dir: Direction,
        dev: DevSide,
    ) -> Result<Xfer> {
        refuse_if_failed(&chan)?;
        let d = chan.data();
        let p = Periph::new(&d.hw.geo, d.line, dir, &dev)?;
        let (Some(buf), Some(len), Some(period)) = (bus32(buf), bus32(buf_len), bus32(period_len))
        else {
            return Err(EINVAL);
        };
        Xfer::cyclic(&d.hw.geo, d.thread(), &p, buf, len, period).inspect_err(|e| {
            if *e == E2BIG {
                dev_err!(
                    chan.dev(),
                    "chan {}: a cyclic transfer of {} periods of {period} bytes needs more \
                     than {MC_SLOT} bytes of microcode: use fewer periods or longer bursts\n",
                    chan.index(),
                    len / period
                )
            }
        })
    }

    fn pause(chan: VirtChanRef<'_, Self>) -> Result {
        chan::pause(&chan)
    }

    fn resume(chan: VirtChanRef<'_, Self>) -> Result {
        chan::resume(&chan)
    }

    /// A device-tree request names a request line (`dmas = <&pdma0 16>`):
    /// the channels past the controller's lines (there are as many
    /// channels as threads when it has fewer lines) serve memcpy only, and
    /// a request for one is refused here, not at the client's first prep.
    fn of_check(chan: VirtChanRef<'_, Self>, args: &[u32]) -> Result {
        if chan.data().line.is_none() {
            dev_err!(
                chan.dev(),
                "device-tree request {args:?}: this PL330 has no peripheral request line {}; \
                 check the client's dmas property\n",
                chan.index()
            );
            return Err(EINVAL);
        }
        Ok(())
    }

    fn alloc_chan_resources(chan: VirtChanRef<'_, Self>) -> Result {
        let d = chan.data();
        // The controller is active while a client holds a channel.
        let active = d.rpm.get().inspect_err(|e| {
            dev_err!(
                chan.dev(),
                "chan {}: cannot resume the controller ({e:?})\n",
                chan.index()
            )
        })?;
        let Some(t) = d.hw.take_thread(chan.index()) else {
            dev_dbg!(
                chan.dev(),
                "chan {}: every channel thread is taken\n",
                chan.index()
            );
            return Err(EBUSY);
        };
        d.thread.store(t, Ordering::Relaxed);
        *d.active.lock() = Some(active);
        Ok(())
    }

    fn free_chan_resources(chan: VirtChanRef<'_, Self>) {
        // Terminated and synchronized: the thread is Stopped, with no
        // event pending.
        let d = chan.data();
        let t = d.thread.swap(NO_THREAD, Ordering::Relaxed);
        d.hw.put_thread(t);
        // The controller autosuspends a second after its last channel.
        drop(d.active.lock().take());
    }

    fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
        if g.issue_pending() {
            if settle(&chan, g) {
                chan.schedule_callbacks();
            }
            start_next(&chan, g);
        }
    }

    fn tx_status(chan: VirtChanRef<'_, Self>, g: &Inner<Self>, cookie: Cookie) -> TxStatus {
        if let (State::Paused, Some(a)) = (g.engine.state, g.queue().active()) {
            if a.cookie() == cookie {
                return TxStatus {
                    status: Status::Paused,
                    residue: a.data.len - g.engine.paused_at.min(a.data.len),
                    in_flight_bytes: 0,
                };
            }
        }
        let (residue, in_flight_bytes) = match (g.queue().active(), g.queue().find(cookie)) {
            // The address registers advance with each burst read and
            // written.
            (Some(a), Some(_)) if a.cookie() == cookie && g.engine.state == State::Running => {
                active_progress(&chan, g)
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

    fn terminate_all(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) -> Result {
        // A lap due from the BH work is not started.
        g.engine.restart = false;
        if g.engine.state == State::Idle {
            return Ok(());
        }
        if g.engine.state == State::Paused {
            // Killed by the pause.
            if chan.data().hw.stopped(chan.data().thread()) {
                g.engine.state = State::Idle;
            } else {
                chan.engine_stopping();
                g.engine.state = State::Stopping;
            }
            return Ok(());
        }
        if let State::Ending(_) = g.engine.state {
            // Killed already, by the fault path.  The active descriptor is
            // being terminated: until the thread reads Stopped, its memory
            // is not the client's again.
            if !chan.data().hw.stopped(chan.data().thread()) {
                chan.engine_stopping();
                g.engine.state = State::Stopping;
                return Ok(());
            }
            g.engine.state = State::Idle;
            chan.data().failed.store(false, Ordering::Relaxed);
            return Ok(());
        }
        let hw = &chan.data().hw;
        let ch = chan.data().thread();
        if g.engine.state == State::Running && !hw.stopped(ch) {
            // A thread that ended its program (its event is pending) needs
            // no kill.  If the kill cannot be issued, nothing changes: the
            // transfer goes on and completes, and the framework moves and
            // suppresses nothing (the error reaches the client).
            hw.kill(ch).inspect_err(|e| {
                dev_err!(
                    chan.dev(),
                    "thread {ch}: terminate: DMAKILL not issued, the debug interface is busy \
                     ({e:?}); the transfer goes on\n"
                )
            })?;
        }
        // Its event, if it came, belongs to a descriptor being aborted; the
        // interrupt handler looks at the event again under this lock.
        hw.int_clear(1 << ch);
        if g.engine.state == State::Running {
            if hw.stopped(ch) {
                test_check_stopped(&chan, "a terminated thread taken as stopped");
                g.engine.state = State::Idle;
                return Ok(());
            }
            // Killing: outstanding transactions may still complete.
            hw.stoppings.fetch_add(1, Ordering::Relaxed);
            chan.engine_stopping();
            g.engine.state = State::Stopping;
        }
        settle(&chan, g);
        Ok(())
    }

    fn synchronize(chan: VirtChanRef<'_, Self>) {
        let hw = &chan.data().hw;
        for l in hw.irqs.iter() {
            l.synchronize();
        }
        wait_settled(&chan);
    }
}

/// Refuses a new transfer while the thread of a failed one has not stopped.
fn refuse_if_failed(chan: &Pl330Chan) -> Result {
    if chan.data().failed.load(Ordering::Relaxed) {
        dev_err!(
            chan.dev(),
            "chan {}: new transfer refused: the thread of a failed transfer has not \
             stopped yet; terminate the channel or try again later\n",
            chan.index()
        );
        return Err(EBUSY);
    }
    Ok(())
}

/// The bound driver: the DMA device, then the interrupt handlers, then the
/// controller (dropped in that order).
struct Pl330Driver {
    /// `None` only while dropping.
    reg: Option<Devres<Registration<Pl330>>>,
    /// The channels' stop watches, to wait for at unbind.
    watches: KVec<Arc<StopWatch>>,
    _irqs: KVec<Devres<IrqRegistration<Irq>>>,
    /// The fault-test build's clock of deferred `DMAGO`s (`go_defer_ms`).
    defer: Option<DeferClock>,
    /// Runtime PM with autosuspend: dropped (the bus's reference taken
    /// back) at unbind.
    _rpm: amba::RuntimePm,
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
            w.flush();
        }
        // Then no event should interrupt, and no thread run; the handlers
        // are freed next (field order), the registers unmapped last.
        self.hw.int_enable(0);
        self.hw.stop_all();
        drop(self.defer.take());
        report_stoppings(&self.hw);
    }
}

/// Idle time before the controller is runtime-suspended, as `pl330.c`'s
/// `PL330_AUTOSUSPEND_DELAY`.
const AUTOSUSPEND_MS: u32 = 1000;

impl Pl330Driver {
    /// Starts what was issued on each idle channel (after a resume, or a
    /// refused suspend).
    fn start_issued(&self) {
        for w in self.watches.iter() {
            let c = &w.chan;
            let mut g = c.lock();
            start_next(c, &mut g);
        }
    }
}

impl amba::Driver for Pl330Driver {
    const ID: amba::DeviceId = amba::DeviceId {
        id: 0x0004_1330,
        mask: 0x000f_ffff,
    };

    /// System sleep: refused while a transfer is in flight (a client that
    /// stops its transfers in its own suspend callback, as ALSA and serial
    /// drivers do, is done by now: this runs late).  Otherwise nothing
    /// starts until resume; what is issued meanwhile waits.  `pl330.c`
    /// turns the clock off whatever runs.
    fn suspend(&self) -> Result {
        self.hw.suspended.store(true, Ordering::Relaxed);
        for w in self.watches.iter() {
            let c = &w.chan;
            let state = c.lock().engine.state;
            if state != State::Idle {
                self.hw.suspended.store(false, Ordering::Relaxed);
                dev_err!(
                    c.dev(),
                    "chan {}: a transfer is in flight ({state:?}): system sleep refused; its \
                     client must terminate and synchronize it in its own suspend callback\n",
                    c.index()
                );
                self.start_issued();
                return Err(EBUSY);
            }
        }
        if let Some(w) = self.watches.first() {
            dev_info!(w.chan.dev(), "suspended: no transfer in flight\n");
        }
        Ok(())
    }

    /// Resume: the controller may have lost its state; every thread is
    /// stopped, no stale event, the events routed again, and what was
    /// issued meanwhile starts.  Not while it is runtime-suspended (its
    /// clock is off): its runtime resume does that.
    fn resume(&self, runtime_suspended: bool) -> Result {
        if !runtime_suspended {
            let mask = (1u32 << self.hw.geo.nchan) - 1;
            self.hw.stop_all();
            self.hw.int_clear(mask);
            self.hw.int_enable(mask);
        }
        self.hw.suspended.store(false, Ordering::Relaxed);
        self.start_issued();
        if let Some(w) = self.watches.first() {
            dev_info!(w.chan.dev(), "resumed\n");
        }
        Ok(())
    }

    /// Runtime resume: the clock is on again; the controller may have lost
    /// its state (its power domain off): no stale event, the events routed
    /// again.  No thread runs (no client held a channel).
    fn runtime_resume(&self) -> Result {
        let mask = (1u32 << self.hw.geo.nchan) - 1;
        self.hw.int_clear(mask);
        self.hw.int_enable(mask);
        Ok(())
    }

    fn probe(adev: &amba::Device<'_>) -> impl PinInit<Self, Error> {
        let dev = adev.dev();
        // The PL330's AXI addresses, and its microcode address (`DMAGO`),
        // are 32-bit.
        // SAFETY: In probe, before this driver allocates or maps anything.
        unsafe { adev.dma_set_mask_and_coherent(DmaMask::new::<32>()) }.inspect_err(|e| {
            dev_err!(
                dev,
                "cannot set a 32-bit DMA mask ({e:?}): the PL330 addresses 4 GiB\n"
            )
        })?;
        let mut lines = KVec::new();
        let (hw, cfg) = Hw::probe(adev, &mut lines)?;
        let threads = hw.geo.nchan;
        // One channel per request line, as drivers/dma/pl330.c has (a
        // client's `dmas = <&dma N>` names channel N), and at least one
        // per thread; a thread is taken when a client takes a channel.
        let nperiph = cfg.nperiph;
        let chans = threads.max(nperiph);

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
        hw.int_enable((1u32 << threads) - 1);

        let mut watches = KVec::new();
        let rpm = adev.runtime_pm();
        let reg = Registration::<Pl330>::new_with_setup(
            dev,
            kernel::module::this_module::<LocalModule>(),
            &[Cap::Memcpy, Cap::Slave, Cap::Cyclic],
            chans,
            |i| {
                let mc = Coherent::<[u8; MC_SLOT]>::zeroed(dev, GFP_KERNEL)?;
                let Some(mc_addr) =
                    bus32(mc.dma_address()).filter(|a| a.checked_add(MC_SLOT as u32).is_some())
                else {
                    dev_err!(dev, "microcode buffer above 4 GiB\n");
                    return Err(ENOMEM);
                };
                let hw = hw.clone();
                let rpm = rpm.clone();
                Ok((
                    Engine {
                        state: State::Idle,
                        lap: 0,
                        restart: false,
                        paused_at: 0,
                        resumed: false,
                    },
                    try_pin_init!(Chan {
                    hw,
                    mc,
                    mc_addr,
                    faults: Faults::new()?,
                    failed: AtomicBool::new(false),
                    line: (i < nperiph).then_some(i),
                    rpm,
                    active <- kernel::new_mutex!(None, "rust_pl330::Chan::active"),
                    thread: AtomicU32::new(NO_THREAD),
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
        dev_info!(
            dev,
            "PL330 r{}: {chans} channels on {threads} threads (of {}), {} events, {} peripheral \
             requests, {}-bit bus, {}-line MFIFO, {} interrupt lines{}\n",
            (adev.periphid() >> 20) & 0xf,
            cfg.nchan,
            cfg.nevents,
            cfg.nperiph,
            hw.geo.bus_bytes * 8,
            hw.geo.buf_dep,
            irq_regs.len(),
            if hw.geo.ns { ", non-secure" } else { "" }
        );
        Ok(Self {
            reg: Some(reg),
            watches,
            _irqs: irq_regs,
            defer: Hw::start_defer_clock(&hw),
            // Last: the controller may suspend from here on.
            _rpm: adev.autosuspend(AUTOSUSPEND_MS),
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
        check()?;
        let driver = KBox::pin_init(driver::Registration::new(NAME, module), GFP_KERNEL)?;
        Ok(Self { _driver: driver })
    }
}
