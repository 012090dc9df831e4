//! MIGRATE: moves keys to another server (redis-server or corecache) over a plain
//! client connection: AUTH and SELECT when needed, then one RESTORE (RESTORE-ASKING in
//! cluster mode) per key with its remaining TTL and DUMP payload, all written at once;
//! the replies are read back in order and every key the target accepted is deleted
//! here unless COPY was given. Replies and errors are redis-server 7's.
//!
//! Unlike Redis we keep no cache of target connections: each MIGRATE connects anew.
//! The keys are fetched from (and deleted on) their owning shards one after the other,
//! so a MIGRATE is not atomic against concurrent writers of the same keys.

use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use shards::args::{eq_ic, parse_i64};
use shards::ops::ShardOp;
use shards::rdb;
use shards::{CmdError, Entry, Reply};

use crate::base::resp;
use crate::coord::cross;
use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;

/// The options of one MIGRATE.
#[derive(Debug, Default)]
struct Request {
    copy: bool,
    replace: bool,
    username: Option<Bytes>,
    password: Option<Bytes>,
    keys: Vec<Bytes>,
    db: i64,
    timeout: Duration,
}

fn parse(args: &[Bytes]) -> Result<Request, CmdError> {
    let mut r = Request::default();
    let mut first_key = 3;
    let mut num_keys = 1;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let a = &args[j];
        if eq_ic(a, "COPY") {
            r.copy = true;
        } else if eq_ic(a, "REPLACE") {
            r.replace = true;
        } else if eq_ic(a, "AUTH") {
            if more == 0 {
                return Err(CmdError::Syntax);
            }
            j += 1;
            r.password = Some(args[j].clone());
        } else if eq_ic(a, "AUTH2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            r.username = Some(args[j + 1].clone());
            r.password = Some(args[j + 2].clone());
            j += 2;
        } else if eq_ic(a, "KEYS") {
            if !args[3].is_empty() {
                return Err(CmdError::other(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to \
                     the empty string",
                ));
            }
            first_key = j + 1;
            num_keys = args.len() - j - 1;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let timeout = parse_i64(&args[5])?;
    r.db = parse_i64(&args[4])?;
    r.timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    r.keys = args[first_key..first_key + num_keys].to_vec();
    Ok(r)
}

fn io_error(doing: &str) -> CmdError {
    CmdError::other(format!("IOERR error or timeout {doing} target instance"))
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key ...]. `asking` sends RESTORE-ASKING instead of
/// RESTORE (cluster mode).
pub async fn run(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    args: &[Bytes],
    asking: bool,
) -> Result<Reply, CmdError> {
    let req = parse(args)?;
    // Cluster mode: writes to these keys wait (TRYAGAIN) until they are gone from here.
    let _in_flight = crate::commands::cluster::InFlight::new(&req.keys);
    let db = client.info.borrow().db;

    let mut found: Vec<(Bytes, Entry)> = Vec::new();
    for key in &req.keys {
        if let Some(entry) = cross::get_entry(shard, None, db, key).await {
            found.push((key.clone(), entry));
        }
    }
    if found.is_empty() {
        return Ok(Reply::Status("NOKEY".into()));
    }

    // The connection to the target is one of glommio's: while it is in use, the
    // network driver lets glommio's loop poll it.
    let _glommio_io = crate::runtime::exec::ForeignIo::begin();
    let mut stream = connect(&args[1], &args[2], req.timeout).await?;

    let now = shard.ks.borrow().now();
    let mut out = Vec::new();
    if let Some(pass) = &req.password {
        match &req.username {
            Some(user) => resp::encode_command(&mut out, &[&b"AUTH"[..], user, pass]),
            None => resp::encode_command(&mut out, &[&b"AUTH"[..], pass]),
        }
    }
    resp::encode_command(&mut out, &[b"SELECT", req.db.to_string().as_bytes()]);
    let verb: &[u8] = if asking {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    let mut sent = Vec::with_capacity(found.len());
    for (key, entry) in &found {
        let ttl = match entry.expire_at {
            0 => 0,
            at if at < now => continue,
            at => (at - now).max(1),
        };
        let payload = rdb::dump_payload(&entry.value);
        let ttl = ttl.to_string();
        let mut parts: Vec<&[u8]> = vec![verb, key, ttl.as_bytes(), &payload];
        if req.replace {
            parts.push(b"REPLACE");
        }
        resp::encode_command(&mut out, &parts);
        sent.push(key.clone());
    }
    if stream.write_all(&out).await.is_err() || stream.flush().await.is_err() {
        return Err(io_error("writing to"));
    }

    let mut lines = LineReader::default();
    let mut setup_error = None;
    if req.password.is_some() {
        let line = lines
            .next(&mut stream)
            .await
            .ok_or_else(|| io_error("reading to"))?;
        setup_error = line.strip_prefix('-').map(str::to_string);
    }
    let line = lines
        .next(&mut stream)
        .await
        .ok_or_else(|| io_error("reading to"))?;
    if setup_error.is_none() {
        setup_error = line.strip_prefix('-').map(str::to_string);
    }

    let mut target_error: Option<String> = None;
    let mut socket_error = false;
    for key in &sent {
        let Some(line) = lines.next(&mut stream).await else {
            socket_error = true;
            break;
        };
        let error = setup_error
            .clone()
            .or_else(|| line.strip_prefix('-').map(str::to_string));
        match error {
            Some(e) => {
                target_error.get_or_insert(e);
            }
            None if !req.copy => delete(shard, db, key).await,
            None => {}
        }
    }
    if let Some(e) = target_error {
        return Err(CmdError::other(format!(
            "ERR Target instance replied with error: {e}"
        )));
    }
    if socket_error {
        return Err(io_error("reading to"));
    }
    Ok(Reply::Ok)
}

/// Connects to the target. Like redis-server, whose non-blocking connect only waits
/// for the socket to turn writable, a refused connection shows up as a failed write;
/// an unresolvable address or a connect timeout is a failure to connect.
async fn connect(host: &[u8], port: &[u8], timeout: Duration) -> Result<TcpStream, CmdError> {
    let connecting = || CmdError::other("IOERR error or timeout connecting to the client");
    let host = std::str::from_utf8(host).map_err(|_| connecting())?;
    let port: u16 = std::str::from_utf8(port)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let addr: SocketAddr = (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(connecting)?;
    let stream = match TcpStream::connect_timeout(addr, timeout).await {
        Ok(s) => s,
        Err(e) => {
            let e: std::io::Error = e.into();
            return Err(if e.kind() == std::io::ErrorKind::TimedOut {
                connecting()
            } else {
                io_error("writing to")
            });
        }
    };
    let configured = stream.set_read_timeout(Some(timeout)).is_ok()
        && stream.set_write_timeout(Some(timeout)).is_ok()
        && stream.set_nodelay(true).is_ok();
    if !configured {
        return Err(io_error("writing to"));
    }
    Ok(stream)
}

async fn delete(shard: &Rc<Shard>, db: usize, key: &Bytes) {
    let to = cross::owner(shard, key);
    let take = ShardOp::TakeEntry {
        db,
        key: key.clone(),
    };
    cross::op(shard, None, to, take).await;
}

/// Reads reply lines; RESTORE, AUTH and SELECT answer with one status or error line.
#[derive(Default)]
struct LineReader {
    buf: Vec<u8>,
}

impl LineReader {
    /// The next line without its CRLF; `None` on error, timeout or a closed connection.
    async fn next(&mut self, stream: &mut TcpStream) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn parses_options_as_redis() {
        let r = parse(&args(&[
            "migrate", "h", "1", "", "3", "0", "copy", "auth2", "u", "p", "keys", "a", "b",
        ]))
        .unwrap();
        assert!(r.copy && !r.replace);
        assert_eq!(r.db, 3);
        assert_eq!(r.timeout, Duration::from_millis(1000));
        assert_eq!(r.keys, args(&["a", "b"]));
        assert_eq!(r.username.as_deref(), Some(&b"u"[..]));
        let e = parse(&args(&["migrate", "h", "1", "k", "0", "5", "keys", "a"])).unwrap_err();
        assert!(e
            .message()
            .starts_with("ERR When using MIGRATE KEYS option"));
        let e = parse(&args(&["migrate", "h", "1", "k", "0", "5", "auth"])).unwrap_err();
        assert_eq!(e, CmdError::Syntax);
        let e = parse(&args(&["migrate", "h", "1", "k", "x", "5"])).unwrap_err();
        assert_eq!(e, CmdError::NotInteger);
    }

    #[test]
    fn requests_are_resp_arrays() {
        let mut out = Vec::new();
        resp::encode_command(&mut out, &[&b"SELECT"[..], b"0"]);
        assert_eq!(out, b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
    }
}
