//! The CRC-64 that closes every DUMP payload and RDB file: Redis's "Jones" variant
//! (polynomial 0xad93d23594c935a9, reflected input and output, initial value 0, no
//! final xor), the `crc` crate's `CRC_64_REDIS` with 16 tables (several bytes per step:
//! an RDB file of tens of MB is checked in milliseconds, not tenths of a second).

use crc::{Crc, Table, CRC_64_REDIS};

const REDIS: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// Continues the checksum `crc` over `data` (start with 0).
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    // The crate reflects an initial value for a reflected algorithm: hand it the
    // register as it was, reflected back.
    let mut digest = REDIS.digest_with_initial(crc.reverse_bits());
    digest.update(data);
    digest.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_matches_redis() {
        // The check value Redis's own crc64 test asserts.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn continues_across_chunks() {
        let data = b"This is a test of the emergency broadcast system.";
        let whole = crc64(0, data);
        let (a, b) = data.split_at(17);
        assert_eq!(crc64(crc64(0, a), b), whole);
        assert_eq!(crc64(0, b""), 0);
        let long: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut c = 0;
        for chunk in long.chunks(4093) {
            c = crc64(c, chunk);
        }
        assert_eq!(c, crc64(0, &long));
    }
}
