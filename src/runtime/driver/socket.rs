//! One accepted connection as the driver and the connection's task share it: the bytes
//! received and not yet read, the bytes to send and those in flight, and where the
//! connection is in its life (receiving, draining its output before closing, closed).
//! The task reads and writes through `Socket`; the driver does the I/O.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::{Poll, Waker};

use bytes::BytesMut;

use super::Driver;

/// A connection stops receiving while this much input waits unread (its task is busy
/// elsewhere: a blocking command, a slow reader of its replies); it receives again once
/// the task has read it.
pub const PAUSE_INPUT: usize = 1 << 20;

/// Output buffers keep at most this much memory between replies (a huge reply's
/// buffer is given back once it is sent).
pub const KEEP_CAPACITY: usize = 256 << 10;

/// Empties `buf`, giving its memory back when it grew large.
pub fn recycle(buf: &mut Vec<u8>) {
    if buf.capacity() > KEEP_CAPACITY {
        *buf = Vec::new();
    } else {
        buf.clear();
    }
}

pub struct SockState {
    pub slot: u32,
    pub gen: u32,
    pub fd: RawFd,
    /// Its index in the ring's table of registered files, when it has one.
    pub fixed: Option<u32>,
    pub peer: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    /// Received, not yet read by the task.
    pub input: RefCell<BytesMut>,
    pub reader: Cell<Option<Waker>>,
    /// The peer closed its side, or receiving failed: no more input.
    pub eof: Cell<bool>,
    /// A multishot receive is armed (or being armed).
    pub recv_armed: Cell<bool>,
    /// Receiving stopped because too much input waits (see `PAUSE_INPUT`).
    pub recv_paused: Cell<bool>,
    /// To send, not yet handed to the kernel.
    pub out: RefCell<Vec<u8>>,
    /// Handed to the kernel; `sent` bytes of it are out.
    pub sending: RefCell<Vec<u8>>,
    pub sent: Cell<usize>,
    pub send_busy: Cell<bool>,
    /// Sending failed (the peer is gone): output is dropped.
    pub send_failed: Cell<bool>,
    /// Waiting in the driver's list of sockets with output.
    pub queued: Cell<bool>,
    pub writer: Cell<Option<Waker>>,
    /// The task is done: close once the output is out.
    pub closing: Cell<bool>,
    /// shutdown(2) was called to end the receive.
    pub shut: Cell<bool>,
    /// The task waits for input with nothing of its own buffered, in a state where a
    /// shard busy in a script may answer its commands (see `busy.rs`).
    pub idle: Cell<bool>,
}

impl SockState {
    pub fn new(
        slot: u32,
        gen: u32,
        fd: RawFd,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
    ) -> SockState {
        SockState {
            slot,
            gen,
            fd,
            fixed: None,
            peer,
            local,
            input: RefCell::new(BytesMut::new()),
            reader: Cell::new(None),
            eof: Cell::new(false),
            recv_armed: Cell::new(false),
            recv_paused: Cell::new(false),
            out: RefCell::new(Vec::new()),
            sending: RefCell::new(Vec::new()),
            sent: Cell::new(0),
            send_busy: Cell::new(false),
            send_failed: Cell::new(false),
            queued: Cell::new(false),
            writer: Cell::new(None),
            closing: Cell::new(false),
            shut: Cell::new(false),
            idle: Cell::new(false),
        }
    }

    /// Output not yet acknowledged by the kernel.
    pub fn unsent(&self) -> usize {
        self.out.borrow().len() + self.sending.borrow().len() - self.sent.get()
    }

    pub fn wake_reader(&self) {
        if let Some(w) = self.reader.take() {
            w.wake();
        }
    }

    pub fn wake_writer(&self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }
}

/// A connection's handle for its task.
pub struct Socket {
    pub(super) state: Rc<SockState>,
    pub(super) driver: Rc<Driver>,
}

impl Socket {
    pub fn fd(&self) -> RawFd {
        self.state.fd
    }

    /// Output not yet acknowledged by the kernel.
    pub fn unsent(&self) -> usize {
        self.state.unsent()
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.state.peer
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.state.local
    }

    /// Waits for input and moves all of it to the end of `buf`; 0 when the peer
    /// closed (or the connection failed).
    pub async fn read(&self, buf: &mut BytesMut) -> usize {
        let st = &self.state;
        poll_fn(|cx| {
            let mut input = st.input.borrow_mut();
            if !input.is_empty() {
                let n = input.len();
                if buf.is_empty() {
                    std::mem::swap(buf, &mut *input);
                    // What the reader handed back in exchange may be a big command's
                    // buffer: the driver needs no more than a small one.
                    if input.capacity() > KEEP_CAPACITY {
                        *input = BytesMut::new();
                    }
                } else {
                    buf.extend_from_slice(&input);
                    input.clear();
                }
                drop(input);
                if st.recv_paused.get() {
                    self.driver.resume_recv(st);
                }
                return Poll::Ready(n);
            }
            if st.eof.get() {
                return Poll::Ready(0);
            }
            st.reader.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await
    }

    /// Marks the task as waiting at a command boundary (see `SockState::idle`).
    pub fn set_idle(&self, idle: bool) {
        self.state.idle.set(idle);
    }

    /// Queues the bytes of `data` for sending (leaving `data` empty); they leave with
    /// the driver's next submission.
    pub fn write(&self, data: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        let st = &self.state;
        if st.send_failed.get() {
            data.clear();
            return;
        }
        {
            let mut out = st.out.borrow_mut();
            if out.is_empty() {
                std::mem::swap(&mut *out, data);
                recycle(data);
            } else {
                out.extend_from_slice(data);
                recycle(data);
            }
        }
        self.driver.queue_send(st);
    }

    /// Waits until no more than `most` bytes wait to be sent; false if sending failed.
    pub async fn drained(&self, most: usize) -> bool {
        let st = &self.state;
        poll_fn(|cx| {
            if st.send_failed.get() {
                return Poll::Ready(false);
            }
            if st.unsent() <= most {
                return Poll::Ready(true);
            }
            st.writer.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await
    }

    /// Closes the connection once its output is out.
    pub fn close(self) {
        self.driver.close(&self.state);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if !self.state.closing.get() {
            self.driver.close(&self.state);
        }
    }
}
