// SPDX-License-Identifier: GPL-2.0

//! The negative controls: scenarios that break the termination protocol on
//! purpose, to show that the checkers catch what the API prevents.
//!
//! Only in the test build (`--cfg rde_negative`,
//! `rust_dmaengine_client_negative.ko`); `make check` runs each in a boot of
//! its own, which must show the expected report (`qemu/virt/tests`).
//!
//! - `negative_skip_sync`: like `async_in_callback`, but frees before
//!   synchronizing, through the API's explicit `unsafe` escape hatch.
//!   KASAN must report the engine's write into the freed buffers.
//! - `drop_in_callback`: drops, inside a completion callback, a batch in
//!   flight on another channel and a held channel (issue 10, hole 7).  Both
//!   drops must wait for DMA, which atomic context cannot do; the API must
//!   leak them with an error in the log ("dropping a InFlight in atomic
//!   context"), not sleep, deadlock or free early.  Each iteration leaks
//!   two channels, so run it once per boot.

use super::{
    probe::chain_state,
    scenarios::{
        chain_bufs,
        chain_ops,
        sleep_ms,
        stop,
        Results, //
    }, //
};
use crate::{
    dmaengine::{
        client::{
            Callback,
            CallbackCtl,
            Channel,
            DmaBuf,
            InFlight,
            Op, //
        },
        completion::Completion,
        Cap,
    },
    request_channel,
    CHAIN,
    TIMEOUT_MS, //
};
use core::sync::atomic::{
    AtomicBool,
    Ordering, //
};
use kernel::{
    new_spinlock,
    prelude::*,
    sync::{
        Arc,
        SpinLock, //
    },
};

/// `negative_skip_sync`: one iteration of `async_in_callback` that frees the
/// buffers without synchronizing.
pub(crate) fn skip_sync(ch: &mut Channel, iter: u32, hold: u32, r: &mut Results) -> Result {
    let stop_at = (iter as usize) % (CHAIN - 1);
    let state = chain_state(Some(stop_at), stop_at, hold)?;
    let stopped = state.chain.stopped();
    let flight = ch.submit(chain_bufs(iter)?, &chain_ops(), state)?;
    r.transfers += CHAIN as u32;
    if !stopped.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(TIMEOUT_MS)) {
        r.errors += 1;
    }
    let t = flight.terminate_async().map_err(|(e, _)| e)?;
    // SAFETY: NOT SAFE, on purpose: this is the negative control.  The
    // buffers are freed while the engine may still write them; KASAN must
    // report it.
    let f = unsafe { t.finish_without_synchronize() };
    drop(f);
    // Give the engine time to write into the freed buffers while KASAN
    // still has them in quarantine.
    sleep_ms(200);
    Ok(())
}

/// The callback state of the batch that gets dropped in a callback: it
/// notes whether it was dropped, i.e. freed rather than leaked.
struct Victim {
    dropped: Arc<AtomicBool>,
}

impl Callback for Victim {
    fn done(&self, _index: usize, _ctl: &CallbackCtl<'_>) {}
}

impl Drop for Victim {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::Relaxed);
    }
}

