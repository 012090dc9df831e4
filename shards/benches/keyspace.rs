//! Micro-benchmarks of the engine's hot paths without a socket: keyspace get/set and the
//! command table lookup. `cargo bench -p shards` prints ns per operation.

use std::hint::black_box;
use std::time::Instant;

use shards::value::{Str, Value};
use shards::{Clock, Keyspace};

fn keys(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect()
}

fn lcg(x: &mut u64) -> usize {
    *x = x
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*x >> 33) as usize
}

fn report(name: &str, ops: usize, start: Instant) {
    let ns = start.elapsed().as_nanos() as f64 / ops as f64;
    println!("{name:<40} {ns:>8.1} ns/op");
}

fn main() {
    const N: usize = 100_000;
    const OPS: usize = 2_000_000;
    let ks_keys = keys(N);
    let mut ks = Keyspace::new(16, Clock::System);
    let start = Instant::now();
    for k in &ks_keys {
        ks.set(0, k, Value::Str(Str::from_bytes(b"0123456789abcdef")), 0);
    }
    report("keyspace set (insert 100k new keys)", N, start);

    let mut x = 1u64;
    let start = Instant::now();
    for _ in 0..OPS {
        let k = &ks_keys[lcg(&mut x) % N];
        black_box(ks.read(0, k, true).is_some());
    }
    report("keyspace read (random of 100k)", OPS, start);

    let start = Instant::now();
    for _ in 0..OPS {
        let k = &ks_keys[lcg(&mut x) % N];
        ks.set(0, k, Value::Str(Str::from_bytes(b"fedcba9876543210")), 0);
    }
    report("keyspace set (overwrite random of 100k)", OPS, start);

    let names: [&[u8]; 4] = [b"GET", b"set", b"Mget", b"INCRBYFLOAT"];
    let start = Instant::now();
    for i in 0..OPS {
        black_box(shards::lookup(names[i % 4]));
    }
    report("command table lookup", OPS, start);

    let start = Instant::now();
    for i in 0..OPS {
        black_box(shards::key_slot(&ks_keys[i % N]));
    }
    report("key_slot (crc16)", OPS, start);
}
