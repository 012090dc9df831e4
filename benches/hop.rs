//! The cost of one cross-shard hop: two executors on two CPUs; (1) one request and its
//! answer at a time (the latency a single forwarded command pays, the peer idle in
//! between), (2) 64 requests in flight (the per-request cost when a read batch's work
//! travels together). Three paths, in one run:
//!
//! - `mesh`: glommio's channel mesh, which corecache used before it had mailboxes of its
//!   own (the baseline);
//! - `mailbox, glommio`: corecache's mailboxes, the peer woken through glommio (what
//!   `--io-engine glommio` does);
//! - `mailbox, uring`: corecache's mailboxes with each shard's network driver; a post
//!   rings a waiting peer with IORING_OP_MSG_RING (the default `--io-engine uring`).
//!
//! `cargo bench --bench hop`.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corecache::runtime::driver::{Driver, DriverConfig, Hooks};
use corecache::runtime::exec;
use corecache::runtime::mailbox::{Mailbox, Msg, Postbox};
use corecache::runtime::sleep::sleep;
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;

const ROUND_TRIPS: u64 = 20_000;
const BATCHES: u64 = 2_000;
const BATCH: u64 = 64;

fn main() {
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>22}",
        "path", "p50 µs", "p99 µs", "mean µs", "batched ns/request"
    );
    run_pair("mesh", mesh_side);
    run_pair("mailbox, glommio", |side| mailbox_side(side, None));
    run_pair("mailbox, uring", |side| {
        mailbox_side(side, Some(Duration::ZERO))
    });
    run_pair("uring, spin 50µs", |side| {
        mailbox_side(side, Some(Duration::from_micros(50)))
    });
}

type Post = Arc<Postbox<u64, u64>>;
type Mesh = MeshBuilder<u64, glommio::channels::channel_mesh::Full>;

/// What each side gets: its index, the mailboxes, the end flag, the mesh.
struct Side {
    i: usize,
    post: Post,
    done: Arc<AtomicBool>,
    mesh: Mesh,
}

/// Runs `side` on two pinned executors (0 measures, 1 answers).
fn run_pair<F, Fut>(name: &'static str, side: F)
where
    F: Fn(Side) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<(Histogram<u64>, Duration)>> + 'static,
{
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let post: Post = Postbox::new(2);
    let done = Arc::new(AtomicBool::new(false));
    let mesh: Mesh = MeshBuilder::full(2, 1024);
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let side = side.clone();
            let ctx = Side {
                i,
                post: post.clone(),
                done: done.clone(),
                mesh: mesh.clone(),
            };
            let placement = if cpus >= 2 {
                Placement::Fixed(i)
            } else {
                Placement::Unbound
            };
            LocalExecutorBuilder::new(placement)
                .io_memory(256 * 1024)
                .spawn(move || async move { side(ctx).await })
                .expect("spawn executor")
        })
        .collect();
    for h in handles {
        let joined = h.join();
        if let Err(e) = &joined {
            println!("{name}: {e}");
        }
        if let Ok(Some((hist, batched))) = joined {
            println!(
                "{name:<18} {:>10.1} {:>10.1} {:>10.1} {:>22.0}",
                hist.value_at_quantile(0.5) as f64 / 1e3,
                hist.value_at_quantile(0.99) as f64 / 1e3,
                hist.mean() / 1e3,
                batched.as_nanos() as f64 / (BATCHES * BATCH) as f64
            );
        }
    }
}

/// glommio's channel mesh: 1 echoes what 0 sends.
async fn mesh_side(side: Side) -> Option<(Histogram<u64>, Duration)> {
    let (tx, mut rx) = side.mesh.join().await.expect("join mesh");
    let me = tx.peer_id();
    let peer = 1 - me;
    let streams = rx.streams();
    let inbox = &streams.iter().find(|(p, _)| *p == peer).expect("peer").1;
    if me == 1 {
        while let Some(v) = inbox.recv().await {
            if tx.send_to(peer, v).await.is_err() {
                break;
            }
        }
        return None;
    }
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    for r in 0..ROUND_TRIPS {
        let t = Instant::now();
        tx.send_to(peer, r).await.expect("send");
        inbox.recv().await.expect("echo");
        hist.record(t.elapsed().as_nanos() as u64).expect("record");
    }
    let t = Instant::now();
    for b in 0..BATCHES {
        for r in 0..BATCH {
            tx.send_to(peer, b * BATCH + r).await.expect("send");
        }
        for _ in 0..BATCH {
            inbox.recv().await.expect("echo");
        }
    }
    let batched = t.elapsed();
    tx.close();
    glommio::timer::sleep(Duration::from_millis(10)).await;
    Some((hist, batched))
}

