// SPDX-License-Identifier: GPL-2.0

//! The debugfs interface of one client, in `rust_dmaengine_client/` (or
//! `rust_dmaengine_client/clientN/` with the module parameter `clients`).
//!
//! - `scenario`, `iterations` (1 to 100000), `channel` (a channel name,
//!   empty: any), `seed` (for `stress`), `callback_hold_us` (0 to 20000),
//!   `queue_depth` (for `queued`, 1 to 64), `queue_len` (for `queued`, bytes
//!   per copy, 4 to 65536, a multiple of 4): the settings of the next run;
//! - `fifo`: the device FIFO of the peripheral scenarios, `ADDR` or
//!   `ADDR=VALUE` (a register that always reads `VALUE`, standing in for a
//!   capture FIFO on a model; captures must hold only it), or `mem` (the
//!   captures read a word of memory at a fixed address, filled with a new
//!   value each iteration; captures must hold only it);
//! - `run`: write `1` to run (it blocks until done);
//! - `results`: what the last run counted, as `key: value` lines.
//!
//! Any other write gets `-EINVAL` and changes nothing.  A second `run` in
//! the same directory waits for the first; runs in different directories
//! go on at the same time.

use super::{
    capture,
    latency,
    scenarios::{
        self,
        ChanName,
        Fifo,
        Results,
        Scenario,
        Settings,
        CALLBACK_HOLD_US,
        CAP_NAMES, //
    }, //
};
use core::{
    fmt,
    ops::RangeInclusive, //
};
use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
    uaccess::UserSliceReader,
};

/// The settings and the last results of one client.
#[pin_data]
struct Ctl {
    #[pin]
    settings: Mutex<Settings>,
    #[pin]
    results: Mutex<Results>,
    /// Held for the whole of a run: one run at a time per client.
    #[pin]
    running: Mutex<()>,
}

impl Ctl {
    fn run(&self) -> Result {
        let _running = self.running.lock();
        let settings = *self.settings.lock();
        let r = scenarios::run(&settings)?;
        *self.results.lock() = r;
        Ok(())
    }
}

/// Reads a short trimmed string written to a debugfs file.
fn read_str<'a>(reader: &mut UserSliceReader, buf: &'a mut [u8; 64]) -> Result<&'a str> {
    let n = reader.len();
    if n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    core::str::from_utf8(&buf[..n])
        .map(str::trim)
        .map_err(|_| EINVAL)
}

/// Reads a decimal number in `range` written to a debugfs file.
fn read_u32(r: &mut UserSliceReader, range: RangeInclusive<u32>) -> Result<u32> {
    let mut b = [0u8; 64];
    let n: u32 = read_str(r, &mut b)?.parse().map_err(|_| EINVAL)?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(EINVAL)
    }
}

fn show_scenario(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let cur = c.settings.lock().scenario;
    for &s in Scenario::ALL {
        if s == cur {
            write!(f, "[{}] ", s.name())?;
        } else {
            write!(f, "{} ", s.name())?;
        }
    }
    writeln!(f)
}

fn set_scenario(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 64];
    c.settings.lock().scenario = Scenario::parse(read_str(r, &mut b)?)?;
    Ok(())
}

fn show_iterations(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", c.settings.lock().iterations)
}

fn set_iterations(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    c.settings.lock().iterations = read_u32(r, 1..=100_000)?;
    Ok(())
}

fn show_depth(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", c.settings.lock().depth)
}

fn set_depth(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    c.settings.lock().depth = read_u32(r, 1..=latency::MAX_DEPTH)?;
    Ok(())
}

fn show_qlen(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", c.settings.lock().qlen)
}

fn set_qlen(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    let n = read_u32(r, 4..=latency::QUEUED_LEN as u32)?;
    if n % 4 != 0 {
        return Err(EINVAL);
    }
    c.settings.lock().qlen = n;
    Ok(())
}

fn show_channel(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let n = c.settings.lock().channel;
    writeln!(f, "{}", n.as_str())
}

fn set_channel(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 64];
    c.settings.lock().channel = ChanName::new(read_str(r, &mut b)?)?;
    Ok(())
}

fn show_seed(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", c.settings.lock().seed)
}

fn set_seed(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    c.settings.lock().seed = read_u32(r, 0..=u32::MAX)?;
    Ok(())
}

fn show_hold(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", c.settings.lock().hold_us)
}

fn set_hold(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    c.settings.lock().hold_us = read_u32(r, 0..=20_000)?;
    Ok(())
}

fn show_fifo(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let fifo = c.settings.lock().fifo;
    if fifo.mem {
        return writeln!(f, "mem");
    }
    match fifo.value {
        Some(v) => writeln!(f, "{:#x}={v:#x}", fifo.addr),
        None => writeln!(f, "{:#x}", fifo.addr),
    }
}

fn set_fifo(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 64];
    c.settings.lock().fifo = Fifo::parse(read_str(r, &mut b)?)?;
    Ok(())
}

