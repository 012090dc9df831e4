//! Fuzz targets on stable Rust: each target takes arbitrary bytes, made by mutating a
//! corpus kept in `tests/fuzz/<target>/` (splices, flipped and inserted bytes, cut
//! and repeated ranges, interesting numbers), for a bounded time per target
//! (`CORECACHE_FUZZ_SECS`, 1 s by default; CI runs longer). A target must never panic
//! or hang; an input that makes it panic is written to `tests/fuzz/<target>/crash-*`
//! (keep it there: every later run replays the whole corpus first, so it stays a
//! regression test) and fails the run.
//!
//! Targets: the RESP/inline parser, DUMP payloads (RESTORE), whole RDB files, AOF
//! command files, every command's argument parser (random arguments from a small
//! vocabulary through the engine's handlers), and the Lua bridge (cjson, cmsgpack,
//! struct and redis.call with arbitrary arguments, through a live server).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::Rng;

fn budget() -> Duration {
    let secs: f64 = std::env::var("CORECACHE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs)
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut out: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

const INTERESTING: &[&[u8]] = &[
    b"0",
    b"-1",
    b"4294967295",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"\xff\xff\xff\xff",
    b"\x00",
    b"\r\n",
    b"*",
    b"$",
    b"inf",
    b"nan",
    b"1e308",
    b"999999999999999999999",
];

/// One mutation of `base` (sometimes spliced with another corpus entry).
fn mutate(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let n = 1 + rng.below(8);
                for _ in 0..n {
                    v.insert(at.min(v.len()), rng.next() as u8);
                }
            }
            2 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(32)).min(v.len());
                let piece = v[start..end].to_vec();
                let at = at.min(v.len());
                v.splice(at..at, piece);
            }
            4 => {
                let word = INTERESTING[rng.below(INTERESTING.len())];
                let at = at.min(v.len());
                v.splice(at..at, word.iter().copied());
            }
            5 if !other.is_empty() => {
                let cut = rng.below(other.len());
                v.truncate(at.min(v.len()));
                v.extend_from_slice(&other[cut..]);
            }
            _ if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            _ => v.push(rng.next() as u8),
        }
    }
    v
}

/// Runs `target` on the corpus, then on mutations until the time is up. A panic
/// saves the input and fails.
fn fuzz(name: &str, seed: u64, mut target: impl FnMut(&[u8])) {
    let inputs = corpus(name);
    let run = |target: &mut dyn FnMut(&[u8]), input: &[u8]| {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(input)));
        if caught.is_err() {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for &b in input {
                h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
            let path = corpus_dir(name).join(format!("crash-{h:016x}"));
            let _ = std::fs::create_dir_all(corpus_dir(name));
            let _ = std::fs::write(&path, input);
            panic!("{name}: a panic on the input saved as {}", path.display());
        }
    };
    for input in &inputs {
        run(&mut target, input);
    }
    let mut rng = Rng(seed ^ common_seed());
    let deadline = Instant::now() + budget();
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let base = &inputs[rng.below(inputs.len())];
        let other = &inputs[rng.below(inputs.len())];
        let input = mutate(&mut rng, base, other);
        run(&mut target, &input);
        runs += 1;
    }
    eprintln!("{name}: {runs} inputs in {:?}", budget());
}

