//! Key slots: the `crc16` crate's CRC16/XMODEM (what `shards::slot` uses) against the
//! byte-at-a-time table corecache had before, on keys of typical sizes. `cargo bench
//! --bench crc16` prints ns per key; the crate won, so the slot code uses it.

use std::hint::black_box;
use std::time::Instant;

fn main() {
    for len in [8usize, 16, 32, 64] {
        let keys: Vec<Vec<u8>> = (0..1024)
            .map(|i| format!("{:0width$}", i * 7919, width = len).into_bytes())
            .collect();
        for (key, data) in keys.iter().enumerate().take(4) {
            let _ = key;
            assert_eq!(
                table_crc16(data),
                crc16::State::<crc16::XMODEM>::calculate(data)
            );
        }
        const ROUNDS: usize = 20_000;
        let t = Instant::now();
        let mut acc = 0u16;
        for _ in 0..ROUNDS {
            for k in &keys {
                acc ^= table_crc16(black_box(k));
            }
        }
        let ours = t.elapsed().as_nanos() as f64 / (ROUNDS * keys.len()) as f64;
        let t = Instant::now();
        for _ in 0..ROUNDS {
            for k in &keys {
                acc ^= crc16::State::<crc16::XMODEM>::calculate(black_box(k));
            }
        }
        let theirs = t.elapsed().as_nanos() as f64 / (ROUNDS * keys.len()) as f64;
        black_box(acc);
        println!("{len:>3}-byte keys: byte table {ours:6.2} ns, crc16 crate {theirs:6.2} ns");
    }
}

/// The table corecache used before: one lookup per byte.
fn table_crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ TABLE[((crc >> 8) as u8 ^ b) as usize]
    })
}

const TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};