/// corecache's mailboxes: shard 1 answers every request with its value.
/// `spin`: with a network driver (`None`: woken through glommio), which polls that
/// long before it sleeps.
async fn mailbox_side(side: Side, spin: Option<Duration>) -> Option<(Histogram<u64>, Duration)> {
    let Side { i, post, done, .. } = side;
    let uring = spin.is_some();
    let mail = Rc::new(Mailbox::new(i, post.clone()));
    let serve = {
        let (mail, post) = (mail.clone(), post.clone());
        move || {
            let mut any = false;
            while let Some(msg) = post.take(i) {
                any = true;
                match msg {
                    Msg::Req { from, items } => {
                        mail.answer(from, items);
                    }
                    Msg::Resp { items } => mail.deliver(items),
                }
            }
            any
        }
    };
    let driver = if uring {
        let cfg = DriverConfig {
            entries: 64,
            buffers: 16,
            buffer_size: 4096,
            fixed_files: 16,
            idle_spin: spin.unwrap_or_default(),
            ..DriverConfig::default()
        };
        let driver = Driver::new(cfg).expect("io_uring");
        post.set_ring(i, driver.ring_fd());
        let (m, d, p, q) = (mail.clone(), driver.clone(), post.clone(), post.clone());
        driver.set_hooks(Hooks {
            read_inbox: Some(Box::new(serve)),
            post_mail: Some(Box::new(move || {
                m.flush(Some(&*d));
            })),
            park: Some(Box::new(move |parking| {
                if parking {
                    p.park(i)
                } else {
                    p.unpark(i);
                    true
                }
            })),
            has_mail: Some(Box::new(move || q.has_mail(i))),
            awaiting_answers: None,
        });
        // Not through `exec::spawn`: the driver counts the other tasks' polls.
        glommio::spawn_local(driver.clone().run()).detach();
        Some(driver)
    } else {
        let (m, p) = (mail.clone(), post.clone());
        exec::spawn(async move {
            loop {
                std::future::poll_fn(|cx| {
                    p.register(i, cx.waker());
                    if serve() {
                        // Answers go out behind the tasks runnable now.
                        let m = m.clone();
                        exec::spawn(async move {
                            m.flush(None);
                        });
                    }
                    std::task::Poll::<()>::Pending
                })
                .await;
            }
        });
        None
    };
    // Both sides are ready before anything is sent.
    while uring && post.ring_of(1 - i).is_none() {
        glommio::timer::sleep(Duration::from_millis(1)).await;
    }
    let flush = |mail: &Mailbox<u64, u64>| {
        if driver.is_none() {
            mail.flush(None);
        }
    };
    if i == 1 {
        while !done.load(Ordering::Acquire) {
            sleep(Duration::from_millis(5)).await;
        }
        if let Some(d) = &driver {
            d.stop();
        }
        return None;
    }
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    for r in 0..ROUND_TRIPS {
        let t = Instant::now();
        let (rx, _) = mail.request(1, r);
        flush(&mail);
        rx.await.expect("answer");
        hist.record(t.elapsed().as_nanos() as u64).expect("record");
    }
    let t = Instant::now();
    for b in 0..BATCHES {
        let waiting: Vec<_> = (0..BATCH)
            .map(|r| mail.request(1, b * BATCH + r).0)
            .collect();
        flush(&mail);
        for rx in waiting {
            rx.await.expect("answer");
        }
    }
    let batched = t.elapsed();
    done.store(true, Ordering::Release);
    if let Some(d) = &driver {
        d.stop();
    }
    Some((hist, batched))
}
