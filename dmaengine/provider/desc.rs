// SPDX-License-Identifier: GPL-2.0

//! Descriptors: the C `struct dma_async_tx_descriptor` a client holds, and
//! its `tx_submit`.

use super::VirtChan;
use crate::dmaengine::{
    bindings,
    lock::lock_scoped,
    provider::Provider,
    queue::{
        Cookie,
        DescQueue,
        ItemState,
        QueueItem, //
    },
    TxResult,
};
use core::{
    mem::offset_of,
    ptr,
    sync::atomic::{
        AtomicU32,
        Ordering, //
    },
};
use kernel::{
    list::{
        impl_list_arc_safe,
        impl_list_item,
        ListArc,
        ListLinks, //
    },
    prelude::*,
    sync::Arc,
    types::Opaque, //
};

/// A descriptor: the C `struct dma_async_tx_descriptor` that clients see,
/// plus the driver's [`Provider::Desc`].
///
/// # Invariants
///
/// - `tx` was initialised by `dma_async_tx_descriptor_init` for the channel
///   that created it, with `tx_submit` = `tx_submit::<P>`.
/// - A `Desc` always lives in an `Arc` (it is created by `ListArc::pin_init`).
#[pin_data]
pub struct Desc<P: Provider> {
    #[pin]
    pub(super) tx: Opaque<bindings::dma_async_tx_descriptor>,
    #[pin]
    pub(super) links: ListLinks,
    pub(super) st: ItemState,
    pub(super) cyclic: bool,
    pub(super) len: usize,
    /// How it ended (`TxResult` as `dmaengine_tx_result`): written under
    /// the channel lock when it completes, read by callback dispatch.
    pub(super) result: AtomicU32,
    /// Bytes not transferred when it ended with an error (0 otherwise), for
    /// the callback's `dmaengine_result`; written and read as `result`.
    pub(super) residue: AtomicU32,
    /// The driver's part.
    pub data: P::Desc,
}

impl_list_arc_safe! {
    impl{P: Provider} ListArcSafe<0> for Desc<P> { untracked; }
}
impl_list_item! {
    impl{P: Provider} ListItem<0> for Desc<P> { using ListLinks { self.links }; }
}

// SAFETY: `st` is a field of the descriptor: the same for its whole life
// and its own.
unsafe impl<P: Provider> QueueItem for Desc<P> {
    fn queue_state(&self) -> &ItemState {
        &self.st
    }
}

// SAFETY: The C descriptor is written only while the `Desc` is private to
// one context (prep) or under the channel lock (`tx_submit`); `P::Desc` is
// `Send + Sync`.
unsafe impl<P: Provider> Send for Desc<P> {}
// SAFETY: As above; shared references only read the C descriptor.
unsafe impl<P: Provider> Sync for Desc<P> {}

impl<P: Provider> Desc<P> {
    /// The cookie assigned at submit.
    pub fn cookie(&self) -> Cookie {
        self.st.cookie()
    }

    /// Whether this is a cyclic descriptor.
    pub fn is_cyclic(&self) -> bool {
        self.cyclic
    }

    /// The transfer length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the transfer is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A descriptor kept as one of its channel's spares, made new: a fresh queue
    /// state and the new transfer's fields, as `VirtChan::new_desc`
    /// initialises a new one (which then writes the whole C descriptor, as
    /// for a new one).  Its links are unlinked: it was popped from its last
    /// list.
    ///
    /// # Safety
    ///
    /// `p` came from [`ListArc::into_raw`] of a `Desc<P>` that no one else
    /// references (its reference count is one and it is on no list), and
    /// `P::Desc` needs no drop.
    pub(super) unsafe fn reuse(
        p: *mut Self,
        data: P::Desc,
        len: usize,
        cyclic: bool,
    ) -> ListArc<Self> {
        // SAFETY: The caller promises that `p` is valid and ours alone, so
        // these writes race with nothing; none moves a pinned field (`tx`
        // and `links` are left as they are).  The old `data` needs no drop,
        // and the other fields overwritten have none.
        unsafe {
            ptr::addr_of_mut!((*p).st).write(ItemState::new());
            ptr::addr_of_mut!((*p).cyclic).write(cyclic);
            ptr::addr_of_mut!((*p).len).write(len);
            ptr::addr_of_mut!((*p).result).write(AtomicU32::new(TxResult::NoError.to_raw()));
            ptr::addr_of_mut!((*p).residue).write(AtomicU32::new(0));
            ptr::addr_of_mut!((*p).data).write(data);
        }
        // SAFETY: The caller promises that `p` came from `ListArc::into_raw`
        // and that nothing else references it.
        unsafe { ListArc::from_raw(p) }
    }

    /// How the transaction ended (set when it completed).
    pub(super) fn result(&self) -> bindings::dmaengine_tx_result {
        self.result.load(Ordering::Relaxed)
    }

