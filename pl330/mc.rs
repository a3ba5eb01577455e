// SPDX-License-Identifier: GPL-2.0

//! Channel programs: the microcode the driver writes for a transfer, and
//! its KUnit interpreter.

use super::*;

/// Bytes of microcode per channel; a descriptor's program must fit.
pub(crate) const MC_SLOT: usize = 512;

/// `v` as a 32-bit bus address or length, which is all the PL330 has.
///
/// Generic because `dma_addr_t` and `usize` are 32-bit on arm and 64-bit on
/// arm64, where a direct `u32::try_from` would be a no-op on one of them.
pub(crate) fn bus32<T: TryInto<u32>>(v: T) -> Option<u32> {
    v.try_into().ok()
}

/// The instruction set (DDI 0424, chapter 4): the encodings this driver
/// emits, into a microcode buffer.
pub(crate) struct Mc<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) off: usize,
}

/// The condition of a peripheral instruction: after a `DMAWFP` of the
/// same kind it runs, otherwise it is a no-op.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cond {
    Single,
    Burst,
}

/// `DMAMOV` destination registers.
#[derive(Clone, Copy)]
#[repr(u8)]
pub(crate) enum MovReg {
    Sar = 0,
    Ccr = 1,
    Dar = 2,
}

impl<'a> Mc<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, off: 0 }
    }

    pub(crate) fn emit(&mut self, bytes: &[u8]) -> Result {
        let end = self.off + bytes.len();
        let slot = self.buf.get_mut(self.off..end).ok_or(E2BIG)?;
        slot.copy_from_slice(bytes);
        self.off = end;
        Ok(())
    }

    /// `DMAMOV rd, imm32`.
    pub(crate) fn mov(&mut self, rd: MovReg, v: u32) -> Result {
        let b = v.to_le_bytes();
        self.emit(&[0xbc, rd as u8, b[0], b[1], b[2], b[3]])
    }

    /// `DMALP lc, n` (1 to 256 iterations).
    pub(crate) fn lp(&mut self, lc: u8, n: u32) -> Result {
        // CAST: `n - 1` is in 0..=255 (checked by the caller's loop split).
        self.emit(&[0x20 | (lc << 1), (n - 1) as u8])
    }

    /// `DMALPEND lc` back to `body`, the offset after the matching `DMALP`.
    pub(crate) fn lpend(&mut self, lc: u8, body: usize) -> Result {
        let jump = u8::try_from(self.off - body).map_err(|_| E2BIG)?;
        // nf (bit 4): not forever; bs = 0: always.
        self.emit(&[0x38 | (lc << 2), jump])
    }

    /// `DMALD` then `DMAST`: one burst through the MFIFO.
    pub(crate) fn burst(&mut self) -> Result {
        self.emit(&[0x04, 0x08])
    }

    /// `DMAWMB`, `DMASEV ev`, `DMAEND`: the writes are complete before the
    /// event, and the event is the last thing the program does.
    pub(crate) fn finish(&mut self, ev: u32) -> Result {
        self.sev(ev)?;
        self.end()
    }

    /// `DMAWMB`, `DMASEV ev`: the writes so far are complete before the
    /// event.
    pub(crate) fn sev(&mut self, ev: u32) -> Result {
        // CAST: events are 0..32; the encoding has 5 bits.
        self.emit(&[0x13, 0x34, ((ev & 0x1f) << 3) as u8])
    }

    /// `DMAEND`.
    pub(crate) fn end(&mut self) -> Result {
        self.emit(&[0x00])
    }

    /// `DMAFLUSHP line`: clears the request interface's state.
    pub(crate) fn flushp(&mut self, line: u32) -> Result {
        // CAST: request lines are 0..32; the encoding has 5 bits.
        self.emit(&[0x35, ((line & 0x1f) << 3) as u8])
    }

    /// One burst over request line `line`: `DMAWFP`, then the load and the
    /// store, the device side's with the peripheral flavour (`DMALDP`
    /// from a capture's FIFO, `DMASTP` to a playback's), under `cond`.
    pub(crate) fn periph_burst(&mut self, line: u32, dir: Direction, cond: Cond) -> Result {
        // CAST: request lines are 0..32; the encoding has 5 bits.
        let p = ((line & 0x1f) << 3) as u8;
        let bs = u8::from(cond == Cond::Burst) << 1;
        self.emit(&[0x30 | bs, p])?;
        match dir {
            // DMALDP<S|B>, DMAST.
            Direction::DevToMem => self.emit(&[0x25 | bs, p, 0x08]),
            // DMALD, DMASTP<S|B>.
            _ => self.emit(&[0x04, 0x29 | bs, p]),
        }
    }

    /// `n` peripheral bursts (see [`Mc::periph_burst`]), in loops of up to
    /// 256 x 256; with `one_level`, `n` is at most 256 and only loop
    /// counter 1 is used.
    pub(crate) fn periph_bursts(
        &mut self,
        n: u32,
        line: u32,
        dir: Direction,
        cond: Cond,
        one_level: bool,
    ) -> Result {
        if one_level && n > 256 {
            return Err(E2BIG);
        }
        self.loops(n, |mc| mc.periph_burst(line, dir, cond))
    }

    /// `n` bursts, in loops of up to 256 x 256.
    pub(crate) fn bursts(&mut self, n: u32) -> Result {
        self.loops(n, |mc| mc.burst())
    }

    /// `n` times `body`, in loops of up to 256 x 256 (counter 1 inside,
    /// counter 0 outside, only where `n` is above 256).
    pub(crate) fn loops(&mut self, mut n: u32, body: impl Fn(&mut Self) -> Result) -> Result {
        while n > 0 {
            let (outer, inner) = match n {
                65536.. => (256, 256),
                257.. => (n / 256, 256),
                _ => (1, n),
            };
            if inner == 1 {
                body(self)?;
            } else {
                let o = self.off + 2;
                if outer > 1 {
                    self.lp(0, outer)?;
                }
                self.lp(1, inner)?;
                let b = self.off;
                body(self)?;
                self.lpend(1, b)?;
                if outer > 1 {
                    self.lpend(0, o)?;
                }
            }
            n -= outer * inner;
        }
        Ok(())
    }
}

