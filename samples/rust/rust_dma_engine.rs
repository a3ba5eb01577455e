// SPDX-License-Identifier: GPL-2.0

//! Rust DMA-engine sample: a provider of four memcpy channels on a faux
//! device, whose engine is the CPU, and a client that stops a chain of copies
//! from a completion callback (`terminate_async`), then `synchronize`s: only
//! that gives the buffers and the callback state back, to check and free.
//! Freeing earlier does not compile.  Upstream `dmatest` can use the channels.

use crate::dmaengine::bindings;
use crate::dmaengine::completion::Completion;
use crate::dmaengine::{
    client,
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
};
use core::sync::atomic::{
    AtomicBool,
    AtomicU32,
    Ordering, //
};
use kernel::{
    device,
    devres::Devres,
    faux,
    ffi::c_ulong,
    prelude::*,
    sync::Arc,
    workqueue, //
};

#[path = "../../dmaengine/mod.rs"]
pub mod dmaengine;

module! {
    type: SampleDmaEngine,
    name: "rust_dma_engine",
    authors: ["Rust for Linux Contributors"],
    description: "Rust DMA-engine sample: a software provider and a client",
    license: "GPL",
}

/// The name of the faux device, and of the DMA device on it.
const NAME: &CStr = c"rust_dma_engine";

/// A copy, in bus addresses.
#[derive(Clone, Copy)]
struct Xfer {
    dst: DmaAddress,
    src: DmaAddress,
    len: usize,
}

/// A channel's engine: idle, its work item queued or copying, or told to
/// stop (`terminate_all` came while it ran: it acknowledges the stop before
/// it touches memory again).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Idle,
    Running,
    Stopping,
}

struct SoftDma;

#[vtable]
impl Provider for SoftDma {
    type Desc = Xfer;
    type Engine = Engine;
    type ChanData = ();

    fn prep_memcpy(
        _: VirtChanRef<'_, Self>,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
    ) -> Result<Xfer> {
        (len > 0).then_some(Xfer { dst, src, len }).ok_or(EINVAL)
    }

    fn issue_pending(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) {
        if g.issue_pending() && g.engine == Engine::Idle {
            let chan: Arc<VirtChan<Self>> = chan.into();
            // Atomic context: if the allocation fails, the next
            // issue_pending tries again.
            let wq = workqueue::system_unbound();
            if wq.try_spawn(GFP_ATOMIC, move || engine_run(chan)).is_ok() {
                g.engine = Engine::Running;
            }
        }
    }

    fn tx_status(_: VirtChanRef<'_, Self>, g: &Inner<Self>, cookie: Cookie) -> TxStatus {
        // A copy is done in one go: one that is not complete has not begun.
        let residue = g.queue().find(cookie).map_or(0, |d| d.len());
        TxStatus {
            status: Status::InProgress,
            residue: u32::try_from(residue).unwrap_or(u32::MAX),
            in_flight_bytes: 0,
        }
    }

    fn terminate_all(chan: VirtChanRef<'_, Self>, g: &mut Inner<Self>) -> Result {
        if g.engine == Engine::Running {
            // It may be copying: `synchronize` waits until it says it stopped.
            chan.engine_stopping();
            g.engine = Engine::Stopping;
        }
        Ok(())
    }
}

/// A channel's engine: copies the issued descriptors one at a time, in
/// process context, until none is left.
fn engine_run(chan: Arc<VirtChan<SoftDma>>) {
    loop {
        let copy = {
            let mut g = chan.lock();
            if g.engine == Engine::Stopping {
                // SAFETY: Between copies, no mapping held; the next
                // descriptor is taken only here, under the lock, and the
                // ones `terminate_all` took are off the queue.
                unsafe { chan.engine_stopped() };
                g.engine = Engine::Running;
            }
            let Some(d) = g.start_next() else {
                g.engine = Engine::Idle;
                return;
            };
            d.data
        };
        let (result, len) = (copy.run(), u32::try_from(copy.len).unwrap_or(u32::MAX));
        let mut g = chan.lock();
        // A terminate during the copy took the descriptor away.
        if g.engine == Engine::Running {
            let residue = if result == TxResult::NoError { 0 } else { len };
            g.complete_active_with(result, residue);
            chan.schedule_callbacks();
        }
    }
}

impl Xfer {
    /// Copies with the CPU.  The faux device has no IOMMU and no DMA offset:
    /// its bus addresses are physical addresses.
    fn run(self) -> TxResult {
        // SAFETY: `memremap` checks that the range is RAM; no other
        // requirement.  CAST: A flag of `enum memremap_flags`.
        let map = |a| unsafe { bindings::memremap(a, self.len, bindings::MEMREMAP_WB as c_ulong) };
        let (src, dst) = (map(self.src), map(self.dst));
        let ok = !src.is_null() && !dst.is_null();
        if ok {
            // SAFETY: Both map `len` bytes that a client handed to the
            // channel for this active descriptor: the contract lets the
            // engine use them until it completes or, once terminated, until
            // `synchronize`, which waits for `engine_stopped`.  A memmove:
            // overlap is the client's bug.
            unsafe { core::ptr::copy(src.cast::<u8>(), dst.cast::<u8>(), self.len) };
        }
        for p in [src, dst].into_iter().filter(|p| !p.is_null()) {
            // SAFETY: Mapped above, unmapped once.
            unsafe { bindings::memunmap(p) };
        }
        if ok {
            TxResult::NoError
        } else {
            TxResult::ReadFailed
        }
    }
}

