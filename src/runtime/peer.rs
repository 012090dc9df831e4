//! A connection this server opens to another server, speaking RESP as a client: a
//! replica's link to its primary, a cluster process telling its peers of a role
//! change. Commands out, reply lines (and bulk payloads) in, with timeouts.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::base::resp;

pub struct Peer {
    stream: TcpStream,
    pub buf: BytesMut,
    /// How long `ask` waits for a reply line.
    reply_timeout: Duration,
}

impl Peer {
    /// Connects to `host:port`; a read waits at most `poll` (then `fill` says so).
    pub async fn connect(
        host: &str,
        port: u16,
        connect_timeout: Duration,
        poll: Duration,
        reply_timeout: Duration,
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
        Ok(Peer {
            stream,
            buf: BytesMut::new(),
            reply_timeout,
        })
    }

    pub async fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut out = Vec::new();
        resp::encode_command(&mut out, args);
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| format!("write: {e}"))?;
        self.stream.flush().await.map_err(|e| format!("write: {e}"))
    }

    /// Reads more bytes; Ok(false) when the read timed out.
    pub async fn fill(&mut self) -> Result<bool, String> {
        let mut chunk = vec![0u8; 64 << 10];
        match self.stream.read(&mut chunk).await {
            Ok(0) => Err("the peer closed the connection".into()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(format!("read: {e}")),
        }
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
