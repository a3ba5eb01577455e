// SPDX-License-Identifier: GPL-2.0

//! Rust DMA-engine sample: a software DMA provider, and a client of it that
//! terminates a transfer from its own completion callback.
//!
//! The provider registers a DMA device with four memcpy channels on a faux
//! device.  Its "engine" is the CPU: a work item copies each issued
//! descriptor, completes it and schedules the callbacks, which the
//! abstraction dispatches from the BH workqueue.  Upstream `dmatest` can
//! use its channels (`dmatest.channel=dma0chan0`, for instance).
//!
//! The client shows the termination protocol: the completion callback of
//! one copy of a chain calls `terminate_async` (it runs in softirq context
//! and cannot wait); process context then calls `synchronize`, and only
//! that gives the buffers and the callback state back, to check and to
//! free.  Freeing them earlier does not compile.
//!
//! The sample is built in only: the faux bus's driver has no module owner,
//! so dmaengine could not hold a module reference for a client that holds
//! one of the channels.

use core::sync::atomic::{
    AtomicBool,
    AtomicU32,
    Ordering, //
};
use kernel::{
    bindings,
    device,
    devres::Devres,
    dma_engine::{
        client::{
            Callback,
            CallbackCtl,
            Channel,
            DmaBuf,
            Op, //
        },
        completion::ReusableCompletion,
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
        Status,
        TxResult, //
    },
    error::to_result,
    faux,
    ffi::c_ulong,
    prelude::*,
    sync::Arc,
    time::{
        delay::udelay,
        Delta, //
    },
    workqueue, //
};

module! {
    type: SampleDmaEngine,
    name: "rust_dma_engine",
    authors: ["Rust for Linux Contributors"],
    description: "Rust DMA-engine sample: a software provider and a client",
    license: "GPL",
}

/// The name of the faux device, and of the DMA device on it.
const NAME: &CStr = c"rust_dma_engine";

/// The provider's channels.
const CHANNELS: u32 = 4;

/// A copy, as the client asked for it, in bus addresses.
#[derive(Clone, Copy)]
struct Xfer {
    dst: DmaAddress,
    src: DmaAddress,
    len: usize,
}

/// What the engine of a channel does, under the channel lock.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    /// No work item is queued or running.
    Idle,
    /// The work item is queued or copying.
    Running,
    /// `terminate_all` came while it was running: it acknowledges the stop
    /// before it touches memory again.
    Stopping,
}

struct SoftDma;

#[vtable]
impl Provider for SoftDma {
    type Desc = Xfer;
    type Engine = Engine;
    type ChanData = ();

    fn prep_memcpy(
        _chan: &VirtChan<Self>,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
    ) -> Result<Xfer> {
        if len == 0 {
            return Err(EINVAL);
        }
        Ok(Xfer { dst, src, len })
    }

    fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
        if g.issue_pending() && g.engine == Engine::Idle {
            let chan: Arc<VirtChan<Self>> = chan.into();
            // Atomic context: the work item is allocated with GFP_ATOMIC.  If
            // that fails, the next issue_pending tries again.
            let wq = workqueue::system_unbound();
            if wq.try_spawn(GFP_ATOMIC, move || engine_run(chan)).is_ok() {
                g.engine = Engine::Running;
            }
        }
    }

    fn tx_status(_chan: &VirtChan<Self>, g: &Inner<Self>, cookie: Cookie) -> TxStatus {
        // A copy is done in one go: one that is not complete has not begun.
        let residue = g.queue().find(cookie).map_or(0, |d| d.len());
        TxStatus {
            status: Status::InProgress,
            residue: u32::try_from(residue).unwrap_or(u32::MAX),
            in_flight_bytes: 0,
        }
    }

    fn terminate_all(chan: &VirtChan<Self>, g: &mut Inner<Self>) -> Result {
        if g.engine == Engine::Running {
            // It may be copying right now: `synchronize` waits until it says
            // it stopped.
            chan.engine_stopping();
            g.engine = Engine::Stopping;
        }
        Ok(())
    }
}

