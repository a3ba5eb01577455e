// SPDX-License-Identifier: GPL-2.0

//! A software DMA engine that keeps the DMA-engine termination contract.
//!
//! `rust_dmaengine` registers a platform device and driver of that name and,
//! on probe, a DMA device with `channels` channels (MEMCPY, MEMSET, SLAVE,
//! CYCLIC).  Each channel's engine behaves like hardware:
//!
//! - it runs asynchronously to the submitter (a work item, the "hardware"),
//!   one burst of `burst_size` bytes at a time, so a terminate can land
//!   mid-transfer and a pause stops between bursts;
//! - at the end of a descriptor, and of each cyclic period, it raises an
//!   "interrupt" (an irq_work, hard IRQ context) whose handler completes the
//!   descriptor and schedules callback dispatch (a tasklet);
//! - stopping is a state: `terminate_all` asks the engine to stop and
//!   returns, the engine acknowledges at the next burst boundary, and
//!   `synchronize` waits for that acknowledgement.
//!
//! Cyclic device-to-memory transfers read a simulated peripheral FIFO: a
//! 32-bit sample counter, as an audio codec would produce.
//!
//! There is no `unsafe` here: everything unsafe is in `dmaengine/`.

use kernel::{
    device::Core,
    driver, platform,
    prelude::*,
    time::{
        delay::fsleep,
        Delta, //
    },
};

pub mod dmaengine;

use dmaengine::{
    platform::PlatformDevice,
    provider::{
        Chan,
        ChanRef,
        Provider,
        Registration,
        SlaveConfig,
        TxStatus, //
    },
    queue::Cookie,
    Cap,
    Direction,
    DmaAddr,
    Status, //
};

module! {
    type: RustDmaengine,
    name: "rust_dmaengine",
    authors: ["rust-dmaengine developers"],
    description: "Software DMA engine keeping the dmaengine termination contract",
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
        fault: u32 {
            default: 0,
            description: "Negative control: 1 = synchronize returns without waiting (breaks the contract)",
        },
    },
}

const NAME: &CStr = c"rust_dmaengine";

/// The validated module parameters.
#[derive(Clone, Copy)]
struct Config {
    channels: u32,
    burst: usize,
    delay_us: u32,
    broken_sync: bool,
}

impl Config {
    /// Reads and checks the module parameters; a bad one refuses the load.
    fn from_params() -> Result<Self> {
        let channels = module_parameters::channels.value();
        let burst = module_parameters::burst_size.value();
        let delay_us = module_parameters::burst_delay_us.value();
        let fault = module_parameters::fault.value();
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
        check("fault", fault, 0, 1)?;
        Ok(Self {
            channels,
            burst: burst as usize,
            delay_us,
            broken_sync: fault == 1,
        })
    }
}

/// What the engine is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing active.
    Idle,
    /// The engine works on the active descriptor.
    Running,
    /// The active descriptor is done; its interrupt is pending.
    IrqPending,
    /// `terminate_all` asked the running engine to stop; it has not yet
    /// acknowledged.
    Stopping,
    /// Parked between bursts by `pause`.
    Paused,
}

/// Per-channel engine state, under the channel lock.
struct Engine {
    state: State,
    pause_requested: bool,
    /// Bytes done of the active descriptor.
    progress: usize,
    /// The simulated peripheral: next sample of the FIFO.
    sample: u32,
    /// A burst the "hardware" started when it started the descriptor (in
    /// the interrupt handler): it completes even if a stop request comes
    /// first, as a hardware burst would.
    started: Option<Burst>,
    slave: SlaveConfig,
}

/// What one descriptor asks for.
#[derive(Clone, Copy)]
enum Op {
    Memcpy {
        dst: DmaAddr,
        src: DmaAddr,
    },
    Memset {
        dst: DmaAddr,
        value: u8,
    },
    Cyclic {
        buf: DmaAddr,
        period: usize,
        dir: Direction,
    },
}

/// One burst, planned under the lock and carried out without it.
#[derive(Clone, Copy)]
enum Burst {
    Copy {
        dst: DmaAddr,
        src: DmaAddr,
        n: usize,
    },
    Fill {
        dst: DmaAddr,
        value: u8,
        n: usize,
    },
    Samples {
        dst: DmaAddr,
        first: u32,
        n: usize,
    },
    Sink {
        n: usize,
    },
}

struct SoftDma;

#[vtable]
impl Provider for SoftDma {
    type Desc = Op;
    type Engine = Engine;
    type ChanData = Config;

    fn prep_memcpy(_chan: &Chan<Self>, dst: DmaAddr, src: DmaAddr, len: usize) -> Result<Op> {
        if len == 0 {
            return Err(EINVAL);
        }
        Ok(Op::Memcpy { dst, src })
    }

    fn prep_memset(_chan: &Chan<Self>, dst: DmaAddr, value: u8, len: usize) -> Result<Op> {
        if len == 0 {
            return Err(EINVAL);
        }
        Ok(Op::Memset { dst, value })
    }

