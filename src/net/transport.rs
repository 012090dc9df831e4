//! A client connection's byte stream, on either io engine: the shard's network driver
//! (`--io-engine uring`, the default) or glommio's `TcpStream` (`--io-engine glommio`,
//! the earlier path, kept as a fallback and a baseline).

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::runtime::driver::Socket;

/// Replies waiting to be sent beyond this make the connection wait before it reads
/// more commands (a client that does not read its replies stops being served).
const OUTPUT_HIGH: usize = 1 << 20;

const READ_CHUNK: usize = 16 * 1024;

pub enum Transport {
    Uring(Socket),
    Stream { stream: TcpStream, chunk: Vec<u8> },
}

impl Transport {
    pub fn stream(stream: TcpStream) -> Transport {
        let _ = stream.set_nodelay(true);
        Transport::Stream {
            stream,
            chunk: vec![0u8; READ_CHUNK],
        }
    }

    /// Whether `write` sends at once (glommio's stream) rather than leaving the bytes
    /// for the driver's next loop (which logs the shard's writes first).
    pub fn sends_at_once(&self) -> bool {
        matches!(self, Transport::Stream { .. })
    }

    pub fn fd(&self) -> RawFd {
        match self {
            Transport::Uring(s) => s.fd(),
            Transport::Stream { stream, .. } => stream.as_raw_fd(),
        }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Uring(s) => s.peer_addr(),
            Transport::Stream { stream, .. } => stream.peer_addr().ok(),
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Uring(s) => s.local_addr(),
            Transport::Stream { stream, .. } => stream.local_addr().ok(),
        }
    }

    /// Marks the connection as waiting at a command boundary in a plain state, so a
    /// shard busy in a script may answer it meanwhile (driver only; see
    /// `runtime/driver/busy.rs`).
    pub fn set_idle(&self, idle: bool) {
        if let Transport::Uring(s) = self {
            s.set_idle(idle);
        }
    }

    /// Waits for input and appends it to `buf`; 0 when the peer is gone.
    pub async fn read(&mut self, buf: &mut BytesMut) -> usize {
        match self {
            Transport::Uring(s) => s.read(buf).await,
            Transport::Stream { stream, chunk } => match stream.read(chunk).await {
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    n
                }
                Err(_) => 0,
            },
        }
    }

    /// Sends `out` (leaving it empty); false when the peer is gone. On the driver the
    /// bytes leave with its next submission and this waits only while too much output
    /// piles up.
    pub async fn write(&mut self, out: &mut Vec<u8>) -> bool {
        match self {
            Transport::Uring(s) => {
                s.write(out);
                s.drained(OUTPUT_HIGH).await
            }
            Transport::Stream { stream, .. } => {
                let ok = stream.write_all(out).await.is_ok();
                out.clear();
                ok
            }
        }
    }

    /// Reply bytes handed over and not sent yet (the driver's queue; glommio's stream
    /// sends before `write` returns).
    pub fn pending(&self) -> usize {
        match self {
            Transport::Uring(s) => s.unsent(),
            Transport::Stream { .. } => 0,
        }
    }

    /// Closes the connection after what was written.
    pub async fn close(self) {
        match self {
            Transport::Uring(s) => s.close(),
            Transport::Stream { mut stream, .. } => {
                let _ = stream.close().await;
            }
        }
    }
}
