// SPDX-License-Identifier: GPL-2.0

//! A software DMA engine that keeps the DMA-engine termination contract.
//!
//! `rust_dmaengine` registers a platform device and driver of that name and,
//! on probe, a DMA device with `channels` channels (MEMCPY, MEMSET,
//! CYCLIC).  Each channel has a simulated engine ([`soft`]): it runs
//! asynchronously to the submitter, one burst of `burst_size` bytes at a
//! time, so a terminate can land mid-transfer; it raises an "interrupt" at
//! the end of each descriptor and cyclic period; stopping is a state that
//! `synchronize` waits for; with `chain=N` it is a deep queue, as LLI
//! hardware.  Cyclic device-to-memory transfers read a simulated peripheral
//! FIFO, a 32-bit sample counter, as an audio codec would produce.
//!
//! This file is the provider: the framework's callbacks, which program the
//! engine under the channel lock.  Everything unsafe about the C API is in
//! `dmaengine/`; what remains here is what only the driver can know about
//! its hardware: that the engine touches a client's memory only while the
//! DMA-engine contract lets it ([`soft::engine_range`]).
//!
//! Its test builds (`--cfg rde_broken_sync`, whose `terminate_all` does not
//! announce the running engine's stop, and the framework's) are negative
//! controls: Documentation/testing.rst lists them.

use core::sync::atomic::Ordering;
use kernel::{device::Core, devres::Devres, driver, of, platform, prelude::*};

pub mod dmaengine;
pub mod soft;

use soft::{
    fifo::{
        Clock,
        FifoFiles, //
    },
    start_next,
    Ctl,
    Engine,
    EngineRange,
    Fifo,
    Port,
    SoftChan,
    SoftDesc,
    SoftEngine,
    State,
    Xfer, //
};

use dmaengine::{
    platform::PlatformDevice,
    provider::{
        DevSide,
        Dispatch,
        Inner,
        Provider,
        Registration,
        SgEntry,
        TxStatus, //
        VirtChan,
        VirtChanRef,
    },
    queue::Cookie,
    Cap,
    Direction,
    DmaAddress,
    ResidueGranularity,
    Status, //
};

/// `module!` with this module's parameters, and its `NAME`: the product
/// module and its test builds differ only in name and description.
macro_rules! this_module {
    ($name:literal, $description:literal) => {
        const NAME: &CStr = kernel::c_str!($name);
        module! {
            type: RustDmaengine,
            name: $name,
            authors: ["rust-dmaengine developers"],
            description: $description,
            license: "GPL",
            params: {
                channels: u32 {
                    default: 4,
                    description: "Number of DMA channels (1-32)",
                },
                burst_size: u32 {
                    default: 4096,
                    description: "Bytes the engine moves per burst (64-1048576)",
                },
                burst_delay_us: u32 {
                    default: 0,
                    description: "Extra delay per burst in microseconds, models slow hardware (0-100000)",
                },
                chain: u32 {
                    default: 0,
                    description: "Deep queue: descriptors run back to back per interrupt (0: one at a time; 1-64)",
                },
                fifo_rate: u32 {
                    default: 48000,
                    description: "Frames per second of the simulated FIFO's codec clock, on a board whose device tree has it (8000-384000)",
                },
            },
        }
    };
}

// The product module, or one of its test builds (Kbuild sets their `--cfg`).
#[cfg(not(any(
    rde_broken_sync,
    dma_engine_test_bh_skip_cancel,
    dma_engine_test_release_window,
    rde_forget_registration
)))]
this_module!(
    "rust_dmaengine",
    "Software DMA engine keeping the dmaengine termination contract"
);
#[cfg(rde_broken_sync)]
this_module!(
    "rust_dmaengine_broken_sync",
    "TEST ONLY: synchronize does not wait for the engine (negative control)"
);
#[cfg(dma_engine_test_bh_skip_cancel)]
this_module!(
    "rust_dmaengine_bh_nocancel",
    "TEST ONLY: synchronize skips cancel_work_sync (negative control)"
);
#[cfg(all(dma_engine_test_release_window, not(dma_engine_test_skip_list_barrier)))]
this_module!(
    "rust_dmaengine_release_race",
    "TEST ONLY: an unbind file and a widened release window"
);
#[cfg(all(dma_engine_test_release_window, dma_engine_test_skip_list_barrier))]
this_module!(
    "rust_dmaengine_release_race_nobarrier",
    "TEST ONLY: release_race without the dma_list_mutex barrier (negative control)"
);
#[cfg(rde_forget_registration)]
this_module!(
    "rust_dmaengine_forget",
    "TEST ONLY: forgets the handle of a second DMA device's registration"
);