    /// The bytes it did not transfer, if it failed (set when it completed).
    pub(super) fn residue(&self) -> u32 {
        self.residue.load(Ordering::Relaxed)
    }

    /// Invokes the client's callback, if it set one.
    pub(super) fn invoke_callback(&self, result: bindings::dmaengine_tx_result, residue: u32) {
        let res = bindings::dmaengine_result { result, residue };
        let tx = self.tx.get();
        // SAFETY: By the type invariant `tx` is initialised; the callback
        // fields were set by the client before submit and are not changed
        // after it.
        let (callback, callback_result, param) =
            unsafe { ((*tx).callback, (*tx).callback_result, (*tx).callback_param) };
        // As `dmaengine_desc_callback_invoke()`: the callback that takes the
        // result, if the client set one, else the plain one.  In Rust rather
        // than through a helper: C inlines it.
        if let Some(f) = callback_result {
            // SAFETY: The client's callback with its own parameter, called as
            // `include/linux/dmaengine.h` documents it.
            unsafe { f(param, &res) };
        } else if let Some(f) = callback {
            // SAFETY: As above.
            unsafe { f(param) };
        }
    }
}

impl<P: Provider> DescQueue<Desc<P>> {
    /// A new reference to the active descriptor.
    pub(super) fn active_arc(&self) -> Option<Arc<Desc<P>>> {
        self.active_list_arc().map(|l| l.clone_arc())
    }
}

/// `tx_submit` of every descriptor.
///
/// # Safety
///
/// Called by `dmaengine_submit()` with a descriptor from [`VirtChan::new_desc`].
pub(super) unsafe extern "C" fn tx_submit<P: Provider>(
    tx: *mut bindings::dma_async_tx_descriptor,
) -> bindings::dma_cookie_t {
    // SAFETY: By the `Desc` invariant `tx` is the `tx` field of a `Desc<P>`,
    // alive because it is on its channel's `allocated` list until submitted.
    let desc = unsafe {
        &*tx.cast::<u8>()
            .sub(offset_of!(Desc<P>, tx))
            .cast::<Desc<P>>()
    };
    // SAFETY: `tx->chan` was set by `dma_async_tx_descriptor_init` to a
    // channel of ours.
    let chan = unsafe { VirtChan::<P>::from_raw((*tx).chan) };
    // SAFETY: The guard stays here; the queue's methods make no token.
    let mut g = unsafe { lock_scoped(&chan.inner) };
    let Ok(c) = g.queue.submit(desc) else {
        return EINVAL.to_errno();
    };
    chan.cookies_seen
        .store(g.queue.cookies().to_bits(), Ordering::Release);
    // SAFETY: Under the channel lock; clients read `tx->cookie` only after
    // submit returns.
    unsafe { (*tx).cookie = c.0 };
    c.0
}

/// Descriptor allocation: a channel's `prep_*` makes its descriptors here,
/// and keeps one that was called back for the next.
impl<P: Provider> VirtChan<P> {
    #[inline(always)]
    pub(super) fn new_desc(
        &self,
        data: P::Desc,
        len: usize,
        cyclic: bool,
        flags: kernel::ffi::c_ulong,
    ) -> Result<*mut bindings::dma_async_tx_descriptor> {
        let spare = self.take_spare();
        let d = if spare.is_null() {
            ListArc::pin_init(
                try_pin_init!(Desc::<P> {
                    tx: Opaque::zeroed(),
                    links <- ListLinks::new(),
                    st: ItemState::new(),
                    cyclic,
                    len,
                    result: AtomicU32::new(TxResult::NoError.to_raw()),
                    residue: AtomicU32::new(0),
                    data,
                }),
                GFP_NOWAIT,
            )?
        } else {
            // SAFETY: By the type invariant a non-null spare is a
            // descriptor of this channel that no one else references, from
            // `ListArc::into_raw`, whose `P::Desc` needs no drop;
            // `take_spare`'s swap made it ours alone.
            unsafe { Desc::reuse(spare, data, len, cyclic) }
        };
        let tx = d.tx.get();
        // SAFETY: `tx` is the C descriptor of a descriptor that no one else
        // sees yet (new, or the spare made new); `chan` is registered.
        unsafe {
            // The whole descriptor, every field named: one that a later
            // kernel adds is a build error here, not a stale value from the
            // spare's last transfer.  Written as a whole, with the non-zero
            // fields among the zeroes, the compiler stores it inline rather
            // than calling `memset`.
            tx.write(bindings::dma_async_tx_descriptor {
                cookie: 0,
                // CAST: `enum dma_ctrl_flags` values fit the C field.
                // Without `DMA_CTRL_REUSE`: the device does not claim
                // `descriptor_reuse` (so `dmaengine_desc_set_reuse()`
                // refuses it), and a client that passed it to prep directly
                // would otherwise keep using the descriptor after its
                // callback.
                flags: flags as bindings::dma_ctrl_flags & !bindings::dma_ctrl_flags_DMA_CTRL_REUSE,
                phys: 0,
                chan: self.chan.get(),
                tx_submit: Some(tx_submit::<P>),
                desc_free: None,
                callback: None,
                callback_result: None,
                callback_param: ptr::null_mut(),
                unmap: ptr::null_mut(),
                desc_metadata_mode: 0,
                metadata_ops: ptr::null(),
                #[cfg(CONFIG_ASYNC_TX_ENABLE_CHANNEL_SWITCH)]
                next: ptr::null_mut(),
                #[cfg(CONFIG_ASYNC_TX_ENABLE_CHANNEL_SWITCH)]
                parent: ptr::null_mut(),
                // A zeroed `spinlock_t`, as `kzalloc` gives a C driver's
                // descriptor; `dma_async_tx_descriptor_init` initialises it.
                #[cfg(CONFIG_ASYNC_TX_ENABLE_CHANNEL_SWITCH)]
                lock: core::mem::zeroed(),
            });
            bindings::dma_async_tx_descriptor_init(tx, self.chan.get());
        }
        // One lock round trip, as `vchan_tx_prep()`: the device-gone check
        // and the queueing under the same lock.  On a dead channel `d` is
        // dropped (after the guard: it was declared first).
        // SAFETY: The guard stays here; the queue's methods make no token
        // (a refused `d` is dropped under it: `P::Desc`'s drop, if any,
        // cannot keep a token past its return).
        let mut g = unsafe { lock_scoped(&self.inner) };
        if g.dead {
            return Err(ENODEV);
        }
        // INVARIANT: `tx` is initialised for this channel with our
        // `tx_submit`.  A fresh descriptor is on no queue: this cannot fail.
        g.queue.add_allocated(d)?;
        Ok(tx)
    }