    fn prep_cyclic(
        chan: &Chan<Self>,
        buf: DmaAddr,
        buf_len: usize,
        period: usize,
        dir: Direction,
    ) -> Result<Op> {
        if period == 0 || buf_len == 0 || buf_len % period != 0 || dir == Direction::MemToMem {
            dev_err!(
                chan.dev(),
                "cyclic: bad geometry (buffer {buf_len}, period {period}, {dir:?})\n"
            );
            return Err(EINVAL);
        }
        Ok(Op::Cyclic { buf, period, dir })
    }

    fn slave_config(chan: &Chan<Self>, cfg: &SlaveConfig) -> Result {
        chan.lock().engine.slave = *cfg;
        Ok(())
    }

    fn issue_pending(chan: ChanRef<'_, Self>) {
        let mut g = chan.lock();
        if g.queue.issue_pending() && g.engine.state == State::Idle && !g.engine.pause_requested {
            start_next(&chan, &mut g);
        }
    }

    fn tx_status(chan: &Chan<Self>, cookie: Cookie) -> TxStatus {
        let g = chan.lock();
        if g.queue.cookies().is_complete(cookie) {
            return TxStatus {
                status: Status::Complete,
                residue: 0,
            };
        }
        let (is_active, residue) = match (g.queue.active(), g.queue.find(cookie)) {
            (Some(a), Some(d)) if a.cookie() == cookie => {
                (true, d.len().saturating_sub(g.engine.progress))
            }
            (_, Some(d)) => (false, d.len()),
            (_, None) => (false, 0),
        };
        let status = if is_active && g.engine.state == State::Paused {
            Status::Paused
        } else {
            Status::InProgress
        };
        TxStatus {
            status,
            residue: u32::try_from(residue).unwrap_or(u32::MAX),
        }
    }

    fn pause(chan: ChanRef<'_, Self>) -> Result {
        chan.lock().engine.pause_requested = true;
        Ok(())
    }

    fn resume(chan: ChanRef<'_, Self>) -> Result {
        let mut g = chan.lock();
        g.engine.pause_requested = false;
        match g.engine.state {
            State::Paused => {
                g.engine.state = State::Running;
                drop(g);
                Chan::kick(chan);
            }
            State::Idle => start_next(&chan, &mut g),
            _ => {}
        }
        Ok(())
    }

    fn terminate_all(chan: ChanRef<'_, Self>) -> Result {
        let mut g = chan.lock();
        match g.engine.state {
            // The engine may be in the middle of a burst: ask it to stop and
            // let `synchronize` wait for the acknowledgement.
            State::Running => {
                chan.stopped().reinit();
                g.engine.state = State::Stopping;
            }
            // Not touching memory: stopped already.
            State::IrqPending | State::Paused => g.engine.state = State::Idle,
            State::Idle | State::Stopping => {}
        }
        g.engine.pause_requested = false;
        g.engine.progress = 0;
        g.queue.terminate_all();
        Ok(())
    }

    fn synchronize(chan: ChanRef<'_, Self>) {
        if chan.data().broken_sync {
            dev_warn!(
                chan.dev(),
                "fault=1: synchronize returns WITHOUT waiting (negative control)\n"
            );
            return;
        }
        chan.stopped().wait();
        chan.synchronize_callbacks();
    }

    fn engine_run(chan: ChanRef<'_, Self>) {
        let cfg = *chan.data();
        loop {
            let burst = {
                let mut g = chan.lock();
                if let Some(b) = g.engine.started.take() {
                    b
                } else {
                    match g.engine.state {
                        State::Stopping => {
                            // Acknowledge the stop; carry on with anything issued
                            // since.
                            g.engine.state = State::Idle;
                            chan.stopped().complete_all();
                            if g.queue.start_next().is_none() {
                                return;
                            }
                            g.engine.state = State::Running;
                            g.engine.progress = 0;
                        }
                        State::Running => {}
                        State::Idle | State::IrqPending | State::Paused => return,
                    }
                    if g.engine.pause_requested {
                        g.engine.state = State::Paused;
                        return;
                    }
                    let (op, len) = match g.queue.active() {
                        Some(d) => (d.data, d.len()),
                        None => {
                            g.engine.state = State::Idle;
                            return;
                        }
                    };
                    plan(&mut g.engine, op, len, cfg.burst)
                }
            };

            if cfg.delay_us > 0 {
                fsleep(Delta::from_micros(i64::from(cfg.delay_us)));
            }
            let (n, res) = match burst {
                Burst::Copy { dst, src, n } => (n, chan.engine_copy(dst, src, n)),
                Burst::Fill { dst, value, n } => (n, chan.engine_fill(dst, value, n)),
                Burst::Samples { dst, first, n } => (n, write_samples(&chan, dst, first, n)),
                Burst::Sink { n } => (n, Ok(())),
            };
            if let Err(e) = res {
                dev_err!(
                    chan.dev(),
                    "chan {}: bad DMA address, transfer dropped ({e:?})\n",
                    chan.index()
                );
            }

            let mut g = chan.lock();
            if g.engine.state != State::Running {
                continue;
            }
            g.engine.progress += n;
            let (op, len) = match g.queue.active() {
                Some(d) => (d.data, d.len()),
                None => continue,
            };
            match op {
                Op::Cyclic { period, .. } => {
                    if g.engine.progress % period == 0 {
                        g.period_elapsed();
                        chan.raise_irq();
                    }
                    if g.engine.progress >= len {
                        g.engine.progress = 0;
                    }
                }
                _ if g.engine.progress >= len => {
                    g.engine.state = State::IrqPending;
                    chan.raise_irq();
                    return;
                }
                _ => {}
            }
        }
    }

