//! The cost of one cross-shard hop through glommio's channel mesh, as corecache uses it:
//! two executors on two CPUs; (1) one request and its answer at a time (the latency a
//! single forwarded command pays), (2) requests sent in batches of 64 (the per-message
//! cost when a read batch's work travels together). `cargo bench --bench hop`.

use std::time::{Duration, Instant};

use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;

const ROUND_TRIPS: u64 = 20_000;
const BATCHES: u64 = 2_000;
const BATCH: u64 = 64;

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mesh = MeshBuilder::<u64, _>::full(2, 1024);
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let mesh = mesh.clone();
            let placement = if cpus >= 2 {
                Placement::Fixed(i)
            } else {
                Placement::Unbound
            };
            LocalExecutorBuilder::new(placement)
                .io_memory(256 * 1024)
                .spawn(move || async move {
                    let (tx, mut rx) = mesh.join().await.expect("join mesh");
                    let me = tx.peer_id();
                    let peer = 1 - me;
                    let streams = rx.streams();
                    let inbox = &streams.iter().find(|(p, _)| *p == peer).expect("peer").1;
                    if me == 1 {
                        // Echo every message back.
                        while let Some(v) = inbox.recv().await {
                            if tx.send_to(peer, v).await.is_err() {
                                break;
                            }
                        }
                        return;
                    }
                    let mut hist = Histogram::<u64>::new(3).expect("histogram");
                    for i in 0..ROUND_TRIPS {
                        let t = Instant::now();
                        tx.send_to(peer, i).await.expect("send");
                        inbox.recv().await.expect("echo");
                        hist.record(t.elapsed().as_nanos() as u64).expect("record");
                    }
                    println!(
                        "unbatched round trip: p50 {:.1} us, p99 {:.1} us, mean {:.1} us",
                        hist.value_at_quantile(0.5) as f64 / 1e3,
                        hist.value_at_quantile(0.99) as f64 / 1e3,
                        hist.mean() / 1e3
                    );
                    let t = Instant::now();
                    for b in 0..BATCHES {
                        for i in 0..BATCH {
                            tx.send_to(peer, b * BATCH + i).await.expect("send");
                        }
                        for _ in 0..BATCH {
                            inbox.recv().await.expect("echo");
                        }
                    }
                    let per = t.elapsed() / (BATCHES * BATCH) as u32;
                    println!(
                        "batched ({BATCH} in flight): {:.0} ns per message round trip",
                        per.as_nanos() as f64
                    );
                    tx.close();
                    glommio::timer::sleep(Duration::from_millis(10)).await;
                })
                .expect("spawn executor")
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}
