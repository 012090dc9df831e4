//! The metrics endpoint (`--metrics-port`): plain HTTP/1.1 on one of glommio's
//! listeners, served by shard 0 only (the network driver never sees it). One request
//! per connection: `GET /metrics` (or HEAD) answers the text `commands/metrics.rs`
//! writes, other paths 404, other methods 405, a request head that is malformed or
//! longer than 8 KiB 400; then the connection closes. Nothing a client sends can do
//! more than get one of these answers or be dropped.
//!
//! The connection's reads and writes go through glommio's own rings: while one is open
//! the network driver lets glommio's loop run often (`ForeignIo`). Between scrapes
//! nothing is held, so on an idle shard 0 a new connection may wait up to the driver's
//! longest sleep (100 ms) to be accepted.

use std::cell::Cell;
use std::net::Shutdown;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};

use crate::base::exposition::CONTENT_TYPE;
use crate::base::log;
use crate::runtime::exec::{self, ForeignIo};
use crate::runtime::shard::Shard;
use crate::runtime::sleep::sleep;

/// The longest request head read (request line and headers).
const MAX_HEAD: usize = 8 * 1024;
/// Connections served at once; more are closed at once.
const MAX_OPEN: usize = 16;
/// Time a client has to send its request head, and to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// After the answer: time, and bytes, to wait for the client to close first (so
/// unread input does not turn the close into a reset that loses the answer).
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

/// Accepts on `listener` for as long as the shard runs.
pub async fn serve(shard: Rc<Shard>, listener: TcpListener) {
    let open = Rc::new(Cell::new(0usize));
    loop {
        match listener.accept().await {
            Ok(stream) => {
                if open.get() >= MAX_OPEN {
                    drop(stream);
                    continue;
                }
                open.set(open.get() + 1);
                let (shard, open) = (shard.clone(), open.clone());
                exec::spawn(async move {
                    let _glommio_io = ForeignIo::begin();
                    answer(&shard, stream).await;
                    open.set(open.get() - 1);
                });
            }
            Err(e) => {
                log::warning(&format!("metrics: accept failed: {e}"));
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Serves one connection.
async fn answer(shard: &Rc<Shard>, mut stream: TcpStream) {
    let reply = match read_head(&mut stream).await {
        Some(Ok(head)) => match parse(&head) {
            Request::Metrics { head_only } => {
                let body = crate::commands::metrics::render(shard).await;
                response("200 OK", CONTENT_TYPE, &[], body.as_bytes(), head_only)
            }
            Request::NotFound { head_only } => text("404 Not Found", &[], head_only),
            Request::BadMethod => text("405 Method Not Allowed", &["Allow: GET, HEAD"], false),
            Request::Bad => text("400 Bad Request", &[], false),
        },
        Some(Err(TooLong)) => text("400 Bad Request", &[], false),
        // Closed, failed or too slow: nothing to answer.
        None => return close(stream).await,
    };
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    if stream.write_all(&reply).await.is_ok() && stream.flush().await.is_ok() {
        linger(&mut stream).await;
    }
    close(stream).await;
}

async fn close(mut stream: TcpStream) {
    let _ = stream.close().await;
}

/// Ends the sending side and reads what the client still sends until it closes.
async fn linger(stream: &mut TcpStream) {
    if stream.shutdown(Shutdown::Write).await.is_err() {
        return;
    }
    let until = Instant::now() + LINGER;
    let mut buf = [0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

/// A request head longer than `MAX_HEAD`.
struct TooLong;

/// The request head without its final empty line; `None` when the client closed,
/// failed or took longer than `IO_TIMEOUT` in all.
async fn read_head(stream: &mut TcpStream) -> Option<Result<Vec<u8>, TooLong>> {
    let until = Instant::now() + IO_TIMEOUT;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).ok()?;
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => n,
        };
        // The end may straddle two reads.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        if let Some(at) = memchr::memmem::find(&head[from..], b"\r\n\r\n") {
            let end = from + at;
            if end > MAX_HEAD {
                return Some(Err(TooLong));
            }
            head.truncate(end);
            return Some(Ok(head));
        }
        if head.len() >= MAX_HEAD {
            return Some(Err(TooLong));
        }
    }
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Metrics { head_only: bool },
    NotFound { head_only: bool },
    BadMethod,
    Bad,
}

/// Reads the request line (`METHOD target HTTP/1.x`); the headers are not needed.
fn parse(head: &[u8]) -> Request {
    let line = match memchr::memmem::find(head, b"\r\n") {
        Some(end) => &head[..end],
        None => head,
    };
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Request::Bad;
    };
    let token = |s: &[u8]| !s.is_empty() && s.iter().all(|b| b.is_ascii_graphic());
    if !token(method) || !token(target) || !matches!(version, b"HTTP/1.0" | b"HTTP/1.1") {
        return Request::Bad;
    }
    let head_only = match method {
        b"GET" => false,
        b"HEAD" => true,
        _ => return Request::BadMethod,
    };
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    if path == b"/metrics" {
        Request::Metrics { head_only }
    } else {
        Request::NotFound { head_only }
    }
}

/// An answer with a short plain-text body (its status).
fn text(status: &str, extra: &[&str], head_only: bool) -> Vec<u8> {
    let body = format!("{status}\n");
    response(
        status,
        "text/plain; charset=utf-8",
        extra,
        body.as_bytes(),
        head_only,
    )
}

fn response(
    status: &str,
    content_type: &str,
    extra: &[&str],
    body: &[u8],
    head_only: bool,
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    for h in extra {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let metrics = Request::Metrics { head_only: false };
        assert_eq!(parse(b"GET /metrics HTTP/1.1\r\nHost: x"), metrics);
        assert_eq!(parse(b"GET /metrics?name[]=x HTTP/1.0"), metrics);
        assert_eq!(
            parse(b"HEAD /metrics HTTP/1.1"),
            Request::Metrics { head_only: true }
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\n"),
            Request::NotFound { head_only: false }
        );
        assert_eq!(parse(b"POST /metrics HTTP/1.1"), Request::BadMethod);
        for bad in [
            &b""[..],
            b"GET /metrics",
            b"GET  /metrics HTTP/1.1",
            b"GET /metrics HTTP/2",
            b"GET /metrics HTTP/1.1 x",
            b"GET /m\x00 HTTP/1.1",
            b"\xff\xfe /metrics HTTP/1.1",
        ] {
            assert_eq!(
                parse(bad),
                Request::Bad,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn responses_carry_length_and_close() {
        let r = response("200 OK", CONTENT_TYPE, &[], b"abc", false);
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
             Content-Length: 3\r\nConnection: close\r\n\r\nabc"
        );
        let r = text("405 Method Not Allowed", &["Allow: GET, HEAD"], true);
        let r = String::from_utf8(r).unwrap();
        assert!(r.contains("Content-Length: 23\r\n"), "{r}");
        assert!(r.ends_with("Allow: GET, HEAD\r\n\r\n"), "{r}");
    }
}