/// Whether this is the negative-control build.
const BROKEN_SYNC: bool = cfg!(rde_broken_sync);

/// What a negative-control build breaks, said at probe.
const NEGATIVE_CONTROL: Option<&str> = if BROKEN_SYNC {
    Some("device_synchronize returns while the engine runs")
} else if cfg!(dma_engine_test_bh_skip_cancel) {
    Some("synchronize does not wait for the BH dispatcher")
} else {
    None
};

/// Whether this build forgets a second registration's handle.
const FORGET_REGISTRATION: bool = cfg!(rde_forget_registration);

/// Whether this build binds the device tree's controller
/// (`rust,rde-soft-dma`, `qemu/virt/audio.dtsi`) when the board has one,
/// instead of registering its own device: the product and its
/// `broken_sync` negative control, which the audio test loads.  The other
/// test builds keep a device of their own name, which their tests unbind.
const BINDS_DT: bool = !cfg!(any(
    dma_engine_test_bh_skip_cancel,
    dma_engine_test_release_window,
    rde_forget_registration
));

/// The compatible of the device tree's controller.
const COMPATIBLE: &CStr = c"rust,rde-soft-dma";

/// The validated module parameters.
#[derive(Clone, Copy)]
struct Config {
    channels: u32,
    burst: usize,
    delay_us: u32,
    /// `dispatch=tasklet|bh`: a string parameter, declared in C (the
    /// `module!` macro takes integers only), see
    /// [`soft::dispatch_param`].
    dispatch: Dispatch,
    /// Descriptors per interrupt in chained mode (0: none), see
    /// [`Ctl::chain`].
    chain: u32,
    /// The simulated FIFO's rate, frames per second.
    fifo_rate: u32,
}

impl Config {
    /// Reads and checks the module parameters; a bad one refuses the load.
    fn from_params() -> Result<Self> {
        let channels = module_parameters::channels.value();
        let burst = module_parameters::burst_size.value();
        let delay_us = module_parameters::burst_delay_us.value();
        let chain = module_parameters::chain.value();
        let fifo_rate = module_parameters::fifo_rate.value();
        let check = |name: &str, v: u32, lo: u32, hi: u32| -> Result {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                pr_err!("{name}={v} is out of range: use {lo} to {hi}\n");
                Err(EINVAL)
            }
        };
        check("channels", channels, 1, 32)?;
        check("burst_size", burst, 64, 1 << 20)?;
        check("burst_delay_us", delay_us, 0, 100_000)?;
        check("chain", chain, 0, 64)?;
        check(
            "fifo_rate",
            fifo_rate,
            *soft::fifo::RATES.start(),
            *soft::fifo::RATES.end(),
        )?;
        Ok(Self {
            channels,
            burst: burst as usize,
            delay_us,
            dispatch: soft::dispatch_param()?,
            chain,
            fifo_rate,
        })
    }
}

/// The provider: the framework's callbacks, programming the engine of
/// [`soft`].
struct SoftDma;

/// What each of [`SoftDma`]'s callbacks gets.
type ChanRef<'a> = VirtChanRef<'a, SoftDma>;

impl SoftEngine for SoftDma {}

#[vtable]
impl Provider for SoftDma {
    type Desc = SoftDesc;
    type Engine = Engine;
    type ChanData = SoftChan<Self>;

