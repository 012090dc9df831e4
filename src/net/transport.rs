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
/// more commands (a client that does not read its replies stops being served), unless
/// the caller allows more (`write_up_to`: an output limit that closes it first).
pub const OUTPUT_HIGH: usize = 1 << 20;

const READ_CHUNK: usize = 16 * 1024;

pub enum Transport {
    Uring(Socket),
    Stream {
        stream: TcpStream,
        chunk: Vec<u8>,
    },
    /// A TLS session (rustls) over glommio's stream (`tls-port`).
    Tls(Box<TlsStream>),
}

/// A TLS client: a rustls session over the connection's plain transport (the
/// driver's socket or glommio's stream).
pub struct TlsStream {
    inner: Transport,
    session: rustls::ServerConnection,
    /// Decrypted bytes on their way to the read buffer.
    chunk: Vec<u8>,
    /// TLS records read from the connection, not yet given to the session.
    raw: BytesMut,
}

impl TlsStream {
    /// Sends every TLS record the session has ready; false when the peer is gone.
    /// (Waiting while more than `high` bytes are unsent, as `Transport::write_up_to`.)
    async fn send_records(&mut self, high: usize) -> bool {
        let mut wire = Vec::new();
        while self.session.wants_write() {
            if self.session.write_tls(&mut wire).is_err() {
                return false;
            }
        }
        wire.is_empty() || Box::pin(self.inner.write_up_to(&mut wire, high)).await
    }

    /// Moves decrypted bytes into `buf`; `false` at the end of the stream.
    fn take_plaintext(&mut self, buf: &mut BytesMut) -> bool {
        use std::io::Read;
        loop {
            match self.session.reader().read(&mut self.chunk) {
                Ok(0) => return false,
                Ok(n) => buf.extend_from_slice(&self.chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }

    /// Waits for application data (the handshake runs on the way); how many bytes it
    /// appended, 0 when the peer is gone or the session failed.
    async fn read(&mut self, buf: &mut BytesMut) -> usize {
        let start = buf.len();
        loop {
            let open = self.take_plaintext(buf);
            if buf.len() > start || !open {
                return buf.len() - start;
            }
            if Box::pin(self.inner.read(&mut self.raw)).await == 0 {
                return 0;
            }
            let mut failed = false;
            while !self.raw.is_empty() && !failed {
                let mut rd: &[u8] = &self.raw;
                failed = self.session.read_tls(&mut rd).is_err();
                let used = self.raw.len() - rd.len();
                let _ = self.raw.split_to(used);
                failed = failed || self.session.process_new_packets().is_err();
                // Decrypted bytes make room for the rest of the records.
                failed = !self.take_plaintext(buf) || failed;
            }
            // Handshake messages, or the alert of a failed session, go out now.
            if !Box::pin(self.send_records(OUTPUT_HIGH)).await || failed {
                return buf.len() - start;
            }
        }
    }
}

impl Transport {
    /// A connection on the TLS port over its plain transport, before its handshake
    /// (which runs with the first read).
    pub fn tls(
        inner: Transport,
        config: std::sync::Arc<rustls::ServerConfig>,
    ) -> Option<Transport> {
        let session = rustls::ServerConnection::new(config).ok()?;
        Some(Transport::Tls(Box::new(TlsStream {
            inner,
            session,
            chunk: vec![0u8; READ_CHUNK],
            raw: BytesMut::with_capacity(READ_CHUNK),
        })))
    }

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
        match self {
            Transport::Uring(_) => false,
            Transport::Stream { .. } => true,
            Transport::Tls(t) => t.inner.sends_at_once(),
        }
    }

    pub fn fd(&self) -> RawFd {
        match self {
            Transport::Uring(s) => s.fd(),
            Transport::Stream { stream, .. } => stream.as_raw_fd(),
            Transport::Tls(t) => t.inner.fd(),
        }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Uring(s) => s.peer_addr(),
            Transport::Stream { stream, .. } => stream.peer_addr().ok(),
            Transport::Tls(t) => t.inner.peer_addr(),
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Uring(s) => s.local_addr(),
            Transport::Stream { stream, .. } => stream.local_addr().ok(),
            Transport::Tls(t) => t.inner.local_addr(),
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
            Transport::Tls(t) => t.read(buf).await,
        }
    }

    /// Sends `out` (leaving it empty); false when the peer is gone. On the driver the
    /// bytes leave with its next submission and this waits only while too much output
    /// piles up.
    pub async fn write(&mut self, out: &mut Vec<u8>) -> bool {
        self.write_up_to(out, OUTPUT_HIGH).await
    }

    /// `write`, waiting only while more than `high` bytes are unsent (on the driver,
    /// TLS on it too; glommio's stream sends everything before returning).
    pub async fn write_up_to(&mut self, out: &mut Vec<u8>, high: usize) -> bool {
        match self {
            Transport::Uring(s) => {
                s.write(out);
                s.drained(high).await
            }
            Transport::Stream { stream, .. } => {
                let ok = stream.write_all(out).await.is_ok();
                out.clear();
                ok
            }
            Transport::Tls(t) => {
                use std::io::Write;
                let ok = t.session.writer().write_all(out).is_ok();
                out.clear();
                ok && Box::pin(t.send_records(high)).await
            }
        }
    }

    /// Reply bytes handed over and not sent yet (the driver's queue; glommio's stream
    /// sends before `write` returns).
    pub fn pending(&self) -> usize {
        match self {
            Transport::Uring(s) => s.unsent(),
            Transport::Stream { .. } => 0,
            Transport::Tls(t) => t.inner.pending(),
        }
    }

    /// Closes the connection after what was written.
    pub async fn close(self) {
        match self {
            Transport::Uring(s) => s.close(),
            Transport::Stream { mut stream, .. } => {
                let _ = stream.close().await;
            }
            Transport::Tls(mut t) => {
                t.session.send_close_notify();
                let _ = t.send_records(OUTPUT_HIGH).await;
                Box::pin(t.inner.close()).await;
            }
        }
    }
}
