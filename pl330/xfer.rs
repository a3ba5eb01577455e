// SPDX-License-Identifier: GPL-2.0

//! Descriptors and their programs: memcpy, slave (scatter-gather to or
//! from a peripheral's FIFO, over its request line) and cyclic.
//!
//! Every program is written at prep, into the descriptor, and copied into
//! the channel's microcode slot when its thread starts it.  A peripheral
//! transfer waits for its request line before each burst (`DMAWFP`), moves
//! the burst with the peripheral-flavoured load or store (`DMALDP`/
//! `DMASTP`, which acknowledge the request), and flushes the request
//! interface (`DMAFLUSHP`), as `drivers/dma/pl330.c` does.  A length that
//! is not a whole number of bursts ends with one shorter burst.
//!
//! A cyclic program is one lap of the buffer, with an event at the end of
//! each period and none of the thread's stops between them; the interrupt
//! handler starts the next lap at the last.  `drivers/dma/pl330.c` runs one
//! program per period instead, and so stops the thread after every period.
//! A program that loops forever (`DMALPFE`) would need no restart at all,
//! but a controller whose requests are always ready never leaves it: QEMU's
//! model, which runs a program to its end within the `DMAGO`, hangs.

use super::*;

/// What a descriptor moves, and where the residue is read.
// The slave list is inline on purpose: boxed, the descriptor would need a
// drop, and the framework keeps for reuse only descriptors that do not
// (`Sgl`).  Every descriptor has the 512-byte program beside it anyway.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Kind {
    /// A copy from `src` to `dst`.
    Memcpy { dst: u32, src: u32 },
    /// A slave transfer: the memory side's entries (address, length), in
    /// order.
    Slave { p: Periph, sgl: Sgl },
    /// A cyclic transfer over `buf`, with an event every `period` bytes.
    Cyclic { p: Periph, buf: u32, period: u32 },
}

/// The most entries of a slave transfer: as many as the shortest entries
/// fit in a program of [`MC_SLOT`] bytes, (512 - 18) / 11 (head and tail:
/// `DMAMOV` CCR and FIFO, `DMAFLUSHP`, `DMAWMB`, `DMASEV`, `DMAEND`; an
/// entry: `DMAMOV` 6, `DMAWFP` 2, a load and a store 3).
pub(crate) const SG_MAX: usize = 44;

/// A slave transfer's memory side, (address, length) per entry, kept in the
/// descriptor: a descriptor holds nothing that needs a drop, so that the
/// framework can keep it for the next prep (`VirtChan::recycle`), and a
/// prep allocates nothing but the descriptor.
///
/// # Invariants
///
/// `n <= SG_MAX`.
pub(crate) struct Sgl {
    n: usize,
    e: [(u32, u32); SG_MAX],
}

impl Sgl {
    /// The entries.
    pub(crate) fn as_slice(&self) -> &[(u32, u32)] {
        // By the type invariant `n <= SG_MAX`.
        &self.e[..self.n.min(SG_MAX)]
    }
}

/// A descriptor: what it moves and its program.
pub(crate) struct Xfer {
    pub(crate) kind: Kind,
    pub(crate) len: u32,
    pub(crate) mc: [u8; MC_SLOT],
    pub(crate) mc_len: usize,
}

/// The device side of a peripheral transfer, checked.
#[derive(Clone, Copy)]
pub(crate) struct Periph {
    /// The request line (`DMAWFP`, `DMALDP`, `DMASTP`, `DMAFLUSHP`).
    pub(crate) line: u32,
    /// The FIFO's bus address.
    pub(crate) addr: u32,
    /// Beat size in bytes: the FIFO's access width.
    pub(crate) width: u32,
    /// Beats per burst (1 to 16).
    pub(crate) burst: u32,
    pub(crate) dir: Direction,
}

