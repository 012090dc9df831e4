//! Test support: starts the real corecache binary on a free loopback port and stops it
//! (by its own PID) when the test ends; plus a raw RESP client for byte-exact checks.

#![allow(dead_code)]

pub mod dataset;
pub mod redis_server;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub port: u16,
    /// The directory `start_with` made for it, removed with it.
    own_dir: Option<Scratch>,
    /// Lines of the server's network-driver watchdog seen in its log: a shard whose
    /// driver stopped being scheduled. Any fails the test when the server is dropped.
    stalls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Server {
    /// Starts corecache with `shards` shards (unpinned, so more shards than CPUs work).
    pub fn start(shards: usize) -> Server {
        Server::start_with(shards, &[])
    }

    /// Unless `extra` names a `--dir`, the server gets an empty directory of its own, so
    /// no test loads (or leaves) a dump.rdb in the working directory.
    pub fn start_with(shards: usize, extra: &[&str]) -> Server {
        let threads = shards.to_string();
        let mut args = vec!["--bind", "127.0.0.1", "--port", "0", "--no-pin"];
        args.extend(["--threads", &threads]);
        let own_dir = (!extra.contains(&"--dir")).then(|| scratch_dir("server"));
        let dir = own_dir
            .as_ref()
            .map(|d| d.to_str().expect("utf-8 temp path").to_string());
        if let Some(d) = &dir {
            args.extend(["--dir", d]);
        }
        args.extend(extra);
        let mut s = Server::start_exact(&args);
        s.own_dir = own_dir;
        s
    }

    /// Starts corecache with exactly these arguments.
    pub fn start_exact(args: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_corecache"));
        cmd.args(args);
        Server::start_command(cmd)
    }

    /// Starts corecache as `cmd` says (e.g. through a shell that lowers a limit
    /// first, ending in `exec corecache ...`); waits for its ready line.
    pub fn start_command(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start corecache");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut said = Vec::new();
        let port = loop {
            assert!(Instant::now() < deadline, "corecache did not start in time");
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("corecache exited before it was ready: {said:?}"))
                .expect("read stderr");
            said.push(line.clone());
            if let Some(rest) = line.split(" ready: ").nth(1) {
                let addr = rest
                    .split_whitespace()
                    .nth(3)
                    .expect("address in ready line");
                break addr.rsplit(':').next().unwrap().parse().expect("port");
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let stalls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = stalls.clone();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                if l.contains("network driver has not run") {
                    eprintln!("[server] {l}");
                    seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                } else if std::env::var_os("CC_SERVER_LOG").is_some() {
                    eprintln!("[server] {l}");
                }
            }
        });
        Server {
            child,
            port,
            own_dir: None,
            stalls,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("client")
    }

    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("connect")
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("server status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS")
    }

    /// Whether the server process is still alive.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stalls = self.stalls.load(std::sync::atomic::Ordering::Relaxed);
        if stalls > 0 && !std::thread::panicking() {
            panic!("the server's network-driver watchdog fired {stalls} time(s): see its log");
        }
    }
}

/// Runs corecache (one shard) with `extra` until it exits by itself, as a start that
/// must fail does; its stderr.
pub fn start_must_fail(extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_corecache"))
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--threads",
            "1",
            "--no-pin",
        ])
        .args(extra)
        .output()
        .expect("run corecache");
    assert!(!out.status.success(), "corecache started with {extra:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A raw TCP client that speaks bytes.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Raw { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads until exactly `expected.len()` bytes arrived and returns them.
    pub fn read_exact_len(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.stream.read_exact(&mut buf).expect("read reply");
        buf
    }

    /// Sends `request` and asserts the reply bytes are exactly `expected`.
    pub fn roundtrip(&mut self, request: &[u8], expected: &[u8]) {
        self.send(request);
        let got = self.read_exact_len(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "reply to {:?}",
            String::from_utf8_lossy(request)
        );
    }

    /// Reads until the peer closes (a reset counts) and returns what arrived; fails if
    /// the connection stays open for 5 s.
    pub fn read_until_closed(&mut self) -> Vec<u8> {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!(
                    "connection not closed ({e}); received {:?}",
                    String::from_utf8_lossy(&out)
                ),
            }
        }
    }

    /// Reads one reply line, CRLF included.
    pub fn read_line(&mut self) -> String {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            line.extend(self.read_exact_len(1));
            assert!(line.len() < 4096, "line too long");
        }
        String::from_utf8_lossy(&line).into_owned()
    }
}