/// A batch in flight, to be moved into another batch's callback state.
struct Smuggled(InFlight<'static, Victim>);

// SAFETY: An `InFlight` owns its buffers and its callback state (`Send +
// Sync`) and borrows a `Channel` (`Send`) mutably; its raw pointers are to
// the channel, the channel's device and its own allocations, and are used
// only through the dmaengine API, which any thread may call.  Nothing in it
// belongs to the thread that made it.  (The API does not make it `Send`;
// this control needs one in a callback.)
unsafe impl Send for Smuggled {}

/// The callback state of the batch whose callback drops the others.
struct Dropper {
    /// Taken and dropped in the callback.  Locked only there (softirq), so
    /// the lock needs no bottom-half protection.
    batch: Pin<KBox<SpinLock<Option<Smuggled>>>>,
    /// The same, for a held channel: plain safe code can do this one.
    channel: Pin<KBox<SpinLock<Option<Channel>>>>,
    /// Set once both were dropped.
    done: Arc<Completion>,
}

impl Callback for Dropper {
    fn done(&self, _index: usize, _ctl: &CallbackCtl<'_>) {
        let batch = self.batch.lock().take();
        let channel = self.channel.lock().take();
        // Atomic context: each drop would have to wait for its channel.
        drop(batch);
        drop(channel);
        self.done.complete_all();
    }
}

/// `drop_in_callback`: drops an `InFlight` and a `Channel` in a callback
/// of a batch on `ch`; they must be leaked (see the module documentation).
pub(crate) fn drop_in_callback(ch: &mut Channel, _iter: u32, r: &mut Results) -> Result {
    const LEN: usize = 16384;
    // The victim's channel must outlive the leaked batch that borrows it:
    // leak it too.
    let other: &'static mut Channel =
        KBox::leak(KBox::new(request_channel(Cap::Memcpy, None)?, GFP_KERNEL)?);
    let dropped = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let mut bufs = KVec::with_capacity(2, GFP_KERNEL)?;
    bufs.push(DmaBuf::new(LEN)?, GFP_KERNEL)?;
    bufs.push(DmaBuf::new(LEN)?, GFP_KERNEL)?;
    let copy = Op::Memcpy {
        dst: 1,
        src: 0,
        offset: 0,
        len: LEN,
    };
    let victim = Victim {
        dropped: dropped.clone(),
    };
    let batch = Smuggled(other.submit(bufs, &[copy], victim)?);
    let held = request_channel(Cap::Memcpy, None)?;
    pr_info!(
        "drop_in_callback: a callback on {} drops a batch in flight on {} and the held {}\n",
        ch.name(),
        batch.0.channel_name(),
        held.name()
    );
    let done = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let state = Dropper {
        batch: KBox::pin_init(new_spinlock!(Some(batch)), GFP_KERNEL)?,
        channel: KBox::pin_init(new_spinlock!(Some(held)), GFP_KERNEL)?,
        done: done.clone(),
    };
    let mut bufs = KVec::with_capacity(2, GFP_KERNEL)?;
    bufs.push(DmaBuf::new(64)?, GFP_KERNEL)?;
    bufs.push(DmaBuf::new(64)?, GFP_KERNEL)?;
    let copy = Op::Memcpy {
        dst: 1,
        src: 0,
        offset: 0,
        len: 64,
    };
    let flight = ch.submit(bufs, &[copy], state)?;
    r.transfers += 2;
    if !done.wait_for_completion_timeout(kernel::time::msecs_to_jiffies(TIMEOUT_MS)) {
        pr_err!("drop_in_callback: the dropping callback never returned\n");
        r.errors += 1;
    }
    drop(stop(flight)?);
    if dropped.load(Ordering::Relaxed) {
        pr_err!("drop_in_callback: the batch dropped in the callback was freed\n");
        r.errors += 1;
    } else {
        pr_info!("drop_in_callback: the callback returned; what it dropped was leaked\n");
    }
    leak_probe()
}

/// Leaks one allocation that nothing refers to, on purpose.
///
/// What `drop_in_callback` leaks stays referenced (the leaked channels and
/// their descriptors point to it), so kmemleak rightly keeps quiet about it.
/// This one is unreferenced as soon as the function returns: the boot must
/// show kmemleak's `unreferenced object` report for it, which proves that
/// the guest's kmemleak scan finds a real leak, and so that "kmemleak
/// clean" in the other boots means something.
///
/// Sixteen of them: a stale copy of a pointer (a register spilled on a
/// stack that is cached for reuse, say) can hide one from kmemleak's
/// conservative scan, not all of them.
#[inline(never)]
fn leak_probe() -> Result {
    for _ in 0..16 {
        let mut v = KVec::with_capacity(1000, GFP_KERNEL)?;
        v.resize(1000, 0x5a, GFP_KERNEL)?;
        core::mem::forget(v);
    }
    pr_info!("drop_in_callback: leaked 16 x 1000 bytes on purpose; kmemleak must report them\n");
    Ok(())
}