/// The bus widths, in bytes, a slave configuration may ask for: a beat of
/// 1 to 8 bytes, within the 64-bit AXI bus of the PL330s this driver has
/// met (a narrower bus is checked at prep).
pub(crate) const WIDTHS: &[u32] = &[1, 2, 4, 8];
/// The longest burst: 16 beats (CCR's burst length has 4 bits).
pub(crate) const MAX_BURST: u32 = 16;

impl Periph {
    /// Checks a transfer's device side against the controller.
    pub(crate) fn new(
        geo: &Geometry,
        line: Option<u32>,
        dir: Direction,
        dev: &DevSide,
    ) -> Result<Self> {
        let Some(line) = line else {
            pr_err!(
                "this channel has no peripheral request line: request a channel \
                 by its device-tree line (dmas = <&dma N>) for slave or cyclic transfers\n"
            );
            return Err(EINVAL);
        };
        let Some(addr) = bus32(dev.addr) else {
            pr_err!("the FIFO address {:#x} is above 4 GiB\n", dev.addr);
            return Err(EINVAL);
        };
        if !WIDTHS.contains(&dev.width) || dev.width > geo.bus_bytes {
            pr_err!(
                "a FIFO width of {} bytes is not possible on a {}-byte bus\n",
                dev.width,
                geo.bus_bytes
            );
            return Err(EINVAL);
        }
        let burst = dev.burst.max(1);
        if burst > MAX_BURST {
            pr_err!("a burst of {burst} beats: the PL330 does 1 to {MAX_BURST}\n");
            return Err(EINVAL);
        }
        Ok(Self {
            line,
            addr,
            width: dev.width,
            burst,
            dir,
        })
    }

    /// CCR for `blen`-beat bursts: the memory side increments, the
    /// FIFO's does not.
    fn ccr(&self, geo: &Geometry, blen: u32) -> u32 {
        let size = self.width.trailing_zeros();
        let inc = match self.dir {
            Direction::DevToMem => 1 << 14,
            _ => 1,
        };
        inc | (size << 1) | ((blen - 1) << 4) | (size << 15) | ((blen - 1) << 18) | ns_bits(geo)
    }

    /// The registers of the memory side and of the FIFO.
    fn regs(&self) -> (MovReg, MovReg) {
        match self.dir {
            Direction::DevToMem => (MovReg::Dar, MovReg::Sar),
            _ => (MovReg::Sar, MovReg::Dar),
        }
    }

    /// Bytes per full burst.
    fn burst_bytes(&self) -> u32 {
        self.width * self.burst
    }

    /// Whether `len` bytes take one loop (counter 1) at most.
    fn one_level(&self, len: u32) -> bool {
        len / self.burst_bytes() <= 256
    }

    /// The program of `len` bytes at the memory address already in the
    /// memory-side register: full bursts, then one shorter burst of the
    /// beats left, with CCR left for full bursts.  Uses loop counter 1
    /// only if `one_level` (which [`Periph::one_level`] allows).
    fn moves(&self, mc: &mut Mc<'_>, geo: &Geometry, len: u32, one_level: bool) -> Result {
        let n = len / self.burst_bytes();
        let rest = (len % self.burst_bytes()) / self.width;
        if n > 0 {
            let cond = if self.burst > 1 {
                Cond::Burst
            } else {
                Cond::Single
            };
            mc.periph_bursts(n, self.line, self.dir, cond, one_level)?;
        }
        if rest > 0 {
            mc.mov(MovReg::Ccr, self.ccr(geo, rest))?;
            mc.periph_bursts(1, self.line, self.dir, Cond::Burst, true)?;
            mc.mov(MovReg::Ccr, self.ccr(geo, self.burst))?;
        }
        Ok(())
    }
}

/// CCR's non-secure bits, when the manager is non-secure.
fn ns_bits(geo: &Geometry) -> u32 {
    if geo.ns {
        (1 << 9) | (1 << 23)
    } else {
        0
    }
}

impl Xfer {
    fn empty(kind: Kind, len: u32) -> Self {
        Self {
            kind,
            len,
            mc: [0; MC_SLOT],
            mc_len: 0,
        }
    }

