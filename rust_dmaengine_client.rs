// SPDX-License-Identifier: GPL-2.0

//! A DMA-engine client, and the reference for the termination protocol.
//!
//! The protocol is this screen: a chain of copies is submitted; the
//! completion callback of descriptor `k` calls `terminate_async`
//! (`ChainState::done`, atomic context: it cannot wait); process context
//! then calls `synchronize`, and only that gives the buffers and the
//! callback state back, to check and free (`terminate_in_callback`).
//! Freeing them earlier does not compile (see [`dmaengine::client`]).
//!
//! The rest is test harness, in one module (`client/`): the scenarios and
//! their checks (`scenarios.rs`, which wraps `ChainState` in a probing
//! callback), the benchmark mode of `make bench` (`latency.rs`) and the
//! files in `/sys/kernel/debug/rust_dmaengine_client/` (`debugfs.rs`).
//!
//! Built with `--cfg rde_negative` (Kbuild:
//! `rust_dmaengine_client_negative.ko`, test only) it also has the negative
//! controls of `client/negative.rs`, which break the protocol on purpose.
//! The product module has no such scenario, and no knob to reach one.

use dmaengine::client::{
    Callback,
    CallbackCtl,
    Channel,
    DmaBuf,
    Finished,
    Op, //
};
use dmaengine::completion::Completion;
use kernel::{
    prelude::*,
    sync::Arc,
    time::msecs_to_jiffies, //
};

/// What the callbacks of one chain share.
pub(crate) struct ChainState {
    /// The callback of this descriptor terminates the chain (`None`: process
    /// context does).
    stop_at: Option<usize>,
    /// The callback of this descriptor wakes process context.
    notify_at: usize,
    stopped: Arc<Completion>,
}

/// What the protocol part of a callback found.
pub(crate) enum Step {
    /// As it should be.
    Ok,
    /// `terminate_async` failed.
    TerminateFailed,
    /// A callback after the one that terminated the chain: the provider's
    /// bug.
    Late,
}

impl ChainState {
    pub(crate) fn new(stop_at: Option<usize>, notify_at: usize) -> Result<Self> {
        Ok(Self {
            stop_at,
            notify_at,
            stopped: Arc::pin_init(Completion::new(), GFP_KERNEL)?,
        })
    }

    /// Completed by the callback of `notify_at`.
    pub(crate) fn stopped(&self) -> Arc<Completion> {
        self.stopped.clone()
    }

    /// The callback of descriptor `index`, in the provider's callback
    /// context (softirq): it must not sleep, so it can stop the channel but
    /// not wait for it.
    pub(crate) fn step(&self, index: usize, ctl: &CallbackCtl<'_>) -> Step {
        match self.stop_at {
            Some(k) if index == k && ctl.terminate_async().is_err() => Step::TerminateFailed,
            // Never: the channel was stopped in an earlier callback.
            Some(k) if index > k => Step::Late,
            _ => Step::Ok,
        }
    }

    /// Wakes process context if `index` is `notify_at`; then `self` is no
    /// longer touched.
    pub(crate) fn notify(&self, index: usize) -> bool {
        let now = index == self.notify_at;
        if now {
            self.stopped.complete_all();
        }
        now
    }
}

impl Callback for ChainState {
    fn done(&self, index: usize, ctl: &CallbackCtl<'_>) {
        let _ = self.step(index, ctl);
        self.notify(index);
    }
}

/// Submits `bufs` as a chain of `ops`, waits until the callback that
/// stops it (it completes `stopped`), synchronizes and gives everything
/// back, with whether that callback came in time: the caller checks the
/// buffers, and dropping them then frees them.
fn terminate_in_callback<S: Callback>(
    ch: &mut Channel,
    bufs: KVec<DmaBuf>,
    ops: &[Op],
    state: S,
    stopped: Arc<Completion>,
) -> Result<(Finished<S>, bool)> {
    // The buffers and the state move into the transfer: until synchronize
    // gives them back, nothing can free them, nor write to them.
    let flight = ch.submit(bufs, ops, state)?;
    let woken = stopped.wait_for_completion_timeout(msecs_to_jiffies(TIMEOUT_MS));
    if !woken {
        pr_err!("{}: no stopping callback\n", flight.channel_name());
    }
    // The engine may still write and the callback may still run: terminate
    // (already done by the callback, harmless again), then wait for both.
    let terminated = flight.terminate_async().map_err(|(e, flight)| {
        // Dropping `flight` tries terminate_sync once more, and leaks the
        // memory if that fails too: it is never freed under the engine.
        pr_err!("{}: terminate failed: {e:?}\n", flight.channel_name());
        e
    })?;
    Ok((terminated.synchronize(), woken))
}

pub mod dmaengine;

/// The test harness: scenarios, checks, benchmark modes, debugfs.
#[path = "client/mod.rs"]
mod harness;

use dmaengine::Cap;