    /// Takes a spare descriptor out of `spares`, or null if there is
    /// none.  Any context: each slot is taken by an atomic swap, so a
    /// descriptor is taken once.
    #[inline(always)]
    fn take_spare(&self) -> *mut Desc<P> {
        for slot in &self.spares {
            if !slot.load(Ordering::Relaxed).is_null() {
                let p = slot.swap(ptr::null_mut(), Ordering::Acquire);
                if !p.is_null() {
                    return p;
                }
            }
        }
        ptr::null_mut()
    }

    /// Frees the spare descriptors: when the channel goes back to the pool
    /// (`free_chan_resources`) and when it is dropped.
    pub(super) fn free_spares(&self) {
        for slot in &self.spares {
            let spare = slot.swap(ptr::null_mut(), Ordering::Acquire);
            if !spare.is_null() {
                // SAFETY: By the type invariant `spare` came from
                // `ListArc::into_raw`; the swap took it out.
                drop(unsafe { ListArc::<Desc<P>>::from_raw(spare) });
            }
        }
    }

    /// Keeps a descriptor that was called back as one of the channel's
    /// `SPARES` spares, for a later prep, if no one else references it
    /// and its `P::Desc` needs no drop (so nothing of the driver outlives
    /// the callback); otherwise, or if every spare slot is taken, drops
    /// it.
    ///
    /// A client that is called back, then preps and submits the next
    /// transfer, keeps one descriptor in flight: a spare saves it an
    /// allocation and a free per transfer (and an allocation from Rust
    /// goes through `krealloc()`, which costs more than C's constant-size
    /// `kzalloc()`).  A client that keeps a queue of N transfers (a deep
    /// queue, ALSA's periods) needs N: pl330.c keeps a pool that grows to
    /// what was once in flight.
    ///
    /// Only for a descriptor popped from `completed`, whose callback has
    /// run: its client is done with its `tx` (DMA-engine API).  With KASAN
    /// nothing is kept, so that a client that does use a `tx` after its
    /// callback is reported there, as it would be with every descriptor
    /// freed.
    pub(super) fn recycle(&self, d: ListArc<Desc<P>>) {
        if core::mem::needs_drop::<P::Desc>() || cfg!(CONFIG_KASAN) {
            return;
        }
        let Some(unique) = Arc::into_unique_or_drop(d.into_arc()) else {
            return;
        };
        // INVARIANT: the descriptor is on no list (it was popped) and no one
        // else references it (`into_unique_or_drop`); `P::Desc` needs no
        // drop.  It goes into an empty slot, taken by a compare-exchange.
        let p = ListArc::<Desc<P>>::from(unique).into_raw().cast_mut();
        for slot in &self.spares {
            if slot.load(Ordering::Relaxed).is_null()
                && slot
                    .compare_exchange(ptr::null_mut(), p, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
        }
        // SAFETY: `p` came from `ListArc::into_raw` just above, and no slot
        // took it.
        drop(unsafe { ListArc::<Desc<P>>::from_raw(p) });
    }
}