/// Copies per chain (one chain per stopping copy) and bytes per copy.
const CHAIN: usize = 8;
const CHUNK: usize = 4096;

/// What the callbacks of one chain share: the callback of copy `stop_at`
/// terminates the chain and completes `stopped`.
struct Chain {
    stop_at: usize,
    stopped: Arc<Completion>,
    /// Callbacks after the stopping one, and failed terminates: must be 0.
    bad: AtomicU32,
    /// A callback runs: must be false once synchronize returned.
    running: AtomicBool,
}

impl client::Callback for Chain {
    /// Runs in softirq context: it can stop the channel, not wait for it.
    fn done(&self, index: usize, ctl: &client::CallbackCtl<'_>) {
        self.running.store(true, Ordering::Release);
        if index > self.stop_at || (index == self.stop_at && ctl.terminate_async().is_err()) {
            self.bad.fetch_add(1, Ordering::Relaxed);
        } else if index == self.stop_at {
            self.stopped.complete_all();
            // Still running when process context wakes: synchronize must
            // wait for this callback to return.
            kernel::time::delay::udelay(kernel::time::Delta::from_micros(1000));
        }
        self.running.store(false, Ordering::Release);
    }
}

/// One chain: submit, terminate from callback `stop_at`, synchronize, check.
fn run_chain(ch: &mut client::Channel, stop_at: usize) -> Result {
    let mut src = client::DmaBuf::new(CHAIN * CHUNK)?;
    src.as_mut_slice().fill(0x5a);
    let bufs = kernel::kvec![src, client::DmaBuf::new(CHAIN * CHUNK)?]?;
    let ops: [client::Op; CHAIN] = core::array::from_fn(|i| client::Op::Memcpy {
        dst: 1,
        src: 0,
        offset: i * CHUNK,
        len: CHUNK,
    });
    let stopped = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = Chain {
        stop_at,
        stopped: stopped.clone(),
        bad: AtomicU32::new(0),
        running: AtomicBool::new(false),
    };
    // The buffers and the state move into the transfer: until synchronize
    // gives them back, nothing can free them, nor write to them.
    let flight = ch.submit(bufs, &ops, state)?;
    let woken = stopped.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(5000));
    // The callback may still run and the engine still copy: terminate (again,
    // harmless), then wait for both.
    let done = flight.terminate_async().map_err(|(e, _)| e)?.synchronize();
    let bad = done.state.bad.load(Ordering::Relaxed);
    if !woken || bad != 0 || done.state.running.load(Ordering::Acquire) {
        pr_err!("client: chain {stop_at}: no stop, {bad} bad callbacks, or one still running\n");
        return Err(EIO);
    }
    let (src, dst) = (done.bufs[0].as_slice(), done.bufs[1].as_slice());
    for (i, (s, d)) in src.chunks(CHUNK).zip(dst.chunks(CHUNK)).enumerate() {
        // Copies after `stop_at` were terminated: copied whole or not at all.
        if s != d && (i <= stop_at || d.iter().any(|&b| b != 0)) {
            pr_err!("client: chain {stop_at}: copy {i} is wrong\n");
            return Err(EIO);
        }
    }
    // `done` is dropped here: the buffers and the state are freed.
    Ok(())
}

/// Dropped in this order: the DMA device, then the faux device.
struct SampleDmaEngine {
    _dma: Devres<Registration<SoftDma>>,
    _faux: faux::Registration,
}

impl kernel::Module for SampleDmaEngine {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let fdev = faux::Registration::new(NAME, None)?;
        let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
        // A 64-bit DMA mask (the DMA API maps nothing for a device without
        // one) and coherence (the engine is the CPU, which sees its caches:
        // cache maintenance at unmap would discard its copy).
        let d = core::ptr::from_ref(dev)
            .cast_mut()
            .cast::<bindings::device>();
        // SAFETY: `device::Device` wraps a `struct device`: the faux device,
        // just created, for which nothing maps memory yet or sets DMA fields.
        unsafe {
            (*d).dma_mask = &raw mut (*d).coherent_dma_mask;
            bindings::dev_set_dma_coherent(d);
            kernel::error::to_result(bindings::dma_set_mask_and_coherent(d, u64::MAX))?;
        }
        let dma = Registration::<SoftDma>::new(dev, module, &[Cap::Memcpy], 4, |_| {
            Ok((Engine::Idle, Ok::<(), Error>(())))
        })?;
        let mut ch = client::Channel::request(Cap::Memcpy, None, Some(NAME))?;
        for stop_at in 0..CHAIN {
            run_chain(&mut ch, stop_at)?;
        }
        pr_info!(
            "client: {CHAIN} chains on {}: terminate from callback, synchronize, free: ok\n",
            ch.name()
        );
        Ok(Self {
            _dma: dma,
            _faux: fdev,
        })
    }
}