#[kunit_tests(rust_pl330_microcode)]
mod tests {
    use super::*;

    /// Zynq's PL330 as QEMU models it.
    const ZYNQ: Geometry = Geometry {
        nchan: 8,
        ns: false,
        bus_bytes: 8,
        buf_dep: 256,
    };

    /// What a program did, by a small interpreter of the instructions the
    /// driver emits (DDI 0424 semantics: `DMALP` loads n - 1, `DMALPEND`
    /// jumps back while the counter is not zero, decrementing it; a
    /// conditional load or store runs only after a `DMAWFP` of its kind).
    struct Run {
        sar: u32,
        dar: u32,
        loaded: u64,
        stored: u64,
        /// Bursts that used the request line (`DMALDP`/`DMASTP`).
        periph: u64,
        /// `DMAWFP`s, and the request line of the last one.
        waits: u64,
        line: u32,
        event: u32,
        events: u32,
    }

    fn burst_bytes(ccr: u32, shift: u32) -> u64 {
        let size = 1u64 << ((ccr >> (shift + 1)) & 0x7);
        let len = u64::from((ccr >> (shift + 4)) & 0xf) + 1;
        size * len
    }

    /// Runs `prog` until `DMAEND`, or until its `max_events`th event.
    fn run(prog: &[u8], max_events: u32) -> Result<Run> {
        let (mut pc, mut ccr, mut steps) = (0usize, 0u32, 0u32);
        let mut lc = [0u32; 2];
        // The last `DMAWFP`'s kind: 0 single, 2 burst (its `bs` bit).
        let mut flag = 0u8;
        let mut r = Run {
            sar: 0,
            dar: 0,
            loaded: 0,
            stored: 0,
            periph: 0,
            waits: 0,
            line: u32::MAX,
            event: u32::MAX,
            events: 0,
        };
        let at = |i: usize| prog.get(i).copied().ok_or(EINVAL);
        loop {
            steps += 1;
            if steps > 20_000_000 {
                return Err(ELOOP);
            }
            let op = at(pc)?;
            // A conditional instruction whose condition is not met.
            let skip = op & 1 != 0 && (op & 2) != flag;
            match op {
                0xbc => {
                    let v =
                        u32::from_le_bytes([at(pc + 2)?, at(pc + 3)?, at(pc + 4)?, at(pc + 5)?]);
                    match at(pc + 1)? {
                        0 => r.sar = v,
                        1 => ccr = v,
                        2 => r.dar = v,
                        _ => return Err(EINVAL),
                    }
                    pc += 6;
                }
                op @ (0x20 | 0x22) => {
                    lc[usize::from((op >> 1) & 1)] = u32::from(at(pc + 1)?);
                    pc += 2;
                }
                op @ (0x38 | 0x3c) => {
                    let l = usize::from((op >> 2) & 1);
                    if lc[l] != 0 {
                        lc[l] -= 1;
                        pc -= usize::from(at(pc + 1)?);
                    } else {
                        pc += 2;
                    }
                }
                0x30 | 0x32 => {
                    flag = op & 2;
                    r.waits += 1;
                    r.line = u32::from(at(pc + 1)? >> 3);
                    pc += 2;
                }
                0x04 | 0x05 | 0x07 | 0x25 | 0x27 => {
                    if op & 0x20 != 0 && !skip {
                        r.periph += 1;
                    }
                    if !skip {
                        // CAST: a burst is at most 16 x 128 bytes.
                        let n = burst_bytes(ccr, 0);
                        if ccr & 1 != 0 {
                            r.sar = r.sar.wrapping_add(n as u32);
                        }
                        r.loaded += n;
                    }
                    pc += if op & 0x20 != 0 { 2 } else { 1 };
                }
                0x08 | 0x09 | 0x0b | 0x29 | 0x2b => {
                    if op & 0x20 != 0 && !skip {
                        r.periph += 1;
                    }
                    if !skip {
                        let n = burst_bytes(ccr, 14);
                        if ccr & (1 << 14) != 0 {
                            r.dar = r.dar.wrapping_add(n as u32);
                        }
                        r.stored += n;
                        if r.stored > r.loaded {
                            // The MFIFO would run dry.
                            return Err(EIO);
                        }
                    }
                    pc += if op & 0x20 != 0 { 2 } else { 1 };
                }
                0x35 => pc += 2,
                0x12 | 0x13 => pc += 1,
                0x34 => {
                    r.event = u32::from(at(pc + 1)? >> 3);
                    r.events += 1;
                    pc += 2;
                    if r.events == max_events {
                        return Ok(r);
                    }
                }
                0x00 => return Ok(r),
                _ => return Err(EINVAL),
            }
        }
    }