/// The engine of a channel: copies the issued descriptors one at a time,
/// in process context, until none is left.
fn engine_run(chan: Arc<VirtChan<SoftDma>>) {
    loop {
        let copy = {
            let mut g = chan.lock();
            if g.engine == Engine::Stopping {
                // SAFETY: The engine is between copies and has dropped its
                // mappings; it takes the next descriptor only here, under the
                // lock, and the ones `terminate_all` took are off the queue.
                unsafe { chan.engine_stopped() };
                g.engine = Engine::Running;
            }
            match g.start_next() {
                Some(d) => d.data,
                None => {
                    g.engine = Engine::Idle;
                    return;
                }
            }
        };
        let len = u32::try_from(copy.len).unwrap_or(u32::MAX);
        let result = copy.run();
        let mut g = chan.lock();
        // A terminate during the copy took the descriptor away.
        if g.engine == Engine::Running {
            // A failed copy wrote nothing.
            let residue = if result == TxResult::NoError { 0 } else { len };
            g.complete_active_with(result, residue);
            chan.schedule_callbacks();
        }
    }
}

impl Xfer {
    /// Copies with the CPU.  Process context: mapping may sleep.
    fn run(self) -> TxResult {
        let Some(src) = Ram::map(self.src, self.len) else {
            return TxResult::ReadFailed;
        };
        let Some(dst) = Ram::map(self.dst, self.len) else {
            return TxResult::WriteFailed;
        };
        // SAFETY: Both map `len` bytes that a client handed to the channel
        // for this descriptor, which is active: the DMA-engine contract lets
        // the engine use them until it completes or, once terminated, until
        // `synchronize`, which waits for `engine_stopped`.  `copy` is a
        // memmove: overlapping buffers are the client's bug, not UB here.
        unsafe { core::ptr::copy(src.0, dst.0, self.len) };
        TxResult::NoError
    }
}

/// RAM at a bus address, mapped for the CPU.  The faux device has no IOMMU
/// and no DMA offset: its bus addresses are physical addresses.
struct Ram(*mut u8);

impl Ram {
    fn map(addr: DmaAddress, len: usize) -> Option<Self> {
        // SAFETY: `memremap` checks that the range is RAM and returns its
        // linear-map address (or maps it, or fails); no other requirement.
        // CAST: A flag of `enum memremap_flags`.
        let p = unsafe { bindings::memremap(addr, len, bindings::MEMREMAP_WB as c_ulong) };
        (!p.is_null()).then(|| Self(p.cast()))
    }
}

impl Drop for Ram {
    fn drop(&mut self) {
        // SAFETY: Mapped by `memremap` in `Ram::map`, unmapped once.
        unsafe { bindings::memunmap(self.0.cast()) };
    }
}

/// Gives the faux device what the DMA API needs of a DMA provider's device:
/// a 64-bit DMA mask (the faux bus sets none, and the DMA API does not map
/// for a device without one) and coherence (the engine is the CPU, which
/// sees its own caches: cache maintenance at unmap would discard its copy).
fn setup_dma(dev: &device::Device<device::Bound>) -> Result {
    let d = core::ptr::from_ref(dev)
        .cast_mut()
        .cast::<bindings::device>();
    // SAFETY: `device::Device` wraps a `struct device`.  It is the faux
    // device, just created: no driver maps memory for it yet, and nothing
    // else sets its DMA fields; `coherent_dma_mask` lives as long as it.
    unsafe {
        (*d).dma_mask = &raw mut (*d).coherent_dma_mask;
        bindings::dev_set_dma_coherent(d);
        to_result(bindings::dma_set_mask_and_coherent(d, u64::MAX))
    }
}

// ---------------------------------------------------------------------------
// The client.

/// Chains the client runs, copies per chain and bytes per copy.
const RUNS: usize = 8;
const CHAIN: usize = 8;
const CHUNK: usize = 4096;

/// What the callbacks of one chain share.
struct Chain {
    /// The callback of this copy terminates the chain.
    stop_at: usize,
    stopped: Arc<ReusableCompletion>,
    /// Callbacks of copies after `stop_at`: must stay 0.
    late: AtomicU32,
    errors: AtomicU32,
    /// A callback is running: must be false once synchronize returned.
    running: AtomicBool,
}

