//! MULTI/EXEC/DISCARD and WATCH through real connections, and the invariant that
//! transactions, scripts and multi-key commands moving amounts between keys on
//! different shards are atomic and isolated: concurrent readers (reading every balance
//! in one transaction, or in one MGET) always see the same total.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use redis::Value;

#[test]
fn queued_commands_run_at_exec_in_order() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut r = s.raw();
        let keys = keys_on_every_shard(n);
        let mut req = resp(&[b"MULTI"]);
        for k in &keys {
            req.extend(resp(&[b"INCRBY", k.as_bytes(), b"5"]));
        }
        req.extend(resp(&[b"GET", keys[0].as_bytes()]));
        req.extend(resp(&[b"EXEC"]));
        let mut want = b"+OK\r\n".to_vec();
        for _ in 0..=keys.len() {
            want.extend_from_slice(b"+QUEUED\r\n");
        }
        want.extend(format!("*{}\r\n", keys.len() + 1).into_bytes());
        for _ in &keys {
            want.extend_from_slice(b":5\r\n");
        }
        want.extend_from_slice(b"$1\r\n5\r\n");
        r.roundtrip(&req, &want);
    }
}

#[test]
fn errors_while_queueing_abort_exec_and_runtime_errors_do_not() {
    let s = Server::start(2);
    let mut r = s.raw();
    r.roundtrip(&resp(&[b"EXEC"]), b"-ERR EXEC without MULTI\r\n");
    r.roundtrip(&resp(&[b"DISCARD"]), b"-ERR DISCARD without MULTI\r\n");
    r.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    r.roundtrip(
        &resp(&[b"MULTI"]),
        b"-ERR MULTI calls can not be nested\r\n",
    );
    r.roundtrip(
        &resp(&[b"WATCH", b"a"]),
        b"-ERR WATCH inside MULTI is not allowed\r\n",
    );
    r.roundtrip(
        &resp(&[b"GET", b"a", b"b"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    r.roundtrip(&resp(&[b"SET", b"a", b"1"]), b"+QUEUED\r\n");
    r.roundtrip(
        &resp(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    r.roundtrip(&resp(&[b"EXISTS", b"a"]), b":0\r\n");
    r.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&[b"SET", b"a", b"x"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&[b"INCR", b"a"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&[b"BLPOP", b"empty", b"0"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&[b"SET", b"b", b"2"]), b"+QUEUED\r\n");
    r.roundtrip(
        &resp(&[b"EXEC"]),
        b"*4\r\n+OK\r\n-ERR value is not an integer or out of range\r\n*-1\r\n+OK\r\n",
    );
    r.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&[b"SET", b"c", b"1"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&[b"DISCARD"]), b"+OK\r\n");
    r.roundtrip(&resp(&[b"EXISTS", b"c"]), b":0\r\n");
}

#[test]
fn watch_aborts_exec_when_another_client_writes_the_key() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        for key in keys_on_every_shard(n) {
            let mut a = s.conn();
            let mut b = s.conn();
            let _: () = q(&mut a, &["SET", &key, "1"]);
            let _: () = q(&mut a, &["WATCH", &key]);
            let _: () = q(&mut b, &["SET", &key, "2"]);
            let _: () = q(&mut a, &["MULTI"]);
            let _: Value = q(&mut a, &["SET", &key, "3"]);
            let r: Value = q(&mut a, &["EXEC"]);
            assert_eq!(r, Value::Nil, "{n} shards, key {key}");
            let v: String = q(&mut a, &["GET", &key]);
            assert_eq!(v, "2");
            // Unchanged watched keys let EXEC run; EXEC forgets the watch.
            let _: () = q(&mut a, &["WATCH", &key]);
            let _: () = q(&mut a, &["MULTI"]);
            let _: Value = q(&mut a, &["SET", &key, "4"]);
            let r: Vec<String> = q(&mut a, &["EXEC"]);
            assert_eq!(r, vec!["OK"]);
            let _: () = q(&mut b, &["SET", &key, "5"]);
            let _: () = q(&mut a, &["MULTI"]);
            let _: Value = q(&mut a, &["GET", &key]);
            let r: Vec<String> = q(&mut a, &["EXEC"]);
            assert_eq!(r, vec!["5"]);
        }
    }
}

#[test]
fn unwatch_discard_and_flushall_interact_with_watch_as_in_redis() {
    let s = Server::start(2);
    let mut a = s.conn();
    let mut b = s.conn();
    let _: () = q(&mut a, &["WATCH", "w"]);
    let _: () = q(&mut a, &["UNWATCH"]);
    let _: () = q(&mut b, &["SET", "w", "x"]);
    let _: () = q(&mut a, &["MULTI"]);
    let _: Value = q(&mut a, &["PING"]);
    let r: Vec<String> = q(&mut a, &["EXEC"]);
    assert_eq!(r, vec!["PONG"]);
    let _: () = q(&mut a, &["WATCH", "w"]);
    let _: () = q(&mut b, &["FLUSHALL"]);
    let _: () = q(&mut a, &["MULTI"]);
    let _: Value = q(&mut a, &["PING"]);
    let r: Value = q(&mut a, &["EXEC"]);
    assert_eq!(r, Value::Nil, "FLUSHALL touches watched keys");
}

#[test]
fn a_watched_key_that_expires_aborts_exec() {
    for n in [1, 2] {
        let s = Server::start(n);
        let mut c = s.conn();
        let _: () = q(&mut c, &["SET", "soon", "v", "PX", "100"]);
        let _: () = q(&mut c, &["WATCH", "soon"]);
        thread::sleep(Duration::from_millis(250));
        let _: () = q(&mut c, &["MULTI"]);
        let _: Value = q(&mut c, &["SET", "other", "x"]);
        let r: Value = q(&mut c, &["EXEC"]);
        assert_eq!(r, Value::Nil, "{n} shards");
        // A key without a TTL does not expire: EXEC runs.
        let _: () = q(&mut c, &["SET", "stays", "v"]);
        let _: () = q(&mut c, &["WATCH", "stays"]);
        let _: () = q(&mut c, &["MULTI"]);
        let _: Value = q(&mut c, &["GET", "stays"]);
        let r: Vec<String> = q(&mut c, &["EXEC"]);
        assert_eq!(r, vec!["v"]);
    }
}

const ACCOUNTS: usize = 8;
const START: i64 = 1000;

/// A pseudo-random transfer (from, to, amount) between two different accounts.
fn pick_transfer<'a>(x: &mut u64, accounts: &'a [String]) -> Option<(&'a str, &'a str, u64)> {
    *x = x
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let from = &accounts[(*x >> 33) as usize % ACCOUNTS];
    let to = &accounts[(*x >> 17) as usize % ACCOUNTS];
    (from != to).then(|| (from.as_str(), to.as_str(), (*x >> 45) % 50 + 1))
}

#[test]
fn concurrent_cross_shard_transfers_never_show_a_half_applied_transaction() {
    let s = Server::start(4);
    let url = s.url();
    let accounts: Vec<String> = {
        let mut keys = keys_on_every_shard(4);
        let mut i = 0;
        while keys.len() < ACCOUNTS {
            keys.push(format!("acct:{i}"));
            i += 1;
        }
        keys
    };
    let mut c = s.conn();
    for a in &accounts {
        let _: () = q(&mut c, &["SET", a, &START.to_string()]);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let transfers = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..3 {
        let (url, accounts, stop, transfers) = (
            url.clone(),
            accounts.clone(),
            stop.clone(),
            transfers.clone(),
        );
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut x = w as u64 + 1;
            while !stop.load(Ordering::Relaxed) {
                let Some((from, to, amount)) = pick_transfer(&mut x, &accounts) else {
                    continue;
                };
                let _: () = q(&mut c, &["WATCH", from, to]);
                let balance: i64 = q(&mut c, &["GET", from]);
                if balance < amount as i64 {
                    let _: () = q(&mut c, &["UNWATCH"]);
                    continue;
                }
                let _: () = q(&mut c, &["MULTI"]);
                let _: Value = q(&mut c, &["DECRBY", from, &amount.to_string()]);
                let _: Value = q(&mut c, &["INCRBY", to, &amount.to_string()]);
                let r: Value = q(&mut c, &["EXEC"]);
                if r != Value::Nil {
                    transfers.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Transfers by a Lua script (keys on different shards), and by a function.
    for by_function in [false, true] {
        let (url, accounts, stop, transfers) = (
            url.clone(),
            accounts.clone(),
            stop.clone(),
            transfers.clone(),
        );
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let body = "local a = tonumber(redis.call('GET', KEYS[1])) \
                 local n = tonumber(ARGV[1]) \
                 if a < n then return 0 end \
                 redis.call('DECRBY', KEYS[1], n) \
                 redis.call('INCRBY', KEYS[2], n) \
                 return 1";
            if by_function {
                let lib = format!(
                    "#!lua name=bank\nredis.register_function('move', function(KEYS, ARGV) {body} end)"
                );
                let _: String = q(&mut c, &["FUNCTION", "LOAD", "REPLACE", &lib]);
            }
            let mut x = 99 + by_function as u64;
            while !stop.load(Ordering::Relaxed) {
                let Some((from, to, amount)) = pick_transfer(&mut x, &accounts) else {
                    continue;
                };
                let amount = amount.to_string();
                let moved: i64 = if by_function {
                    q(&mut c, &["FCALL", "move", "2", from, to, &amount])
                } else {
                    q(&mut c, &["EVAL", body, "2", from, to, &amount])
                };
                transfers.fetch_add(moved as u64, Ordering::Relaxed);
            }
        }));
    }
    for _ in 0..2 {
        let (url, accounts, stop, reads) =
            (url.clone(), accounts.clone(), stop.clone(), reads.clone());
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            while !stop.load(Ordering::Relaxed) {
                let _: () = q(&mut c, &["MULTI"]);
                for a in &accounts {
                    let _: Value = q(&mut c, &["GET", a]);
                }
                let balances: Vec<i64> = q(&mut c, &["EXEC"]);
                let total: i64 = balances.iter().sum();
                assert_eq!(total, START * ACCOUNTS as i64, "a reader saw {balances:?}");
                assert!(balances.iter().all(|&b| b >= 0), "{balances:?}");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // MGET readers, one plain, one pipelining several MGETs per round trip.
    for pipelined in [false, true] {
        let (url, accounts, stop, reads) =
            (url.clone(), accounts.clone(), stop.clone(), reads.clone());
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut mget = redis::cmd("MGET");
            for a in &accounts {
                mget.arg(a);
            }
            while !stop.load(Ordering::Relaxed) {
                let rounds: Vec<Vec<i64>> = if pipelined {
                    let mut p = redis::pipe();
                    for _ in 0..8 {
                        p.add_command(mget.clone());
                    }
                    p.query(&mut c).unwrap()
                } else {
                    vec![mget.query(&mut c).unwrap()]
                };
                for balances in rounds {
                    let total: i64 = balances.iter().sum();
                    assert_eq!(total, START * ACCOUNTS as i64, "MGET saw {balances:?}");
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // MSET writes a pair of keys on different shards to one value; MGET must never see
    // them differ.
    let pair = keys_on_every_shard(4);
    // Hash tags put them on the first and last shard, apart from the accounts.
    let (first, second) = (
        format!("pair:{{{}}}", pair[0]),
        format!("pair:{{{}}}", pair[3]),
    );
    {
        let (url, stop, first, second) = (url.clone(), stop.clone(), first.clone(), second.clone());
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut v = 0u64;
            while !stop.load(Ordering::Relaxed) {
                v += 1;
                let v = v.to_string();
                let _: () = q(&mut c, &["MSET", &first, &v, &second, &v]);
            }
        }));
    }
    {
        let (url, stop, reads) = (url.clone(), stop.clone(), reads.clone());
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            while !stop.load(Ordering::Relaxed) {
                let got: Vec<Option<u64>> = q(&mut c, &["MGET", &first, &second]);
                assert_eq!(got[0], got[1], "MGET saw half of an MSET");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker panicked");
    }
    let total: i64 = accounts.iter().map(|a| q::<i64>(&mut c, &["GET", a])).sum();
    assert_eq!(total, START * ACCOUNTS as i64);
    eprintln!(
        "{} transfers, {} consistent reads",
        transfers.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed)
    );
    assert!(
        transfers.load(Ordering::Relaxed) > 10,
        "too few transfers ran"
    );
    assert!(reads.load(Ordering::Relaxed) > 10, "too few reads ran");
}

/// Multi-key writes outside MULTI (RENAME, SMOVE, LMOVE) between keys on different
/// shards are never seen half done: a token renamed around a ring of keys always
/// exists exactly once (EXISTS over all of them), members moved between sets and
/// elements moved between lists keep their totals (read in one MULTI).
#[test]
fn multi_key_writes_across_shards_are_atomic() {
    let s = Server::start(4);
    let url = s.url();
    let ring = keys_on_every_shard(4);
    let sets: Vec<String> = ring.iter().map(|k| format!("set:{{{k}}}")).collect();
    let lists: Vec<String> = ring.iter().map(|k| format!("list:{{{k}}}")).collect();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", &ring[0], "token"]);
    for m in 0..20 {
        let _: () = q(&mut c, &["SADD", &sets[m % 4], &format!("m{m}")]);
        let _: () = q(&mut c, &["RPUSH", &lists[m % 4], &format!("e{m}")]);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let moves = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    {
        let (url, ring, sets, lists, stop, moves) = (
            url.clone(),
            ring.clone(),
            sets.clone(),
            lists.clone(),
            stop.clone(),
            moves.clone(),
        );
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut at = 0;
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let next = (at + 1) % 4;
                let _: () = q(&mut c, &["RENAME", &ring[at], &ring[next]]);
                at = next;
                let _: Value = q(
                    &mut c,
                    &[
                        "SMOVE",
                        &sets[i % 4],
                        &sets[(i + 1) % 4],
                        &format!("m{}", i % 20),
                    ],
                );
                let _: Value = q(
                    &mut c,
                    &["LMOVE", &lists[i % 4], &lists[(i + 3) % 4], "LEFT", "RIGHT"],
                );
                i += 1;
                moves.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let reads = Arc::new(AtomicU64::new(0));
    for _ in 0..2 {
        let (url, ring, sets, lists, stop, reads) = (
            url.clone(),
            ring.clone(),
            sets.clone(),
            lists.clone(),
            stop.clone(),
            reads.clone(),
        );
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut exists = redis::cmd("EXISTS");
            for k in &ring {
                exists.arg(k);
            }
            while !stop.load(Ordering::Relaxed) {
                let n: i64 = exists.query(&mut c).unwrap();
                assert_eq!(n, 1, "the renamed token exists {n} times");
                let mut p = redis::pipe();
                p.atomic();
                for k in &sets {
                    p.cmd("SCARD").arg(k);
                }
                for k in &lists {
                    p.cmd("LLEN").arg(k);
                }
                let sizes: Vec<i64> = p.query(&mut c).unwrap();
                assert_eq!(sizes[..4].iter().sum::<i64>(), 20, "set sizes {sizes:?}");
                assert_eq!(sizes[4..].iter().sum::<i64>(), 20, "list sizes {sizes:?}");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker panicked");
    }
    assert!(moves.load(Ordering::Relaxed) > 10, "too few moves ran");
    assert!(reads.load(Ordering::Relaxed) > 10, "too few reads ran");
}

/// FLUSHALL, FLUSHDB and SWAPDB by another client make EXEC fail only for a watched
/// key that existed where they acted, as in Redis 7.
#[test]
fn keyless_writes_touch_only_watched_keys_that_exist() {
    let s = Server::start(2);
    let mut a = s.conn();
    let mut b = s.conn();
    let exec_after =
        |a: &mut redis::Connection, b: &mut redis::Connection, watch: &str, other: &[&str]| {
            let _: () = q(a, &["WATCH", watch]);
            let _: Value = q(b, other);
            let _: () = q(a, &["MULTI"]);
            let _: String = q(a, &["PING"]);
            let r: Value = q(a, &["EXEC"]);
            r != Value::Nil
        };
    let keys = keys_on_every_shard(2);
    for k in &keys {
        assert!(
            exec_after(&mut a, &mut b, k, &["FLUSHALL"]),
            "a missing key is untouched"
        );
        let _: () = q(&mut b, &["SET", k, "1"]);
        assert!(
            !exec_after(&mut a, &mut b, k, &["FLUSHALL"]),
            "an existing key is touched"
        );
        let _: () = q(&mut b, &["SET", k, "1"]);
        let _: () = q(&mut b, &["SELECT", "1"]);
        assert!(
            exec_after(&mut a, &mut b, k, &["FLUSHDB"]),
            "another db's FLUSHDB"
        );
        let _: () = q(&mut b, &["SELECT", "0"]);
        assert!(
            !exec_after(&mut a, &mut b, k, &["SWAPDB", "0", "1"]),
            "swapped away"
        );
        assert!(exec_after(
            &mut a,
            &mut b,
            "never-there",
            &["SWAPDB", "0", "1"]
        ));
        let _: () = q(&mut b, &["FLUSHALL"]);
    }
}

/// A multi-shard read runs again under holds only when a transaction wrote one of its
/// keys while it ran: writers of other keys, however busy, never send it round again.
#[test]
fn multi_shard_reads_are_not_retried_for_writes_to_other_keys() {
    let s = Server::start(4);
    let spread = keys_on_every_shard(4);
    // Two key sets over every shard (hash tags keep each key on its shard).
    let written: Vec<String> = spread.iter().map(|k| format!("w:{{{k}}}")).collect();
    let read: Vec<String> = spread.iter().map(|k| format!("r:{{{k}}}")).collect();
    let mut c = s.conn();
    for k in &read {
        let _: () = q(&mut c, &["SET", k, "steady"]);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..2 {
        let (url, keys, stop) = (s.url(), written.clone(), stop.clone());
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let mut mset = redis::cmd("MSET");
                for k in &keys {
                    mset.arg(k).arg(format!("{w}-{n}"));
                }
                let _: () = mset.query(&mut c).unwrap();
            }
        }));
    }
    for _ in 0..2 {
        let (url, keys, stop, reads) = (s.url(), read.clone(), stop.clone(), reads.clone());
        workers.push(thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut mget = redis::cmd("MGET");
            for k in &keys {
                mget.arg(k);
            }
            while !stop.load(Ordering::Relaxed) {
                let got: Vec<String> = mget.query(&mut c).unwrap();
                assert!(got.iter().all(|v| v == "steady"), "{got:?}");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker panicked");
    }
    assert!(reads.load(Ordering::Relaxed) > 0);
    let retries: u64 = info_field(&mut c, "stats", "optimistic_read_retries");
    assert_eq!(retries, 0, "reads retried for writes to other keys");
    // A read whose key a transaction writes meanwhile is still checked: the pair test
    // in `concurrent_cross_shard_transfers_never_show_a_half_applied_transaction`.
}