    fn check(geo: &Geometry, ch: u32, dst: u32, src: u32, len: u32) -> Result {
        let x = Xfer::memcpy(geo, ch, dst, src, len)?;
        assert!(x.mc_len <= MC_SLOT);
        let r = run(&x.mc[..x.mc_len], 0)?;
        assert_eq!(r.loaded, u64::from(len));
        assert_eq!(r.stored, u64::from(len));
        assert_eq!(r.sar, src + len);
        assert_eq!(r.dar, dst + len);
        assert_eq!(r.event, ch);
        assert_eq!(r.periph, 0);
        assert!(matches!(x.kind, Kind::Memcpy { dst: d, .. } if d == dst));
        assert_eq!(x.len, len);
        Ok(())
    }

    fn periph(line: u32, dir: Direction, width: u32, burst: u32) -> Result<Periph> {
        let dev = DevSide {
            addr: 0x1381_0020,
            width,
            burst,
        };
        Periph::new(&ZYNQ, Some(line), dir, &dev)
    }

    #[test]
    fn slave_programs_move_every_byte_over_the_request_line() -> Result {
        for dir in [Direction::MemToDev, Direction::DevToMem] {
            for (width, burst) in [(1u32, 1u32), (1, 4), (4, 1), (4, 4), (4, 16), (8, 16)] {
                let p = periph(16, dir, width, burst)?;
                for lens in [[width, 0], [width * 100, width * 3], [4096, 4096 + width]] {
                    let mut sgl = KVec::new();
                    for (i, &len) in lens.iter().enumerate() {
                        if len > 0 {
                            // CAST: `i` < 2.
                            let addr = 0x4000_0000 + 0x10_0000 * i as DmaAddress;
                            sgl.push(SgEntry { addr, len }, GFP_KERNEL)?;
                        }
                    }
                    let x = Xfer::slave(&ZYNQ, 3, &p, &sgl)?;
                    let r = run(&x.mc[..x.mc_len], 0)?;
                    let total: u32 = sgl.iter().map(|e| e.len).sum();
                    assert_eq!(x.len, total);
                    assert_eq!(r.loaded, u64::from(total));
                    assert_eq!(r.stored, u64::from(total));
                    assert_eq!(r.line, 16);
                    assert_eq!(r.event, 3);
                    // One request, and one peripheral load or store, per
                    // burst.
                    assert_eq!(r.periph, r.waits);
                    let bursts: u32 = sgl.iter().map(|e| e.len.div_ceil(width * burst)).sum();
                    assert_eq!(r.waits, u64::from(bursts));
                    // The FIFO's address stays; the memory side ends past
                    // the last entry.
                    let last = sgl
                        .iter()
                        .last()
                        .map_or(0, |e| bus32(e.addr).unwrap_or(0) + e.len);
                    let (mem, fifo) = match dir {
                        Direction::DevToMem => (r.dar, r.sar),
                        _ => (r.sar, r.dar),
                    };
                    assert_eq!(fifo, 0x1381_0020);
                    assert_eq!(mem, last);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn cyclic_programs_make_a_lap_with_an_event_per_period() -> Result {
        for dir in [Direction::MemToDev, Direction::DevToMem] {
            for (width, burst, period, periods) in [
                (4u32, 4u32, 1024u32, 4u32),
                (4, 1, 1024, 2),
                (2, 1, 4096, 4),
                (4, 16, 64, 256),
                (1, 1, 6, 3),
            ] {
                let p = periph(5, dir, width, burst)?;
                let len = period * periods;
                let x = Xfer::cyclic(&ZYNQ, 7, &p, 0x5000_0000, len, period)?;
                // One lap, an event per period, then `DMAEND`.
                let r = run(&x.mc[..x.mc_len], 0)?;
                assert_eq!(r.events, periods);
                assert_eq!(r.event, 7);
                assert_eq!(r.stored, u64::from(len));
                assert_eq!(r.waits, r.periph);
                let mem = match dir {
                    Direction::DevToMem => r.dar,
                    _ => r.sar,
                };
                assert_eq!(mem, 0x5000_0000 + len);
            }
        }
        Ok(())
    }

    #[test]
    fn rest_programs_move_what_a_pause_left() -> Result {
        let mut buf = [0u8; MC_SLOT];
        // memcpy: the rest of a copy, from where the destination was.
        let x = Xfer::memcpy(&ZYNQ, 2, 0x1000_0000, 0x2000_0000, 4096)?;
        let n = x.rest_program(&ZYNQ, 2, 1024, &mut buf)?;
        let r = run(&buf[..n], 0)?;
        assert_eq!((r.stored, r.dar, r.sar), (3072, 0x1000_1000, 0x2000_1000));
        for dir in [Direction::MemToDev, Direction::DevToMem] {
            let p = periph(9, dir, 4, 4)?;
            // slave: two entries, paused in the second.
            let mut sgl = KVec::new();
            sgl.push(
                SgEntry {
                    addr: 0x4000_0000,
                    len: 4096,
                },
                GFP_KERNEL,
            )?;
            sgl.push(
                SgEntry {
                    addr: 0x4800_0000,
                    len: 1024,
                },
                GFP_KERNEL,
            )?;
            let x = Xfer::slave(&ZYNQ, 3, &p, &sgl)?;
            let n = x.rest_program(&ZYNQ, 3, 4096 + 512, &mut buf)?;
            let r = run(&buf[..n], 0)?;
            let mem = if dir == Direction::DevToMem {
                r.dar
            } else {
                r.sar
            };
            assert_eq!((r.stored, mem, r.event), (512, 0x4800_0400, 3));
            // cyclic: paused in the second of four periods: the rest of
            // it, then two periods, an event after each, then DMAEND.
            let x = Xfer::cyclic(&ZYNQ, 5, &p, 0x5000_0000, 4096, 1024)?;
            let n = x.rest_program(&ZYNQ, 5, 1536, &mut buf)?;
            let r = run(&buf[..n], 0)?;
            let mem = if dir == Direction::DevToMem {
                r.dar
            } else {
                r.sar
            };
            assert_eq!((r.stored, r.events, mem), (2560, 3, 0x5000_1000));
            // Paused on a period's end: the periods left.
            let n = x.rest_program(&ZYNQ, 5, 3072, &mut buf)?;
            let r = run(&buf[..n], 0)?;
            assert_eq!((r.stored, r.events), (1024, 1));
            // Nothing left is no program.
            assert!(x.rest_program(&ZYNQ, 5, 4096, &mut buf).is_err());
        }
        Ok(())
    }

    #[test]
    fn bad_slave_configurations_are_refused() {
        assert!(periph(0, Direction::MemToDev, 3, 1).is_err());
        assert!(periph(0, Direction::MemToDev, 16, 1).is_err());
        assert!(periph(0, Direction::MemToDev, 4, 17).is_err());
        let dev = DevSide {
            addr: 0x1000,
            width: 4,
            burst: 1,
        };
        // A channel with no request line.
        assert!(Periph::new(&ZYNQ, None, Direction::DevToMem, &dev).is_err());
        // A length that is not whole beats.
        let Ok(p) = periph(0, Direction::DevToMem, 4, 1) else {
            return;
        };
        let mut sgl = KVec::new();
        let _ = sgl.push(
            SgEntry {
                addr: 0x1000,
                len: 6,
            },
            GFP_KERNEL,
        );
        assert!(Xfer::slave(&ZYNQ, 0, &p, &sgl).is_err());
        // A list whose program does not fit the slot.
        let mut long = KVec::new();
        for i in 0..200 {
            let _ = long.push(
                SgEntry {
                    addr: 0x1000 + 0x100 * i,
                    len: 12,
                },
                GFP_KERNEL,
            );
        }
        assert!(Xfer::slave(&ZYNQ, 0, &p, &long).is_err());
    }

    #[test]
    fn sg_max_shortest_entries_fill_the_slot() -> Result {
        // `SG_MAX` one-beat entries fit, and one more of the shortest kind
        // (11 bytes) would not: a longer list never fits, so refusing it
        // up front loses nothing.
        for dir in [Direction::MemToDev, Direction::DevToMem] {
            let p = periph(1, dir, 1, 1)?;
            let mut sgl = KVec::new();
            for i in 0..SG_MAX {
                // CAST: `i` < `SG_MAX`.
                let addr = 0x1000 + 0x100 * i as DmaAddress;
                sgl.push(SgEntry { addr, len: 1 }, GFP_KERNEL)?;
            }
            let x = Xfer::slave(&ZYNQ, 0, &p, &sgl)?;
            assert!(x.mc_len + 11 > MC_SLOT);
            assert_eq!(run(&x.mc[..x.mc_len], 0)?.stored, SG_MAX as u64);
            sgl.push(
                SgEntry {
                    addr: 0x8000,
                    len: 1,
                },
                GFP_KERNEL,
            )?;
            assert!(matches!(Xfer::slave(&ZYNQ, 0, &p, &sgl), Err(e) if e == E2BIG));
        }
        Ok(())
    }

    #[test]
    fn memcpy_programs_copy_exactly_len_bytes() -> Result {
        let lens = [
            1u32,
            3,
            8,
            128,
            129,
            255,
            256 * 128,
            4096,
            16383,
            16384,
            65536 * 3 + 5,
            1 << 20,
            (1 << 20) + 1,
        ];
        for (i, len) in lens.into_iter().enumerate() {
            // CAST: `i` < 16.
            let ch = i as u32 % 8;
            // Aligned, and both unaligned ways.
            check(&ZYNQ, ch, 0x1000_0000, 0x2000_0000, len)?;
            check(&ZYNQ, ch, 0x1000_0001, 0x2000_0000, len)?;
            check(&ZYNQ, ch, 0x1000_0000, 0x2000_0006, len)?;
        }
        Ok(())
    }

    #[test]
    fn memcpy_on_a_narrow_bus_and_one_channel() -> Result {
        let geo = Geometry {
            nchan: 1,
            ns: true,
            bus_bytes: 4,
            buf_dep: 16,
        };
        for len in [4u32, 60, 64, 68, 1000, 1 << 16] {
            check(&geo, 0, 0x4000_0000, 0x5000_0000, len)?;
        }
        Ok(())
    }

    #[test]
    fn a_program_that_does_not_fit_is_refused() {
        // 64 MiB in 1-byte bursts needs 1024 loop nests: more than a slot.
        assert!(Xfer::memcpy(&ZYNQ, 0, 0x1000_0001, 0x2000_0000, 64 << 20).is_err());
    }
}