    /// Generates the program of a copy of `len` bytes on thread `ch`.
    pub(crate) fn memcpy(hw: &Geometry, ch: u32, dst: u32, src: u32, len: u32) -> Result<Self> {
        // Beat size: the widest that divides both addresses and the
        // length, up to the bus width.
        let mut bsize = hw.bus_bytes;
        while (src | dst | len) & (bsize - 1) != 0 {
            bsize /= 2;
        }
        // Beats per burst: the channel's share of the MFIFO, at most 16;
        // one beat when the beat is narrower than the bus, so that a burst
        // never straddles an MFIFO line (as drivers/dma/pl330.c does).
        let blen = if bsize < hw.bus_bytes {
            1
        } else {
            (hw.bus_bytes * (hw.buf_dep / hw.nchan) / bsize).clamp(1, 16)
        };
        let ccr = |blen: u32| {
            let size = bsize.trailing_zeros();
            // SRC_INC, DST_INC; sizes and burst lengths; non-secure bits.
            1 | (1 << 14)
                | (size << 1)
                | ((blen - 1) << 4)
                | (size << 15)
                | ((blen - 1) << 18)
                | ns_bits(hw)
        };
        let burst = bsize * blen;
        let mut x = Self::empty(Kind::Memcpy { dst, src }, len);
        let mut mc = Mc::new(&mut x.mc);
        mc.mov(MovReg::Ccr, ccr(blen))?;
        mc.mov(MovReg::Sar, src)?;
        mc.mov(MovReg::Dar, dst)?;
        mc.bursts(len / burst)?;
        let dregs = (len % burst) / bsize;
        if dregs > 0 {
            mc.mov(MovReg::Ccr, ccr(dregs))?;
            mc.burst()?;
        }
        mc.finish(ch)?;
        x.mc_len = mc.off;
        Ok(x)
    }

    /// Generates the program of a slave transfer of `sgl` on thread `ch`.
    /// `E2BIG` for a list whose program does not fit [`MC_SLOT`] bytes,
    /// which a list of more than [`SG_MAX`] entries never does.
    pub(crate) fn slave(geo: &Geometry, ch: u32, p: &Periph, sgl: &[SgEntry]) -> Result<Self> {
        if sgl.len() > SG_MAX {
            return Err(E2BIG);
        }
        // INVARIANT: at most `SG_MAX` entries, checked just above.
        let mut entries = Sgl {
            n: sgl.len(),
            e: [(0, 0); SG_MAX],
        };
        let mut len: u32 = 0;
        for (e, slot) in sgl.iter().zip(entries.e.iter_mut()) {
            let addr = bus32(e.addr).ok_or(EINVAL)?;
            if e.len % p.width != 0 || addr.checked_add(e.len).is_none() {
                pr_err!(
                    "a scatter-gather entry of {} bytes at {addr:#x}: lengths must \
                     be whole beats of {} bytes, below 4 GiB\n",
                    e.len,
                    p.width
                );
                return Err(EINVAL);
            }
            len = len.checked_add(e.len).ok_or(EINVAL)?;
            *slot = (addr, e.len);
        }
        let mut x = Self::empty(
            Kind::Slave {
                p: *p,
                sgl: entries,
            },
            len,
        );
        let Kind::Slave { sgl, .. } = &x.kind else {
            return Err(EINVAL);
        };
        x.mc_len = slave_program(
            &mut Mc::new(&mut x.mc),
            geo,
            ch,
            p,
            sgl.as_slice().iter().copied(),
        )?;
        Ok(x)
    }

