//! The PRNG behind `math.random`: the 48-bit linear congruential generator of POSIX
//! `lrand48` that Redis embeds. Seeded with 0 when the Lua state is made; as in Redis
//! 7.0 (scripts replicate by effects) the sequence continues from run to run, and
//! `math.randomseed` reseeds it.

use std::cell::Cell;

const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

pub(crate) struct Rand48 {
    x: Cell<u64>,
}

impl Rand48 {
    pub(crate) fn new() -> Self {
        let r = Rand48 { x: Cell::new(0) };
        r.seed(0);
        r
    }

    pub(crate) fn seed(&self, seed: i32) {
        self.x.set((((seed as u32) as u64) << 16) | 0x330E);
    }

    /// The next value in `0..2^31`.
    pub(crate) fn next(&self) -> i32 {
        let x = (A.wrapping_mul(self.x.get()).wrapping_add(C)) & MASK;
        self.x.set(x);
        (x >> 17) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_posix_lrand48_from_seed_zero() {
        // glibc: srand48(0); lrand48() x3
        let r = Rand48::new();
        assert_eq!(r.next(), 366850414);
        assert_eq!(r.next(), 1610402240);
        assert_eq!(r.next(), 206956554);
    }
}