    // Memcpy and memset, and cyclic transfers to or from a (simulated)
    // device FIFO of any of the usual widths; `tx_status` counts bursts.
    const DIRECTIONS: &'static [Direction] = &[
        Direction::MemToMem,
        Direction::MemToDev,
        Direction::DevToMem,
    ];
    const ADDR_WIDTHS: &'static [u32] = &[1, 2, 4, 8];
    const RESIDUE_GRANULARITY: ResidueGranularity = ResidueGranularity::Burst;

    fn prep_memcpy(
        chan: ChanRef<'_>,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
    ) -> Result<SoftDesc> {
        if len == 0 {
            return Err(EINVAL);
        }
        // SAFETY: `dst`, `src` and `len` are the arguments of this prep;
        // accesses as for `reachable`.
        match unsafe { soft::engine_pair(&chan, dst, src, len) } {
            Ok(p) => Ok(SoftDesc::new(Xfer::Memcpy(p))),
            Err(e) => Err(report_unreachable(&chan, dst, src, len, e)),
        }
    }

    fn prep_memset(chan: ChanRef<'_>, dst: DmaAddress, value: u8, len: usize) -> Result<SoftDesc> {
        if len == 0 {
            return Err(EINVAL);
        }
        Ok(SoftDesc::new(Xfer::Memset {
            dst: reachable(&chan, dst, len)?,
            value,
        }))
    }

    fn prep_slave_sg(
        chan: ChanRef<'_>,
        sgl: KVec<SgEntry>,
        dir: Direction,
        dev: DevSide,
    ) -> Result<SoftDesc> {
        let port = Port::of(&chan, dir, &dev, sgl.iter().map(|e| e.len as usize))?;
        if sgl.len() > soft::MAX_SG {
            dev_err!(
                chan.dev(),
                "chan {}: slave_sg: {} entries, the engine takes at most {}\n",
                chan.index(),
                sgl.len(),
                soft::MAX_SG
            );
            return Err(EINVAL);
        }
        let mut sg = [None; soft::MAX_SG];
        for (s, e) in sg.iter_mut().zip(&sgl) {
            *s = Some(reachable(&chan, e.addr, e.len as usize)?);
        }
        let first = sg[0].ok_or(EINVAL)?;
        Ok(SoftDesc {
            xfer: Xfer::Slave(first),
            sg,
            port,
        })
    }

    fn prep_cyclic(
        chan: ChanRef<'_>,
        buf: DmaAddress,
        buf_len: usize,
        period: usize,
        dir: Direction,
        dev: DevSide,
    ) -> Result<SoftDesc> {
        // The framework checked the geometry, the direction and the device
        // side; the port says which device the engine moves data to or
        // from.
        let port = Port::of(&chan, dir, &dev, [buf_len, period].into_iter())?;
        let buf = reachable(&chan, buf, buf_len)?;
        Ok(SoftDesc::to_port(Xfer::Cyclic { buf, period }, port))
    }

    #[inline]
    fn issue_pending(chan: ChanRef<'_>, g: &mut Inner<Self>) {
        if g.issue_pending() && g.engine.state == State::Idle && !g.engine.pause_requested {
            start_next(&chan, g);
        }
    }

    #[inline]
    fn tx_status(chan: ChanRef<'_>, g: &Inner<Self>, cookie: Cookie) -> TxStatus {
        let residue = match (g.queue().active(), g.queue().find(cookie)) {
            (Some(a), Some(d)) if a.cookie() == cookie => d.len().saturating_sub(
                d.data.done_before(g.engine.seg)
                    + chan.data().ctl.gate.progress.load(Ordering::Relaxed),
            ),
            (_, Some(d)) => d.len(),
            (_, None) => 0,
        };
        // A paused channel pauses every transaction on it, not only the
        // active one; it is paused as soon as `pause` returned, before the
        // engine parks.
        let status = if g.engine.pause_requested {
            Status::Paused
        } else {
            Status::InProgress
        };
        TxStatus {
            status,
            residue: u32::try_from(residue).unwrap_or(u32::MAX),
            // A burst is read and written in one go.
            in_flight_bytes: 0,
        }
    }

    fn pause(chan: ChanRef<'_>) -> Result {
        chan.lock().engine.pause_requested = true;
        chan.data().ctl.attention.store(true, Ordering::Release);
        // Synchronous, as `device_pause` should be: once this returns no
        // burst moves until resume (the engine parks at its next look).
        chan.data().ctl.gate.pause();
        Ok(())
    }

    fn resume(chan: ChanRef<'_>) -> Result {
        let mut g = chan.lock();
        g.engine.pause_requested = false;
        chan.data().ctl.gate.unpause();
        match g.engine.state {
            State::Paused => {
                g.engine.state = State::Running;
                soft::kick(&g);
            }
            State::Idle => start_next(&chan, &mut g),
            _ => {}
        }
        Ok(())
    }

    fn terminate_all(chan: ChanRef<'_>, g: &mut Inner<Self>) -> Result {
        match g.engine.state {
            // The engine may be in the middle of a burst: ask it to stop and
            // let `synchronize` wait for the acknowledgement.
            State::Running => {
                if !BROKEN_SYNC {
                    chan.engine_stopping();
                }
                g.engine.state = State::Stopping;
                chan.data().ctl.attention.store(true, Ordering::Release);
            }
            // Not touching memory: stopped already.
            State::IrqPending | State::Paused => g.engine.state = State::Idle,
            State::Idle | State::Stopping => {}
        }
        g.engine.pause_requested = false;
        chan.data().ctl.gate.unpause();
        // The completed descriptors not yet signalled are terminated with
        // the rest: their callbacks do not run.
        g.engine.unsignalled = 0;
        Ok(())
    }

    fn synchronize(chan: ChanRef<'_>) {
        // The negative control does not wait for its engine here either:
        // waiting for the work would wait for the stop it never announced.
        if !BROKEN_SYNC {
            soft::synchronize(&chan);
        }
    }
}