fn show_run(_c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "0")
}

fn do_run(c: &Arc<Ctl>, r: &mut UserSliceReader) -> Result {
    let mut b = [0u8; 64];
    if read_str(r, &mut b)? != "1" {
        return Err(EINVAL);
    }
    c.run()
}

fn show_results(c: &Arc<Ctl>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let r = *c.results.lock();
    let scenario = c.settings.lock().scenario;
    writeln!(f, "scenario: {}", scenario.name())?;
    writeln!(f, "skipped: {}", u32::from(r.skipped))?;
    writeln!(f, "iterations: {}", r.iterations)?;
    writeln!(f, "transfers: {}", r.transfers)?;
    writeln!(f, "completed: {}", r.completed)?;
    writeln!(f, "aborted: {}", r.aborted)?;
    writeln!(f, "verified_bytes: {}", r.verified_bytes)?;
    writeln!(f, "late_callbacks: {}", r.late_callbacks)?;
    writeln!(f, "callback_running_after_sync: {}", r.callback_running)?;
    writeln!(f, "nested_callbacks: {}", r.nested_callbacks)?;
    writeln!(
        f,
        "complete_after_terminate: {}",
        r.complete_after_terminate
    )?;
    writeln!(f, "status_errors: {}", r.status_errors)?;
    writeln!(f, "writes_after_sync: {}", r.late_writes)?;
    writeln!(f, "alloc_failures: {}", r.alloc_failures)?;
    writeln!(f, "paused_checks: {}", r.paused_checks)?;
    writeln!(f, "seed: {}", r.seed)?;
    write!(f, "caps:")?;
    for (bit, (_, name)) in CAP_NAMES.iter().enumerate() {
        if r.caps & (1 << bit) != 0 {
            write!(f, " {name}")?;
        }
    }
    writeln!(f)?;
    if scenario == Scenario::Latency {
        latency::show(f, &r)?;
    }
    if scenario == Scenario::Queued {
        latency::show_queued(f, &r)?;
    }
    writeln!(f, "errors: {}", r.errors)
}

/// One client: its settings, results and debugfs files.
#[pin_data]
pub(crate) struct Client {
    #[pin]
    scenario: File<Arc<Ctl>>,
    #[pin]
    iterations: File<Arc<Ctl>>,
    #[pin]
    channel: File<Arc<Ctl>>,
    #[pin]
    seed: File<Arc<Ctl>>,
    #[pin]
    hold: File<Arc<Ctl>>,
    #[pin]
    depth: File<Arc<Ctl>>,
    #[pin]
    qlen: File<Arc<Ctl>>,
    #[pin]
    fifo: File<Arc<Ctl>>,
    #[pin]
    run: File<Arc<Ctl>>,
    #[pin]
    results: File<Arc<Ctl>>,
    _dir: Dir,
}

impl Client {
    /// A client with its files in `dir`.
    pub(crate) fn new(dir: Dir) -> impl PinInit<Self, Error> {
        let ctl = Arc::pin_init(
            pin_init!(Ctl {
                settings <- new_mutex!(Settings {
                    scenario: Scenario::AsyncInCallback,
                    iterations: 10,
                    channel: ChanName::ANY,
                    seed: 1,
                    hold_us: CALLBACK_HOLD_US,
                    depth: 8,
                    qlen: latency::QUEUED_LEN as u32,
                    fifo: capture::DEFAULT_FIFO,
                }),
                results <- new_mutex!(Results::default()),
                running <- new_mutex!(()),
            }),
            GFP_KERNEL,
        );
        try_pin_init!(Self {
            scenario <- dir.read_write_callback_file(
                c"scenario",
                ctl.clone()?,
                &show_scenario,
                &set_scenario
            ),
            iterations <- dir.read_write_callback_file(
                c"iterations",
                ctl.clone()?,
                &show_iterations,
                &set_iterations
            ),
            channel <- dir.read_write_callback_file(
                c"channel",
                ctl.clone()?,
                &show_channel,
                &set_channel
            ),
            seed <- dir.read_write_callback_file(c"seed", ctl.clone()?, &show_seed, &set_seed),
            hold <- dir.read_write_callback_file(
                c"callback_hold_us",
                ctl.clone()?,
                &show_hold,
                &set_hold
            ),
            depth <- dir.read_write_callback_file(
                c"queue_depth",
                ctl.clone()?,
                &show_depth,
                &set_depth
            ),
            qlen <- dir.read_write_callback_file(
                c"queue_len",
                ctl.clone()?,
                &show_qlen,
                &set_qlen
            ),
            fifo <- dir.read_write_callback_file(c"fifo", ctl.clone()?, &show_fifo, &set_fifo),
            run <- dir.read_write_callback_file(c"run", ctl.clone()?, &show_run, &do_run),
            results <- dir.read_callback_file(c"results", ctl.clone()?, &show_results),
            _dir: dir,
        })
    }
}