impl Callback for Chain {
    /// Runs in the provider's callback context (softirq): it can stop the
    /// channel but not wait for it.
    fn done(&self, index: usize, ctl: &CallbackCtl<'_>) {
        self.running.store(true, Ordering::Release);
        if index > self.stop_at {
            self.late.fetch_add(1, Ordering::Relaxed);
        } else if index == self.stop_at {
            if ctl.terminate_async().is_err() {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            self.stopped.complete_all();
            // Still running when process context wakes: synchronize must
            // wait for this callback to return.
            udelay(Delta::from_micros(1000));
        }
        self.running.store(false, Ordering::Release);
    }
}

/// One chain: submit, terminate from callback `stop_at`, synchronize, check.
/// Returns the copies checked.
fn run_chain(ch: &mut Channel, run: usize, stop_at: usize) -> Result<usize> {
    let mut src = DmaBuf::new(CHAIN * CHUNK)?;
    for (i, b) in src.as_mut_slice().iter_mut().enumerate() {
        // CAST: A pattern byte; truncation intended.
        *b = (i ^ run.wrapping_mul(31)) as u8;
    }
    let mut bufs = KVec::with_capacity(2, GFP_KERNEL)?;
    bufs.push(src, GFP_KERNEL)?;
    bufs.push(DmaBuf::new(CHAIN * CHUNK)?, GFP_KERNEL)?;
    let ops: [Op; CHAIN] = core::array::from_fn(|i| Op::Memcpy {
        dst: 1,
        src: 0,
        offset: i * CHUNK,
        len: CHUNK,
    });
    let stopped = Arc::pin_init(ReusableCompletion::new(), GFP_KERNEL)?;
    let state = Chain {
        stop_at,
        stopped: stopped.clone(),
        late: AtomicU32::new(0),
        errors: AtomicU32::new(0),
        running: AtomicBool::new(false),
    };
    // The buffers and the state move into the transfer: until synchronize
    // gives them back, nothing can free them, nor write to them.
    let flight = ch.submit(bufs, &ops, state)?;
    let woken = stopped.wait_timeout_ms(5000);
    // The callback may still run, and the engine still copy: terminate (the
    // callback did already; harmless again), then wait for both.
    let done = flight.terminate_async().map_err(|(e, _)| e)?.synchronize();
    if !woken || done.state.late.load(Ordering::Relaxed) != 0 {
        pr_err!("client: chain {run}: no stopping callback, or a callback after it\n");
        return Err(EIO);
    }
    if done.state.running.load(Ordering::Acquire) {
        pr_err!("client: chain {run}: a callback still runs after synchronize\n");
        return Err(EIO);
    }
    if done.state.errors.load(Ordering::Relaxed) != 0 {
        return Err(EIO);
    }
    let (src, dst) = (done.bufs[0].as_slice(), done.bufs[1].as_slice());
    for (i, (s, d)) in src.chunks(CHUNK).zip(dst.chunks(CHUNK)).enumerate() {
        // Copies up to `stop_at` completed.  Later ones were terminated: not
        // copied, or copied before the terminate landed, but never partly.
        let ok = s == d || (i > stop_at && d.iter().all(|&b| b == 0));
        if !ok {
            pr_err!("client: chain {run}: copy {i} is wrong\n");
            return Err(EIO);
        }
    }
    // `done` is dropped here: the buffers and the state are freed.
    Ok(stop_at + 1)
}

/// The client: `RUNS` chains on a channel of our device, each stopped from
/// a different callback.
fn run_client() -> Result<usize> {
    let mut ch = Channel::request(Cap::Memcpy, None, Some(NAME))?;
    let mut checked = 0;
    for run in 0..RUNS {
        checked += run_chain(&mut ch, run, run % CHAIN)?;
    }
    pr_info!(
        "client: {RUNS} chains on {}, {checked} copies checked\n",
        ch.name()
    );
    Ok(checked)
}

// ---------------------------------------------------------------------------

struct SampleDmaEngine {
    // Dropped in this order: the DMA device, then the faux device.
    _dma: Devres<Registration<SoftDma>>,
    _faux: faux::Registration,
}

impl kernel::Module for SampleDmaEngine {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let fdev = faux::Registration::new(NAME, None)?;
        let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
        setup_dma(dev)?;
        let dma = Registration::<SoftDma>::new(dev, &[Cap::Memcpy], CHANNELS, |_| {
            Ok((Engine::Idle, Ok::<(), Error>(())))
        })?;
        dev_info!(dev, "registered {CHANNELS} memcpy channels\n");
        match run_client() {
            Ok(_) => pr_info!("client: terminate from callback, synchronize, free: ok\n"),
            Err(e) => pr_err!("client: FAILED: {e:?}\n"),
        }
        Ok(Self {
            _dma: dma,
            _faux: fdev,
        })
    }
}