    /// Generates the program of a cyclic transfer on thread `ch`: one lap
    /// of the buffer from its start, with `DMASEV` after each period, and
    /// `DMAEND` after the last.
    pub(crate) fn cyclic(
        geo: &Geometry,
        ch: u32,
        p: &Periph,
        buf: u32,
        len: u32,
        period: u32,
    ) -> Result<Self> {
        if period % p.width != 0 || buf.checked_add(len).is_none() {
            pr_err!(
                "a cyclic period of {period} bytes: periods must be whole beats \
                 of {} bytes, the buffer below 4 GiB\n",
                p.width
            );
            return Err(EINVAL);
        }
        let mut x = Self::empty(Kind::Cyclic { p: *p, buf, period }, len);
        x.mc_len = cyclic_program(&mut Mc::new(&mut x.mc), geo, ch, p, buf, len, period, 0)?;
        Ok(x)
    }

    /// The program of the rest of this descriptor on thread `t`, from
    /// `done` bytes on (a paused transfer, `done` a whole number of beats
    /// below its length), into `buf`; its length.  A cyclic transfer's
    /// rest is the rest of its lap: the next lap is the whole program
    /// again.
    pub(crate) fn rest_program(
        &self,
        geo: &Geometry,
        t: u32,
        done: u32,
        buf: &mut [u8; MC_SLOT],
    ) -> Result<usize> {
        let rest = self
            .len
            .checked_sub(done)
            .filter(|&r| r > 0)
            .ok_or(EINVAL)?;
        match &self.kind {
            Kind::Memcpy { dst, src } => {
                let x = Xfer::memcpy(geo, t, dst + done, src + done, rest)?;
                buf.copy_from_slice(&x.mc);
                Ok(x.mc_len)
            }
            Kind::Slave { p, sgl } => {
                let mut skip = done;
                let entries = sgl.as_slice().iter().filter_map(move |&(a, l)| {
                    if skip >= l {
                        skip -= l;
                        return None;
                    }
                    let e = (a + skip, l - skip);
                    skip = 0;
                    Some(e)
                });
                slave_program(&mut Mc::new(buf), geo, t, p, entries)
            }
            Kind::Cyclic { p, buf: b, period } => {
                cyclic_program(&mut Mc::new(buf), geo, t, p, *b, self.len, *period, done)
            }
        }
    }

    /// The memory-side register's idea of the bytes done: the
    /// destination for memcpy and captures, the source for playback.
    fn mem_reg(&self, hw: &Hw, t: u32) -> u32 {
        match &self.kind {
            Kind::Slave { p, .. } | Kind::Cyclic { p, .. } if p.dir == Direction::DevToMem => {
                hw.dar(t)
            }
            Kind::Memcpy { .. } => hw.dar(t),
            _ => hw.sar(t),
        }
    }

    /// The bytes of the program, up to the `DMAMOV` of the memory side's
    /// address register: a thread stopped before it has done nothing of
    /// this descriptor.
    pub(crate) fn prefix(&self) -> u32 {
        match self.kind {
            // CCR, SAR, DAR.
            Kind::Memcpy { .. } => 18,
            // CCR, the FIFO, DMAFLUSHP, the memory side.
            _ => 20,
        }
    }

    /// The bytes done on thread `t`, stopped, whose program counter is
    /// `pc_off` bytes into the program: 0 before the memory side's address
    /// register was set; for a cyclic transfer, in its lap.
    pub(crate) fn done(&self, hw: &Hw, t: u32, pc_off: u32) -> u32 {
        if pc_off < self.prefix() {
            return 0;
        }
        match self.lap(hw, t) {
            Some((d, _)) => d,
            None => self.len - self.progress(hw, t).0,
        }
    }

    /// A cyclic transfer's period length.
    pub(crate) fn period(&self) -> Option<u32> {
        match self.kind {
            Kind::Cyclic { period, .. } => Some(period),
            _ => None,
        }
    }

    /// A cyclic descriptor's progress in its lap on thread `t`: the bytes
    /// done (up to the whole buffer), and the periods they make.
    pub(crate) fn lap(&self, hw: &Hw, t: u32) -> Option<(u32, u32)> {
        let Kind::Cyclic { buf, period, .. } = self.kind else {
            return None;
        };
        let d = Some(self.mem_reg(hw, t).wrapping_sub(buf))
            .filter(|&d| d <= self.len)
            .unwrap_or(0);
        Some((d, d / period))
    }

