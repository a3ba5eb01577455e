// SPDX-License-Identifier: GPL-2.0

//! What a client of a peripheral's channel configures: the device side of
//! its slave and cyclic transfers.

use super::{
    Channel,
    DmaBuf,
    Mapped,
    PREP_FLAGS, //
};
use crate::dmaengine::{
    bindings,
    Direction,
    DmaAddress,
    SlaveConfig, //
};
use kernel::{
    device::Device,
    prelude::*,
    sync::aref::ARef, //
};

/// Prepares a slave transfer of the `len` bytes mapped at `addr`, as a
/// scatter-gather list of `segs` entries, in direction `dir`.  The list is
/// the client's until prep returns (providers copy what they keep).
///
/// # Safety
///
/// `chan` must be a held channel and `addr` a mapping of `len` bytes for
/// its device that outlives the transfer (until terminate and
/// synchronize).
pub(super) unsafe fn prep_slave_sg(
    chan: *mut bindings::dma_chan,
    addr: DmaAddress,
    len: usize,
    segs: usize,
    dir: Direction,
) -> Result<*mut bindings::dma_async_tx_descriptor> {
    if segs == 0 || len < segs {
        return Err(EINVAL);
    }
    let n = u32::try_from(segs).map_err(|_| EINVAL)?;
    let part = len / segs;
    let mut sg = KVec::with_capacity(segs, GFP_KERNEL)?;
    for _ in 0..segs {
        sg.push(bindings::scatterlist::default(), GFP_KERNEL)?;
    }
    // SAFETY: `sg` holds `n` entries.
    unsafe { bindings::sg_init_table(sg.as_mut_ptr(), n) };
    for (i, e) in sg.iter_mut().enumerate() {
        let this = if i + 1 == segs { len - part * i } else { part };
        // CAST: `i * part < len`, a length of a mapping.
        e.dma_address = addr + (i * part) as DmaAddress;
        let this = u32::try_from(this).map_err(|_| EINVAL)?;
        #[cfg(CONFIG_NEED_SG_DMA_LENGTH)]
        {
            e.dma_length = this;
        }
        #[cfg(not(CONFIG_NEED_SG_DMA_LENGTH))]
        {
            e.length = this;
        }
    }
    // SAFETY: The caller promises `chan` and the mapping; `sg` is a list of
    // `n` entries, valid for the call.
    Ok(unsafe {
        bindings::dmaengine_prep_slave_sg(chan, sg.as_mut_ptr(), n, dir.to_raw(), PREP_FLAGS)
    })
}

impl Channel {
    /// Configures the device side of the channel's slave and cyclic
    /// transfers (`dmaengine_slave_config()`), for the transfers prepared
    /// after it.  The provider refuses, with `EINVAL`, what its hardware
    /// cannot do.
    ///
    /// Unsafe because the device side is a bare bus address: the
    /// controller reads `src_addr` and writes `dst_addr` whatever they
    /// name, and no check can tell a peripheral's FIFO from kernel memory.
    /// A safe `slave_config` would let safe code make a `MEM_TO_DEV`
    /// transfer write over any memory.
    ///
    /// # Safety
    ///
    /// For as long as a transfer prepared with this configuration may run
    /// (until it completes, or is terminated and synchronized):
    ///
    /// - `dst_addr`, if a `MEM_TO_DEV` transfer is prepared, must be the
    ///   channel's device's bus address of a peripheral register or FIFO
    ///   that may be written with the transfer's data, or of memory the
    ///   caller owns and does not otherwise access meanwhile;
    /// - `src_addr`, if a `DEV_TO_MEM` transfer is prepared, must be the
    ///   bus address of a register, FIFO or memory that may be read
    ///   (reading it has no effect beyond the peripheral's own).
    pub unsafe fn slave_config(&self, cfg: &SlaveConfig) -> Result {
        let mut raw = bindings::dma_slave_config::from(cfg);
        // SAFETY: By the type invariant the channel is held; `raw` is valid
        // for the call, which copies what it keeps.  What the addresses
        // name is the caller's promise.
        kernel::error::to_result(unsafe { bindings::dmaengine_slave_config(self.raw(), &mut raw) })
    }
}

/// A buffer in memory on a transfer's device side: the source of a
/// `DEV_TO_MEM` transfer or the sink of a `MEM_TO_DEV` one, in place of a
/// peripheral's FIFO (a test of a controller whose model has no
/// peripheral, a device whose "FIFO" is memory).  Mapped for the
/// channel's DMA device while it lives, whose address goes into
/// [`Channel::slave_config`].  It holds a reference on that device, so it
/// may outlive the channel.
///
/// Dropping it unmaps it: the caller of `slave_config` keeps it until the
/// transfers that use it are synchronized (that function's `# Safety`).
/// Safe by itself: it owns the buffer, which no CPU reference reaches
/// while it is mapped, and only the unsafe `slave_config` can point a
/// transfer at it.
///
/// # Invariants
///
/// `map` maps its buffer for `_dev`, which the reference keeps alive.
#[must_use = "dropping it unmaps it: keep it until the transfers that use it are synchronized"]
pub struct DeviceSide {
    map: Mapped,
    _dev: ARef<Device>,
}

impl DeviceSide {
    /// The device's address of the buffer, for [`Channel::slave_config`].
    pub fn addr(&self) -> DmaAddress {
        self.map.addr
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.map.len
    }

    /// Whether it is empty (never: `DmaBuf` refuses empty buffers).
    pub fn is_empty(&self) -> bool {
        self.map.len == 0
    }
}

impl Channel {
    /// Maps `buf` for the channel's DMA device as a transfer's device side
    /// (see [`DeviceSide`]).  What the CPU wrote to it before is what the
    /// device reads.  `ENOMEM` if the mapping fails.
    pub fn map_device_side(&self, buf: DmaBuf) -> Result<DeviceSide> {
        let dev = self.dma_dev();
        // SAFETY: By the type invariant the channel is held, so its DMA
        // device is alive; this takes a reference of our own.
        let dev_ref = unsafe { Device::get_device(dev) };
        // INVARIANT: mapped for `dev`, which `dev_ref` keeps alive (it is
        // dropped after `map`: fields drop in order).
        Ok(DeviceSide {
            map: Mapped::new(dev, buf)?,
            _dev: dev_ref,
        })
    }
}
