//! A connection this server opens to another server, speaking RESP as a client: a
//! replica's link to its primary, a cluster process telling its peers of a role
//! change. Commands out, reply lines (and bulk payloads) in, with timeouts; over TLS
//! when given a client configuration (`tls-replication`).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::base::resp;

pub struct Peer {
    stream: TcpStream,
    /// The TLS session over `stream`, if any.
    tls: Option<Box<rustls::ClientConnection>>,
    pub buf: BytesMut,
    /// How long `ask` waits for a reply line.
    reply_timeout: Duration,
}

impl Peer {
    /// Connects to `host:port` (over TLS with `tls`); a read waits at most `poll`
    /// (then `fill` says so).
    pub async fn connect(
        host: &str,
        port: u16,
        connect_timeout: Duration,
        poll: Duration,
        reply_timeout: Duration,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Peer, String> {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| format!("cannot resolve {host}"))?;
        let stream = TcpStream::connect_timeout(addr, connect_timeout)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(poll));
        let mut peer = Peer {
            stream,
            tls: None,
            buf: BytesMut::new(),
            reply_timeout,
        };
        if let Some(config) = tls {
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|e| format!("TLS: bad server name {host}: {e}"))?;
            let session =
                rustls::ClientConnection::new(config, name).map_err(|e| format!("TLS: {e}"))?;
            peer.tls = Some(Box::new(session));
            peer.handshake(Instant::now() + connect_timeout).await?;
        }
        Ok(peer)
    }

    /// Completes the TLS handshake by `deadline`.
    async fn handshake(&mut self, deadline: Instant) -> Result<(), String> {
        while self.tls.as_ref().is_some_and(|t| t.is_handshaking()) {
            self.flush_tls().await?;
            if !self.tls.as_ref().is_some_and(|t| t.is_handshaking()) {
                break;
            }
            if !self.fill().await? && Instant::now() > deadline {
                return Err("TLS: handshake timed out".into());
            }
        }
        self.flush_tls().await
    }

    /// Writes what the TLS session has to send.
    async fn flush_tls(&mut self) -> Result<(), String> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(());
        };
        let mut wire = Vec::new();
        while tls.wants_write() {
            tls.write_tls(&mut wire).map_err(|e| format!("TLS: {e}"))?;
        }
        if !wire.is_empty() {
            self.stream
                .write_all(&wire)
                .await
                .map_err(|e| format!("write: {e}"))?;
            self.stream
                .flush()
                .await
                .map_err(|e| format!("write: {e}"))?;
        }
        Ok(())
    }

    pub async fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut out = Vec::new();
        resp::encode_command(&mut out, args);
        if let Some(tls) = self.tls.as_mut() {
            tls.writer()
                .write_all(&out)
                .map_err(|e| format!("TLS: {e}"))?;
            return self.flush_tls().await;
        }
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| format!("write: {e}"))?;
        self.stream.flush().await.map_err(|e| format!("write: {e}"))
    }

    /// Reads more bytes; Ok(false) when the read timed out.
    pub async fn fill(&mut self) -> Result<bool, String> {
        let mut chunk = vec![0u8; 64 << 10];
        let n = match self.stream.read(&mut chunk).await {
            Ok(0) => return Err("the peer closed the connection".into()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(format!("read: {e}")),
        };
        let Some(tls) = self.tls.as_mut() else {
            self.buf.extend_from_slice(&chunk[..n]);
            return Ok(true);
        };
        let mut wire = &chunk[..n];
        while !wire.is_empty() {
            tls.read_tls(&mut wire).map_err(|e| format!("TLS: {e}"))?;
            let state = tls.process_new_packets().map_err(|e| format!("TLS: {e}"))?;
            let mut plain = vec![0u8; state.plaintext_bytes_to_read()];
            if !plain.is_empty() {
                tls.reader()
                    .read_exact(&mut plain)
                    .map_err(|e| format!("TLS: {e}"))?;
                self.buf.extend_from_slice(&plain);
            }
            if state.peer_has_closed() {
                return Err("the peer closed the connection".into());
            }
        }
        // Handshake or session messages the TLS session answers.
        self.flush_tls().await?;
        Ok(true)
    }

    /// The next line (without CRLF), skipping the bare newlines a primary sends while
    /// it prepares a snapshot.
    pub async fn line(&mut self, deadline: Instant) -> Result<String, String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                let _ = self.buf.split_to(1);
            }
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(end + 2);
                return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            if Instant::now() > deadline {
                return Err("timeout waiting for the peer".into());
            }
            self.fill().await?;
        }
    }

    /// `len` bytes of payload, waiting at most `idle` between two reads.
    pub async fn payload(&mut self, len: usize, idle: Duration) -> Result<Vec<u8>, String> {
        let mut last = Instant::now();
        while self.buf.len() < len {
            if self.fill().await? {
                last = Instant::now();
            } else if last.elapsed() > idle {
                return Err("timeout receiving a payload".into());
            }
        }
        Ok(self.buf.split_to(len).to_vec())
    }

    /// A command and its one-line reply.
    pub async fn ask(&mut self, args: &[&[u8]]) -> Result<String, String> {
        self.send(args).await?;
        self.line(Instant::now() + self.reply_timeout).await
    }

    /// A command whose reply is a bulk string (INFO): its text; an error line is an
    /// error.
    pub async fn ask_bulk(&mut self, args: &[&[u8]]) -> Result<String, String> {
        let header = self.ask(args).await?;
        let len: usize = header
            .strip_prefix('$')
            .and_then(|l| l.parse().ok())
            .ok_or(header)?;
        let body = self.payload(len + 2, self.reply_timeout).await?;
        Ok(String::from_utf8_lossy(&body[..len]).into_owned())
    }
}