/// `module!` with this module's parameters: the product module and its
/// test build differ only in name and description.
macro_rules! this_module {
    ($name:tt, $description:tt) => {
        module! {
            type: RustDmaengineClient,
            name: $name,
            authors: ["rust-dmaengine developers"],
            description: $description,
            license: "GPL",
            params: {
                clients: u32 {
                    default: 1,
                    description: "Independent clients (1-4): the first in rust_dmaengine_client/, the others in rust_dmaengine_client/clientN/",
                },
                unsynchronized: u32 {
                    default: 0,
                    description: "1 = also use channels without device_synchronize (e.g. upstream pl330); refused unless the kernel has a single CPU",
                },
            },
        }
    };
}

#[cfg(not(rde_negative))]
this_module!(
    "rust_dmaengine_client",
    "DMA-engine client exercising terminate_async + synchronize"
);

// The negative controls: the same client, plus scenarios that break the
// protocol on purpose (see `client/negative.rs`).  Never a product module.
#[cfg(rde_negative)]
this_module!(
    "rust_dmaengine_client_negative",
    "TEST ONLY: rust_dmaengine_client with scenarios that break the termination protocol (negative controls)"
);

/// Descriptors per memcpy chain.
const CHAIN: usize = 8;
/// How long to wait for a callback before calling it an error.
const TIMEOUT_MS: u32 = 10_000;
/// Most clients one module instance offers.
const MAX_CLIENTS: u32 = 4;

/// A channel with capability `cap` (named `name`, if given).  Only
/// channels whose provider implements `device_synchronize`, unless the
/// module was loaded with `unsynchronized=1`, which `init` accepts only on a
/// single-CPU kernel.
fn request_channel(cap: Cap, name: Option<&CStr>) -> Result<Channel> {
    if module_parameters::unsynchronized.value() != 1 || !unsynchronized_allowed() {
        return Channel::request(cap, name, None);
    }
    // Callbacks run in softirq context, which process context cannot
    // interrupt, so when process context calls `dmaengine_synchronize()` no
    // callback is running; and the provider this is for, upstream pl330,
    // stops the channel thread (DMAKILL) in `device_terminate_all` before it
    // returns and moves the descriptors it terminated off its lists.
    // SAFETY: The kernel has a single CPU (checked just above, and `init`
    // refuses the parameter otherwise); the rest as explained above.  The
    // negative-control build breaks this on purpose on SMP, to show the race
    // (see `unsynchronized_allowed`).
    let ch = unsafe { Channel::request_unsynchronized(cap, name, None) }?;
    if !ch.can_synchronize() {
        pr_info!(
            "{}: no device_synchronize; used anyway (unsynchronized=1, single CPU)\n",
            ch.name()
        );
    }
    Ok(ch)
}

/// Whether `unsynchronized=1` may take effect: on a single-CPU kernel; in
/// the negative-control build (`rust_dmaengine_client_negative.ko`, test
/// only) on SMP too, where it shows a provider without
/// `device_synchronize` (upstream pl330 on exynos4210) letting a callback
/// run past `dmaengine_synchronize()`.  The check that finds such a
/// callback waits for it to leave before the state is freed, so the
/// measurement is not itself the use-after-free.
fn unsynchronized_allowed() -> bool {
    kernel::cpu::nr_cpu_ids() == 1 || cfg!(rde_negative)
}

/// The module: `clients` independent clients, each with its own debugfs
/// directory.
#[pin_data]
struct RustDmaengineClient {
    #[pin]
    first: harness::debugfs::Client,
    /// Clients 1 and up (module parameter `clients`).
    more: KVec<Pin<KBox<harness::debugfs::Client>>>,
}

impl kernel::InPlaceModule for RustDmaengineClient {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let n = module_parameters::clients.value();
        let unsync = module_parameters::unsynchronized.value();
        let checked = if !(1..=MAX_CLIENTS).contains(&n) {
            pr_err!("clients={n} is out of range: use 1 to {MAX_CLIENTS}\n");
            Err(EINVAL)
        } else if unsync > 1 {
            pr_err!("unsynchronized={unsync} is out of range: use 0 or 1\n");
            Err(EINVAL)
        } else if unsync == 1 && !unsynchronized_allowed() {
            pr_err!(
                "unsynchronized=1 is only sound on a single-CPU kernel (this one has {} CPU ids): \
                 on SMP a callback can still run after dmaengine_synchronize() returns\n",
                kernel::cpu::nr_cpu_ids()
            );
            Err(EINVAL)
        } else {
            Ok(())
        };
        // Refuse to load without a provider: nothing could run.
        let probed = checked.and_then(|()| {
            request_channel(Cap::Memcpy, None)
                .inspect_err(|_| {
                    pr_err!(
                        "no DMA channel with DMA_MEMCPY: load a DMA provider (e.g. rust_dmaengine) first\n"
                    )
                })
                .map(drop)
        });
        let dir = kernel::debugfs::Dir::new(c"rust_dmaengine_client");
        let more = probed.and_then(|()| {
            let mut v = KVec::with_capacity(n as usize - 1, GFP_KERNEL)?;
            for k in 1..n {
                let name = kernel::str::CString::try_from_fmt(fmt!("client{k}"))?;
                v.push(
                    KBox::pin_init(harness::debugfs::Client::new(dir.subdir(&name)), GFP_KERNEL)?,
                    GFP_KERNEL,
                )?;
            }
            Ok(v)
        });
        try_pin_init!(Self {
            more: more?,
            first <- harness::debugfs::Client::new(dir),
        })
    }
}