/// Differs from run to run (printed, so a failing run can be repeated with
/// `CORECACHE_FUZZ_SEED`).
fn common_seed() -> u64 {
    let seed = std::env::var("CORECACHE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("fuzz seed {seed} (CORECACHE_FUZZ_SEED)");
    seed
}

#[test]
fn resp_parser() {
    use corecache::base::resp::{take_commands, Limits};
    fuzz("resp", 1, |input| {
        for authenticated in [true, false] {
            let mut buf = BytesMut::from(input);
            let limits = Limits {
                proto_max_bulk_len: 1 << 20,
                authenticated,
            };
            // Whatever it takes, it takes from the front and never grows the buffer.
            let before = buf.len();
            let (cmds, _err) = take_commands(&mut buf, limits);
            assert!(buf.len() <= before);
            assert!(cmds.iter().all(|c| !c.is_empty()));
        }
    });
}

#[test]
fn restore_payloads() {
    let config = shards::config::EngineConfig::default();
    fuzz("payload", 2, |input| {
        let _ = shards::rdb::payload_ok(input);
        if let Ok(v) = shards::rdb::load_payload(input, &config) {
            // What loads dumps again.
            let _ = shards::rdb::dump_payload(&v);
        }
    });
}

#[test]
fn rdb_files() {
    let config = shards::config::EngineConfig::default();
    fuzz("rdb", 3, |input| {
        let mut keys = 0usize;
        let _ = shards::rdb::file::read_file(input, &config, 0, |_| keys += 1);
    });
}

#[test]
fn aof_command_files() {
    fuzz("aof", 4, |input| {
        let data = Bytes::copy_from_slice(input);
        let _ = shards::aof::read_commands(&data);
        if let Ok(text) = std::str::from_utf8(input) {
            let _ = shards::aof::Manifest::parse(text);
        }
    });
}

/// Arguments for the command parsers: numbers, options of many commands, keys.
const WORDS: &[&str] = &[
    "k",
    "k2",
    "{t}a",
    "{t}b",
    "0",
    "1",
    "-1",
    "2",
    "10",
    "-100",
    "3.5",
    "inf",
    "-inf",
    "nan",
    "+inf",
    "(1",
    "[a",
    "-",
    "+",
    "*",
    "$",
    "0-0",
    "1-1",
    "EX",
    "PX",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "KEEPTTL",
    "GET",
    "WITHSCORES",
    "LIMIT",
    "COUNT",
    "MATCH",
    "TYPE",
    "BY",
    "REV",
    "BYSCORE",
    "BYLEX",
    "STORE",
    "ASC",
    "DESC",
    "ALPHA",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "RANK",
    "MAXLEN",
    "MINID",
    "~",
    "=",
    "GROUP",
    "STREAMS",
    "ID",
    "MKSTREAM",
    "WEIGHTS",
    "AGGREGATE",
    "SUM",
    "MIN",
    "MAX",
    "BLOCK",
    "NOACK",
    "JUSTID",
    "FORCE",
    "IDLE",
    "TIME",
    "RETRYCOUNT",
    "WITHCOORD",
    "WITHDIST",
    "FROMLONLAT",
    "BYRADIUS",
    "BYBOX",
    "m",
    "km",
    "ASYNC",
    "REPLACE",
    "ABSTTL",
    "FREQ",
    "IDLETIME",
    "u8",
    "i16",
    "#1",
    "OVERFLOW",
    "WRAP",
    "SAT",
    "FAIL",
    "SET",
    "INCRBY",
    "BIT",
    "BYTE",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "",
    "\u{0}",
    "9223372036854775807",
    "-9223372036854775808",
    "1e400",
];

#[test]
fn command_argument_parsers() {
    use shards::cmd::COMMANDS;
    use shards::ops::{run_op, OpOutput, ShardOp};
    let (clock, _now) = shards::clock::Clock::manual(1_700_000_000_000);
    let mut ks = shards::Keyspace::new(16, clock);
    let engine_rows: Vec<usize> = (0..COMMANDS.len())
        .filter(|&i| COMMANDS[i].handler.is_some())
        .collect();
    fuzz("commands", 5, |input| {
        // The input picks commands and their arguments.
        let mut rng = Rng(input
            .iter()
            .fold(7u64, |h, &b| h.wrapping_mul(31) ^ b as u64)
            | 1);
        for _ in 0..4 {
            let spec = &COMMANDS[engine_rows[rng.below(engine_rows.len())]];
            let n = rng.below(7);
            let mut args = vec![Bytes::from_static(spec.name.as_bytes())];
            for _ in 0..n {
                let w = WORDS[rng.below(WORDS.len())];
                args.push(Bytes::copy_from_slice(w.as_bytes()));
            }
            if !spec.arity_ok(args.len()) {
                continue;
            }
            let op = ShardOp::Cmd {
                spec,
                db: 0,
                touch: true,
                args: args.clone(),
                track: shards::ops::Track::NONE,
            };
            if let OpOutput::Reply(shards::Reply::Error(e)) = run_op(&mut ks, op) {
                assert!(
                    !e.message().contains("internal error"),
                    "{:?} panicked in its handler",
                    args
                );
            }
        }
    });
}

#[test]
fn lua_bridge() {
    let s = common::Server::start(1);
    let mut c = s.conn();
    let scripts = corpus("lua");
    fuzz("lua-args", 6, |input| {
        for script in &scripts {
            let script = String::from_utf8_lossy(script).into_owned();
            let half = input.len() / 2;
            let r: redis::RedisResult<redis::Value> = redis::cmd("EVAL")
                .arg(&script)
                .arg(1)
                .arg("fuzz:key")
                .arg(&input[..half])
                .arg(&input[half..])
                .query(&mut c);
            if let Err(e) = &r {
                // A script error is an answer; a dead connection is not.
                assert!(
                    !e.is_io_error() && !e.is_connection_dropped(),
                    "the server stopped answering: {e}"
                );
            }
        }
    });
    let _: () = common::q(&mut c, &["PING"]);
}