    fn irq(chan: ChanRef<'_, Self>) {
        let mut g = chan.lock();
        if g.engine.state == State::IrqPending {
            g.queue.complete_active();
            g.engine.state = State::Idle;
            start_next(&chan, &mut g);
        }
        chan.schedule_callbacks();
    }
}

/// Makes the next issued descriptor active and starts the engine on it.
fn start_next(
    chan: &ChanRef<'_, SoftDma>,
    g: &mut kernel::sync::lock::Guard<
        '_,
        dmaengine::provider::Inner<SoftDma>,
        kernel::sync::lock::spinlock::SpinLockIrqBackend,
    >,
) {
    let next = g.queue.start_next().map(|d| (d.data, d.len()));
    if let Some((op, len)) = next {
        g.engine.state = State::Running;
        g.engine.progress = 0;
        // The hardware fetches the descriptor and starts its first burst now.
        g.engine.started = Some(plan(&mut g.engine, op, len, chan.data().burst));
        Chan::kick(*chan);
    }
}

/// The next burst of `op` from the engine's progress.
fn plan(e: &mut Engine, op: Op, len: usize, burst: usize) -> Burst {
    let off = e.progress;
    match op {
        Op::Memcpy { dst, src } => Burst::Copy {
            dst: dst + off as DmaAddr,
            src: src + off as DmaAddr,
            n: burst.min(len - off),
        },
        Op::Memset { dst, value } => Burst::Fill {
            dst: dst + off as DmaAddr,
            value,
            n: burst.min(len - off),
        },
        Op::Cyclic { buf, period, dir } => {
            // Never cross a period boundary in one burst.
            let n = burst.min(period - off % period) & !3;
            let n = if n == 0 { period - off % period } else { n };
            match dir {
                Direction::DevToMem => {
                    let first = e.sample;
                    e.sample = e.sample.wrapping_add((n / 4) as u32);
                    Burst::Samples {
                        dst: buf + off as DmaAddr,
                        first,
                        n,
                    }
                }
                _ => Burst::Sink { n },
            }
        }
    }
}

/// The simulated peripheral FIFO: consecutive 32-bit little-endian samples.
fn write_samples(chan: &Chan<SoftDma>, dst: DmaAddr, first: u32, n: usize) -> Result {
    let mut chunk = [0u8; 256];
    let mut s = first;
    let mut done = 0;
    while done < n {
        let k = chunk.len().min(n - done);
        for w in chunk[..k].chunks_mut(4) {
            let b = s.to_le_bytes();
            w.copy_from_slice(&b[..w.len()]);
            s = s.wrapping_add(1);
        }
        chan.engine_write(dst + done as DmaAddr, &chunk[..k])?;
        done += k;
    }
    Ok(())
}

/// The platform driver: registers the DMA device on probe; dropping it on
/// remove unregisters.
struct DmaDriver {
    _reg: Registration<SoftDma>,
}

impl platform::Driver for DmaDriver {
    type IdInfo = ();
    type Data<'bound> = Self;

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self, Error> + 'bound {
        let dev = pdev.as_ref();
        let cfg = Config::from_params()?;
        let reg = Registration::<SoftDma>::new(
            dev,
            NAME,
            &[Cap::Memcpy, Cap::Memset, Cap::Slave, Cap::Cyclic],
            cfg.channels,
            |_| {
                Ok((
                    Engine {
                        state: State::Idle,
                        pause_requested: false,
                        progress: 0,
                        sample: 0,
                        started: None,
                        slave: SlaveConfig::default(),
                    },
                    cfg,
                ))
            },
        )
        .inspect_err(|e| dev_err!(dev, "cannot register the DMA device: {e:?}\n"))?;
        dev_info!(
            dev,
            "registered {} channels: burst {} B, delay {} us\n",
            cfg.channels,
            cfg.burst,
            cfg.delay_us
        );
        if cfg.broken_sync {
            dev_warn!(
                dev,
                "fault=1: device_synchronize is BROKEN on purpose; use only for the negative control\n"
            );
        }
        Ok(Self { _reg: reg })
    }
}

/// The module: our platform device and the driver that binds to it.
struct RustDmaengine {
    _driver: Pin<KBox<driver::Registration<platform::Adapter<DmaDriver>>>>,
    _pdev: PlatformDevice,
}

impl kernel::Module for RustDmaengine {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // Refuse bad parameters before anything is registered.
        Config::from_params()?;
        let pdev = PlatformDevice::register(NAME, true)?;
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
