//! RESP codec micro-benchmark: parsing pipelined commands out of a read buffer and
//! encoding replies. `cargo bench --bench resp` prints ns per command.

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use corecache::base::resp::{self, Limits};
use shards::Reply;

// The server's allocator, so allocation costs are the ones the server pays.
#[global_allocator]
static GLOBAL: shards::alloc::CountingAlloc = shards::alloc::CountingAlloc;

const LIMITS: Limits = Limits {
    proto_max_bulk_len: 512 * 1024 * 1024,
    authenticated: true,
};

fn report(name: &str, ops: usize, start: Instant) {
    let ns = start.elapsed().as_nanos() as f64 / ops as f64;
    println!("{name:<44} {ns:>8.1} ns/op");
}

fn main() {
    // 16 pipelined SETs, as redis-benchmark -P 16 sends them.
    let mut batch = Vec::new();
    for i in 0..16 {
        let key = format!("key:{i:012}");
        batch.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$16\r\n0123456789abcdef\r\n",
                key.len()
            )
            .as_bytes(),
        );
    }
    const ROUNDS: usize = 100_000;
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let mut buf = BytesMut::from(&batch[..]);
        let (cmds, err) = resp::take_commands(&mut buf, LIMITS);
        black_box((cmds, err));
    }
    report("parse SET key value (16 per read)", ROUNDS * 16, start);

    let mut inline = Vec::new();
    for _ in 0..16 {
        inline.extend_from_slice(b"SET somekey somevalue\r\n");
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let mut buf = BytesMut::from(&inline[..]);
        black_box(resp::take_commands(&mut buf, LIMITS));
    }
    report("parse inline SET (16 per read)", ROUNDS * 16, start);

    let replies = [
        Reply::Ok,
        Reply::Bulk(b"0123456789abcdef".to_vec()),
        Reply::Int(12345),
        Reply::Array(vec![Reply::Bulk(b"a".to_vec()), Reply::Nil]),
    ];
    let mut out = Vec::with_capacity(1 << 16);
    let start = Instant::now();
    for i in 0..ROUNDS * 16 {
        if out.len() > 60_000 {
            out.clear();
        }
        resp::encode(&mut out, &replies[i % replies.len()], 2);
    }
    black_box(&out);
    report("encode reply (mixed)", ROUNDS * 16, start);
}