/// A `redis::Cmd` from string arguments.
/// A new empty directory under the system's temp dir, unique to this test process;
/// removed with everything in it when dropped.
pub fn scratch_dir(tag: &str) -> Scratch {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("corecache-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch dir");
    Scratch(dir)
}

/// A scratch directory (see `scratch_dir`).
pub struct Scratch(pub std::path::PathBuf);

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Runs a command that must succeed and converts its reply.
pub fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    cmd(args)
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// Runs a command that must fail; returns "CODE detail".
pub fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    match cmd(args).query::<redis::Value>(c) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
    }
}

/// Encodes a command as a RESP multibulk request.
pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Shard counts every integration test runs with.
pub const SHARD_COUNTS: [usize; 3] = [1, 2, 4];

/// Keys that land on every shard of a `n`-shard server (slot ranges are contiguous).
pub fn keys_on_every_shard(n: usize) -> Vec<String> {
    let mut seen = vec![false; n];
    let mut keys = Vec::new();
    for i in 0.. {
        let k = format!("key:{i}");
        let shard = slot_of(k.as_bytes()) as usize * n / 16384;
        if !seen[shard] {
            seen[shard] = true;
            keys.push(k);
        }
        if seen.iter().all(|&s| s) {
            break;
        }
    }
    keys
}

/// CRC16/XMODEM slot, computed independently of the server's code.
pub fn slot_of(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(o) => match key[o + 1..].iter().position(|&b| b == b'}') {
            Some(l) if l > 0 => &key[o + 1..o + 1 + l],
            _ => key,
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for &b in hashed {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// Waits until `ok()` holds, checking every 20 ms; fails the test with `what` after
/// `secs` seconds.
pub fn eventually(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until INFO reports `n` blocked clients (bounded).
pub fn wait_blocked(c: &mut redis::Connection, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let info: String = q(c, &["INFO", "clients"]);
        if info.contains(&format!("blocked_clients:{n}\r\n")) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never saw {n} blocked clients: {info}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A field of an INFO section, parsed (`String` for the text as it is).
pub fn info_field<T: std::str::FromStr>(c: &mut redis::Connection, section: &str, field: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    let text: String = q(c, &["INFO", section]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("INFO {section} {field}: {e:?}"))
}

/// A run of `n` consecutive free loopback ports.
pub fn free_ports(n: u16) -> u16 {
    // Tests of one binary run at once: each call starts from its own place.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = (std::process::id() as u64 ^ wall_ms()).wrapping_add(call * 104_729);
    for i in 0..200u64 {
        // Below the ephemeral range (32768+), where other tests' free ports come from.
        let base = 20_000 + ((seed.wrapping_mul(2_654_435_761) + i * 7_919) % 12_000) as u16;
        let all_free = (0..n).all(|k| std::net::TcpListener::bind(("127.0.0.1", base + k)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no {n} free consecutive ports");
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Starts one 2-shard process of a multi-process cluster (`--cluster-config`), on
/// `port`, keeping its node ids in `nodes_file` and its data in `dir`.
pub fn cluster_process(port: u16, topology: &str, nodes_file: &str, dir: &str) -> Server {
    let port = port.to_string();
    Server::start_exact(&[
        "--bind",
        "127.0.0.1",
        "--port",
        &port,
        "--threads",
        "2",
        "--no-pin",
        "--save",
        "",
        "--dir",
        dir,
        "--cluster-mode",
        "yes",
        "--cluster-config",
        topology,
        "--cluster-config-file",
        nodes_file,
    ])
}

/// A tiny deterministic generator (xorshift), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
