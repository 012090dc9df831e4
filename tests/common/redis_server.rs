//! A real redis-server for compatibility tests: started on a free loopback port with
//! persistence off, stopped (by its own PID) when dropped. `start` returns `None`, with
//! a note on stderr, when redis-server is not installed, so callers skip visibly.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start(test: &str, extra: &[&str]) -> Option<RedisServer> {
        // The free port may be taken by another test's server before redis-server binds
        // it (it then exits at once, while a connect reaches the other server): retry
        // on a new port until the server we started is the one that listens.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let spawned = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .args(extra)
                // CC_SERVER_LOG shows redis-server's log as well as corecache's.
                .stdout(if std::env::var_os("CC_SERVER_LOG").is_some() {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                })
                .stderr(Stdio::null())
                .spawn();
            let mut child = match spawned {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    eprintln!("note: redis-server is not installed; {test} checks nothing");
                    return None;
                }
                Err(e) => panic!("start redis-server: {e}"),
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut exited = false;
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if child.try_wait().ok().flatten().is_some() {
                    exited = true;
                    break;
                }
                assert!(Instant::now() < deadline, "redis-server did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(50));
            if exited || child.try_wait().ok().flatten().is_some() {
                let _ = child.wait();
                continue;
            }
            return Some(RedisServer { child, port });
        }
        panic!("redis-server could not start on a free port in 5 tries");
    }

    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("connect to redis-server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real redis-sentinel monitoring `name` at `127.0.0.1:primary_port` (quorum 1,
/// down after `down_ms`), on a free loopback port with its config file in `dir`;
/// stopped by its own PID when dropped. `None` when redis-sentinel is not installed.
pub struct RedisSentinel {
    child: Child,
    pub port: u16,
}

impl RedisSentinel {
    pub fn start(
        test: &str,
        dir: &std::path::Path,
        name: &str,
        primary_port: u16,
        down_ms: u64,
    ) -> Option<RedisSentinel> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let conf = dir.join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\n\
                 sentinel monitor {name} 127.0.0.1 {primary_port} 1\n\
                 sentinel down-after-milliseconds {name} {down_ms}\n\
                 sentinel failover-timeout {name} 10000\n\
                 sentinel parallel-syncs {name} 1\n",
                dir.display()
            ),
        )
        .expect("write sentinel.conf");
        let child = match Command::new("redis-sentinel")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("note: redis-sentinel is not installed; {test} checks nothing");
                return None;
            }
            Err(e) => panic!("start redis-sentinel: {e}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-sentinel did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(RedisSentinel { child, port })
    }

    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("connect to redis-sentinel")
    }
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