    /// The bytes of this descriptor, running on thread `t`, not yet
    /// transferred (burst granularity), and of those the bytes read but not
    /// yet written (memcpy only: they wait in the MFIFO).
    pub(crate) fn progress(&self, hw: &Hw, t: u32) -> (u32, u32) {
        let reg = self.mem_reg(hw, t);
        // Before the program's `DMAMOV` a register may hold anything: then
        // nothing is done.
        let within = |base: u32, len: u32| Some(reg.wrapping_sub(base)).filter(|&d| d <= len);
        match &self.kind {
            Kind::Memcpy { dst, src } => {
                let written = within(*dst, self.len).unwrap_or(0);
                let read = Some(hw.sar(t).wrapping_sub(*src))
                    .filter(|&d| d <= self.len)
                    .unwrap_or(0);
                (self.len - written, read.saturating_sub(written))
            }
            Kind::Slave { sgl, .. } => {
                // The first entry that holds the address: where the thread
                // is, or, if entries overlap, no further than it.
                let mut before = 0u32;
                for &(a, l) in sgl.as_slice() {
                    if let Some(d) = within(a, l) {
                        return (self.len - before - d, 0);
                    }
                    before += l;
                }
                (self.len, 0)
            }
            Kind::Cyclic { buf, .. } => match within(*buf, self.len) {
                Some(d) if d < self.len => (self.len - d, 0),
                _ => (self.len, 0),
            },
        }
    }
}

/// Writes a slave program over `entries` (memory address, length) on
/// thread `t`; its length.
fn slave_program(
    mc: &mut Mc<'_>,
    geo: &Geometry,
    t: u32,
    p: &Periph,
    entries: impl Iterator<Item = (u32, u32)>,
) -> Result<usize> {
    let (mem, fifo) = p.regs();
    mc.mov(MovReg::Ccr, p.ccr(geo, p.burst))?;
    mc.mov(fifo, p.addr)?;
    // Stale requests go before the first `DMAWFP`.
    mc.flushp(p.line)?;
    for (addr, len) in entries {
        mc.mov(mem, addr)?;
        p.moves(mc, geo, len, false)?;
    }
    mc.finish(t)?;
    Ok(mc.off)
}

/// Writes a cyclic program on thread `t`: the lap of the buffer `buf` of
/// `len` bytes from `done` bytes on (0: the whole lap), with `DMASEV` at
/// the end of each period, and `DMAEND` after the last; its length.
#[allow(clippy::too_many_arguments)]
fn cyclic_program(
    mc: &mut Mc<'_>,
    geo: &Geometry,
    t: u32,
    p: &Periph,
    buf: u32,
    len: u32,
    period: u32,
    done: u32,
) -> Result<usize> {
    let (mem, fifo) = p.regs();
    mc.mov(MovReg::Ccr, p.ccr(geo, p.burst))?;
    mc.mov(fifo, p.addr)?;
    mc.flushp(p.line)?;
    mc.mov(mem, buf + done)?;
    // The rest of a period a pause cut.
    let cut = done % period;
    if cut > 0 {
        p.moves(mc, geo, period - cut, false)?;
        mc.sev(t)?;
    }
    let periods = (len - done - (period - cut) % period) / period;
    // A period in loops of counter 1 only: then counter 0 loops over the
    // periods.  Otherwise the periods are written out.
    if p.one_level(period) && periods <= 256 {
        let body = mc.off + 2;
        if periods > 1 {
            mc.lp(0, periods)?;
        }
        if periods > 0 {
            p.moves(mc, geo, period, true)?;
            mc.sev(t)?;
        }
        if periods > 1 {
            mc.lpend(0, body)?;
        }
    } else {
        for _ in 0..periods {
            p.moves(mc, geo, period, false)?;
            mc.sev(t)?;
        }
    }
    mc.end()?;
    Ok(mc.off)
}
