// SPDX-License-Identifier: GPL-2.0

//! Channel programs: the microcode the driver writes for a transfer, and
//! its KUnit interpreter.

use super::*;

/// Bytes of microcode per channel; a descriptor's program must fit.
pub(crate) const MC_SLOT: usize = 256;

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
        // CAST: events are 0..32; the encoding has 5 bits.
        self.emit(&[0x13, 0x34, ((ev & 0x1f) << 3) as u8, 0x00])
    }

    /// `n` bursts, in loops of up to 256 x 256.
    pub(crate) fn bursts(&mut self, mut n: u32) -> Result {
        while n > 0 {
            let (outer, inner) = match n {
                65536.. => (256, 256),
                257.. => (n / 256, 256),
                _ => (1, n),
            };
            if inner == 1 {
                self.burst()?;
            } else {
                let o = self.off + 2;
                if outer > 1 {
                    self.lp(0, outer)?;
                }
                self.lp(1, inner)?;
                let b = self.off;
                self.burst()?;
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
    /// jumps back while the counter is not zero, decrementing it).
    struct Run {
        sar: u32,
        dar: u32,
        loaded: u64,
        stored: u64,
        event: u32,
    }

    fn burst_bytes(ccr: u32, shift: u32) -> u64 {
        let size = 1u64 << ((ccr >> (shift + 1)) & 0x7);
        let len = u64::from((ccr >> (shift + 4)) & 0xf) + 1;
        size * len
    }

    fn run(prog: &[u8]) -> Result<Run> {
        let (mut pc, mut ccr, mut steps) = (0usize, 0u32, 0u32);
        let mut lc = [0u32; 2];
        let mut r = Run {
            sar: 0,
            dar: 0,
            loaded: 0,
            stored: 0,
            event: u32::MAX,
        };
        let at = |i: usize| prog.get(i).copied().ok_or(EINVAL);
        loop {
            steps += 1;
            if steps > 20_000_000 {
                return Err(ELOOP);
            }
            match at(pc)? {
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
                0x04 => {
                    // CAST: a burst is at most 16 x 128 bytes.
                    let n = burst_bytes(ccr, 0);
                    r.sar = r.sar.wrapping_add(n as u32);
                    r.loaded += n;
                    pc += 1;
                }
                0x08 => {
                    let n = burst_bytes(ccr, 14);
                    r.dar = r.dar.wrapping_add(n as u32);
                    r.stored += n;
                    if r.stored > r.loaded {
                        // The MFIFO would run dry.
                        return Err(EIO);
                    }
                    pc += 1;
                }
                0x13 => pc += 1,
                0x34 => {
                    r.event = u32::from(at(pc + 1)? >> 3);
                    pc += 2;
                }
                0x00 => return Ok(r),
                _ => return Err(EINVAL),
            }
        }
    }

    fn check(geo: &Geometry, ch: u32, dst: u32, src: u32, len: u32) -> Result {
        let x = Xfer::memcpy(geo, ch, dst, src, len)?;
        assert!(x.mc_len <= MC_SLOT);
        let r = run(&x.mc[..x.mc_len])?;
        assert_eq!(r.loaded, u64::from(len));
        assert_eq!(r.stored, u64::from(len));
        assert_eq!(r.sar, src + len);
        assert_eq!(r.dar, dst + len);
        assert_eq!(r.event, ch);
        assert_eq!(x.dst, dst);
        assert_eq!(x.len, len);
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