/// The engine's view of `len` bytes at `addr`, checked at prep time so that
/// an address the engine cannot reach is a clean error for the client (the
/// prep returns NULL) and not a dropped transfer later.
///
/// Call it only from a `prep_*` callback, with its arguments.
fn reachable(chan: &VirtChan<SoftDma>, addr: DmaAddress, len: usize) -> Result<EngineRange> {
    // The engine reads a descriptor's ranges only while it is the active
    // one (`start_next` and the engine take `op` from `queue.active()` under
    // the lock, or from `started`, set with it), so never after it
    // completed; a descriptor terminated while the engine runs is announced
    // with `engine_stopping` in `terminate_all` and acknowledged with
    // `engine_stopped` only once the engine is back between bursts.
    // SAFETY: `addr` and `len` are the arguments of the `prep_*` call that
    // makes the descriptor (only `prep_*` call this); accesses as above.
    unsafe { soft::engine_range(chan, addr, len) }.inspect_err(|_| {
        dev_err!(
            chan.dev(),
            "chan {}: DMA address {addr:#x} (+{len}) is not RAM the engine can reach\n",
            chan.index()
        )
    })
}

/// Reports a copy whose memory the engine cannot reach; returns `e`.  Out
/// of line: the message would otherwise make every prep's stack frame.
#[cold]
#[inline(never)]
fn report_unreachable(
    chan: &VirtChan<SoftDma>,
    dst: DmaAddress,
    src: DmaAddress,
    len: usize,
    e: Error,
) -> Error {
    dev_err!(
        chan.dev(),
        "chan {}: DMA address {dst:#x} or {src:#x} (+{len}) is not RAM the engine can reach\n",
        chan.index()
    );
    e
}

/// The platform driver: registers the DMA device on probe; dropping it on
/// remove unregisters.
struct DmaDriver {
    _reg: Devres<Registration<SoftDma>>,
    /// On a board whose device tree has the controller, the simulated FIFO
    /// wired to it: its running clock and its debugfs files.
    _fifo: Option<(Clock, Pin<KBox<FifoFiles>>)>,
}

kernel::of_device_table!(
    OF_TABLE,
    <DmaDriver as platform::Driver>::IdInfo,
    [(of::DeviceId::new(COMPATIBLE), ())]
);

impl platform::Driver for DmaDriver {
    type IdInfo = ();
    type Data<'bound> = Self;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> =
        if BINDS_DT { Some(&OF_TABLE) } else { None };

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self, Error> + 'bound {
        let dev = pdev.as_ref();
        let cfg = Config::from_params()?;
        // The board's device tree wires the simulated FIFO to this
        // controller (`soft::fifo`).
        let fifo = match dev.fwnode().is_some_and(|n| n.is_of_node()) {
            true => Some(Fifo::new(cfg.fifo_rate)?),
            false => None,
        };
        let chan_init = |_| {
            Ok((
                Engine::idle(),
                SoftChan::new(Ctl::new(cfg.burst, cfg.delay_us, cfg.chain, fifo.clone())),
            ))
        };
        let reg = Registration::<SoftDma>::with_dispatch(
            dev,
            kernel::module::this_module::<LocalModule>(),
            // No DMA_SLAVE: there is no `prep_slave_sg`.  Cyclic transfers
            // still take a slave configuration.
            &[Cap::Memcpy, Cap::Memset, Cap::Slave, Cap::Cyclic],
            cfg.channels,
            cfg.dispatch,
            &chan_init,
        )
        .inspect_err(|e| dev_err!(dev, "cannot register the DMA device: {e:?}\n"))?;
        dev_info!(
            dev,
            "registered {} channels: burst {} B, delay {} us, dispatch {}, chain {}\n",
            cfg.channels,
            cfg.burst,
            cfg.delay_us,
            cfg.dispatch.name(),
            cfg.chain
        );
        if FORGET_REGISTRATION {
            let lost = Registration::<SoftDma>::with_dispatch(
                dev,
                kernel::module::this_module::<LocalModule>(),
                &[Cap::Memcpy],
                1,
                cfg.dispatch,
                &chan_init,
            )?;
            dev_warn!(
                dev,
                "TEST BUILD: a second DMA device's registration is forgotten; unbinding the \
                 driver must still unregister it\n"
            );
            core::mem::forget(lost);
        }
        if let Some(what) = NEGATIVE_CONTROL {
            dev_warn!(dev, "TEST BUILD: {what}; negative control only\n");
        }
        let fifo = match fifo {
            Some(f) => {
                let files = KBox::pin_init(
                    FifoFiles::new(kernel::debugfs::Dir::new(NAME), &f),
                    GFP_KERNEL,
                )?;
                dev_info!(
                    dev,
                    "FIFO at {:#x}/{:#x}, {} frames/s\n",
                    soft::fifo::FIFO_TX,
                    soft::fifo::FIFO_RX,
                    f.rate()
                );
                Some((Fifo::start(&f), files))
            }
            None => None,
        };
        Ok(Self {
            _reg: reg,
            _fifo: fifo,
        })
    }
}

/// How the driver is registered: without sysfs `unbind`, so that the device
/// goes only with the module, which clients holding channels keep loaded.
#[cfg(not(dma_engine_test_release_window))]
type DriverOps = dmaengine::platform::NoUnbind<DmaDriver>;

/// The release-window test builds have an `unbind` file: `release_race.sh`
/// unbinds the device while a client holds a channel.
#[cfg(dma_engine_test_release_window)]
type DriverOps = platform::Adapter<DmaDriver>;

/// The module: our platform device (unless the device tree has the
/// controller) and the driver that binds to it.
struct RustDmaengine {
    _driver: Pin<KBox<driver::Registration<DriverOps>>>,
    _pdev: Option<PlatformDevice>,
}

impl kernel::Module for RustDmaengine {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // Refuse bad parameters before anything is registered.
        Config::from_params()?;
        let in_dt = BINDS_DT && soft::of_has_compatible(COMPATIBLE);
        let pdev = match in_dt {
            true => None,
            false => Some(PlatformDevice::register(NAME, true)?),
        };
        let driver = KBox::pin_init(driver::Registration::new(NAME, module), GFP_KERNEL)?;
        pr_info!("loaded\n");
        Ok(Self {
            _driver: driver,
            _pdev: pdev,
        })
    }
}

impl Drop for RustDmaengine {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
