//! The network driver of one shard: its own io_uring for the network, set up with
//! SINGLE_ISSUER and DEFER_TASKRUN (completions are reaped only when the shard enters
//! the ring, so no interrupts from other CPUs), a registered ring fd, registered files
//! for accepted sockets, multishot accept, multishot receive into a provided-buffer
//! ring, and one send per connection per loop.
//!
//! glommio stays the executor of tasks: the driver is one task that never lets glommio
//! park. Each loop it reaps completions (waking the connections' tasks), reads the
//! shard's inbox, fires due timers, then yields until every runnable task has run,
//! posts the shard's outboxes (ringing peers with IORING_OP_MSG_RING in the same
//! submission), queues the sends, and makes one `io_uring_enter` that submits
//! everything and waits for the next completion, a peer's doorbell or the next timer.
//! So a loop costs one system call, however many requests it serves.

mod bufring;
mod busy;
mod enter;
mod socket;
mod timers;
pub mod watchdog;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use crate::base::log;
use crate::runtime::exec;
use crate::runtime::mailbox::Doorbell;

use bufring::BufRing;
use enter::RingHandle;
pub use socket::Socket;
use socket::{recycle, SockState, PAUSE_INPUT};
use timers::Timers;

/// Kinds of completion, in the top byte of `user_data`.
const ACCEPT: u64 = 1;
const RECV: u64 = 2;
const SEND: u64 = 3;
/// A peer's IORING_OP_MSG_RING: its inbox has mail for us.
const DOORBELL: u64 = 4;
/// Our own MSG_RING that failed (a successful one posts nothing here).
const BELL_SENT: u64 = 5;
const CANCEL: u64 = 6;

const BUF_GROUP: u16 = 1;

fn user_data(kind: u64, gen: u32, index: u32) -> u64 {
    (kind << 56) | ((gen as u64 & 0xff_ffff) << 32) | index as u64
}

fn parts(ud: u64) -> (u64, u32, u32) {
    (ud >> 56, ((ud >> 32) & 0xff_ffff) as u32, ud as u32)
}

/// Sizes of a driver.
#[derive(Debug, Clone, Copy)]
pub struct DriverConfig {
    /// Submission queue entries (the completion queue has twice as many).
    pub entries: u32,
    /// Receive buffers (a power of two) and their size.
    pub buffers: u16,
    pub buffer_size: usize,
    /// Registered file slots for accepted sockets (more connections use plain fds).
    pub fixed_files: u32,
    /// The longest wait in the ring before the driver lets glommio look at its own
    /// rings (no longer than glommio's preempt period).
    pub max_wait: Duration,
    /// How long an idle driver polls its inbox (and its ring, every few microseconds)
    /// before it waits in the ring, when it expects mail soon: it waits for answers
    /// from peers, or got mail less than this long ago. Waking a sleeping thread costs
    /// tens of microseconds on some machines; polling answers a peer within a
    /// microsecond but keeps the core busy meanwhile. 0 never polls.
    pub idle_spin: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            entries: 1024,
            buffers: 128,
            buffer_size: 16 * 1024,
            fixed_files: 4096,
            max_wait: Duration::from_millis(100),
            idle_spin: Duration::ZERO,
        }
    }
}

/// Called with each accepted connection.
pub type OnAccept = Rc<dyn Fn(Socket)>;

struct Listener {
    fd: RawFd,
    armed: bool,
    on_accept: OnAccept,
}

/// What the shard does at points of the loop.
#[derive(Default)]
pub struct Hooks {
    /// Reads the inbox; whether there was mail.
    pub read_inbox: Option<Box<dyn Fn() -> bool>>,
    /// Posts the outboxes (before the driver waits).
    pub post_mail: Option<Box<dyn Fn()>>,
    /// The driver is about to wait (`true`; returns false if mail arrived, then it
    /// does not wait) or is awake again (`false`).
    pub park: Option<Box<dyn Fn(bool) -> bool>>,
    /// Whether mail waits in the inbox (polled while spinning).
    pub has_mail: Option<Box<dyn Fn() -> bool>>,
    /// Whether the shard waits for answers from peers.
    pub awaiting_answers: Option<Box<dyn Fn() -> bool>>,
}

/// Counters for INFO and tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct DriverStats {
    pub loops: u64,
    pub enters: u64,
    pub accepted: u64,
    pub recv_rearms: u64,
    /// Times a receive found no buffer and more joined the ring.
    pub recv_buffer_growths: u64,
    pub short_sends: u64,
}

pub struct Driver {
    ring: RefCell<IoUring>,
    handle: RingHandle,
    bufs: RefCell<BufRing>,
    socks: RefCell<Vec<Option<Rc<SockState>>>>,
    gens: RefCell<Vec<u32>>,
    free: RefCell<Vec<u32>>,
    fixed_files: u32,
    listeners: RefCell<Vec<Listener>>,
    /// Sockets with output to submit, or a receive to arm.
    to_send: RefCell<Vec<Rc<SockState>>>,
    to_arm: RefCell<Vec<Rc<SockState>>>,
    /// Peers' rings to ring in the next submission.
    bells: RefCell<Vec<RawFd>>,
    timers: RefCell<Timers>,
    hooks: RefCell<Hooks>,
    /// Completions being handled (kept to reuse its memory).
    cqes: RefCell<Vec<cqueue::Entry>>,
    /// New connections may be answered before their task runs (see `busy.rs`).
    accept_idle: Cell<bool>,
    max_wait: Duration,
    idle_spin: Duration,
    /// When mail last arrived.
    last_mail: Cell<Instant>,
    stopped: Cell<bool>,
    stats: Cell<DriverStats>,
    watch: watchdog::Watch,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Driver>>> = const { RefCell::new(None) };
}

/// The driver of this thread's shard, if it runs on one.
pub fn current() -> Option<Rc<Driver>> {
    CURRENT.with(|c| c.borrow().clone())
}

impl Driver {
    /// Sets up the ring (and makes it this thread's driver).
    pub fn new(cfg: DriverConfig) -> std::io::Result<Rc<Driver>> {
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_cqsize(cfg.entries * 2)
            .build(cfg.entries)?;
        let handle = RingHandle::register(ring.as_raw_fd());
        // The registered file table counts against RLIMIT_NOFILE: with a low limit
        // fewer connections get a fixed slot (the others use their plain fd).
        let fixed_files = cfg.fixed_files.min((open_files_limit() / 2) as u32);
        if fixed_files > 0 {
            ring.submitter().register_files_sparse(fixed_files)?;
        }
        let bufs = BufRing::new(&ring, BUF_GROUP, cfg.buffers, cfg.buffer_size)?;
        let driver = Rc::new(Driver {
            ring: RefCell::new(ring),
            handle,
            bufs: RefCell::new(bufs),
            socks: RefCell::new(Vec::new()),
            gens: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            fixed_files,
            listeners: RefCell::new(Vec::new()),
            to_send: RefCell::new(Vec::new()),
            to_arm: RefCell::new(Vec::new()),
            bells: RefCell::new(Vec::new()),
            timers: RefCell::new(Timers::default()),
            hooks: RefCell::new(Hooks::default()),
            cqes: RefCell::new(Vec::new()),
            accept_idle: Cell::new(false),
            max_wait: cfg.max_wait,
            idle_spin: cfg.idle_spin,
            last_mail: Cell::new(Instant::now()),
            stopped: Cell::new(false),
            stats: Cell::new(DriverStats::default()),
            watch: watchdog::Watch::default(),
        });
        CURRENT.with(|c| *c.borrow_mut() = Some(driver.clone()));
        Ok(driver)
    }

    /// The heap bytes of the receive buffers (held whatever the load).
    pub fn buffer_bytes(&self) -> usize {
        self.bufs.borrow().bytes_held()
    }

    /// Returns the receive buffers' pages to the kernel when no completion waits to be
    /// handled (called when the shard goes idle).
    pub fn release_idle_buffers(&self) {
        if self.ring.borrow_mut().completion().is_empty() {
            self.bufs.borrow().release_pages();
        }
    }

    /// The ring's fd, for peers' doorbells.
    pub fn ring_fd(&self) -> RawFd {
        self.ring.borrow().as_raw_fd()
    }

    pub fn set_hooks(&self, hooks: Hooks) {
        *self.hooks.borrow_mut() = hooks;
    }

    pub fn stats(&self) -> DriverStats {
        self.stats.get()
    }

    fn count(&self, f: impl FnOnce(&mut DriverStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Accepts connections on `fd` (a listening socket) for as long as the driver runs.
    pub fn listen(&self, fd: RawFd, on_accept: OnAccept) {
        self.listeners.borrow_mut().push(Listener {
            fd,
            armed: false,
            on_accept,
        });
    }

    /// Ends `run` after its current loop.
    pub fn stop(&self) {
        self.stopped.set(true);
    }

    /// Queues an entry, submitting what is queued when the ring is full.
    fn push(&self, entry: squeue::Entry) {
        let mut ring = self.ring.borrow_mut();
        loop {
            // SAFETY: every buffer an entry points to (receive buffers, a socket's
            // `sending` vector) stays alive and untouched until its completion.
            if unsafe { ring.submission().push(&entry) }.is_ok() {
                return;
            }
            let n = ring.submission().len() as u32;
            if let Err(e) = self.handle.enter(n, 0, None) {
                log::warning(&format!("io_uring submit failed: {e}"));
                return;
            }
        }
    }

    /// The driver's loop (see the module comment). It must run as the executor's main
    /// future or in a task spawned with `glommio::spawn_local`, never with
    /// `exec::spawn`: it counts the polls of the other tasks to know when they are done.
    pub async fn run(self: Rc<Self>) {
        use watchdog::Phase;
        self.watch.remember_waker().await;
        while !self.stopped.get() {
            self.count(|s| s.loops += 1);
            self.reap();
            self.read_inbox();
            self.timers.borrow_mut().fire(Instant::now());
            // Let every task that is runnable now run, until none is (answers from
            // peers that arrive meanwhile wake more tasks).
            loop {
                let before = exec::polls();
                self.watch.phase.set(Phase::Yielded);
                futures_lite::future::yield_now().await;
                self.watch.resumed();
                if exec::polls() == before && !self.read_inbox() {
                    break;
                }
            }
            if exec::foreign_io() {
                // Some task waits for glommio's own I/O: let glommio's loop run.
                self.submit_all();
                self.enter(false, None);
                self.watch.phase.set(Phase::GlommioSleep);
                exec::glommio_sleep(Duration::from_micros(200)).await;
                self.watch.resumed();
                continue;
            }
            self.submit_all();
            if self.expects_mail() && self.spin() {
                continue;
            }
            if !self.park(true) {
                self.enter(false, None);
                continue;
            }
            let deadline = self.timers.borrow_mut().next();
            let wait = deadline
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(self.max_wait)
                .min(self.max_wait);
            self.enter(true, Some(wait));
            self.park(false);
        }
    }

    /// Polls for mail (and, every few microseconds, for completions) for up to
    /// `idle_spin`; whether something arrived.
    fn spin(&self) -> bool {
        const ENTER_EVERY: Duration = Duration::from_micros(8);
        self.enter(false, None);
        let start = Instant::now();
        let mut entered = start;
        loop {
            if !self.ring.borrow_mut().completion().is_empty() {
                return true;
            }
            if let Some(has_mail) = &self.hooks.borrow().has_mail {
                if has_mail() {
                    return true;
                }
            }
            let now = Instant::now();
            if now.duration_since(start) >= self.idle_spin {
                return false;
            }
            if now.duration_since(entered) >= ENTER_EVERY {
                self.enter(false, None);
                entered = now;
            }
            std::hint::spin_loop();
        }
    }

    /// Tells the shard the driver waits (or no longer does); see `Hooks::park`.
    fn park(&self, parking: bool) -> bool {
        match &self.hooks.borrow().park {
            Some(park) => park(parking),
            None => true,
        }
    }

    /// Reads the shard's inbox; whether there was mail.
    fn read_inbox(&self) -> bool {
        let got = match &self.hooks.borrow().read_inbox {
            Some(read) => read(),
            None => false,
        };
        if got {
            self.last_mail.set(Instant::now());
        }
        got
    }

    /// Whether the driver should poll before it sleeps (see `DriverConfig::idle_spin`).
    fn expects_mail(&self) -> bool {
        if self.idle_spin.is_zero() {
            return false;
        }
        let awaiting = match &self.hooks.borrow().awaiting_answers {
            Some(f) => f(),
            None => false,
        };
        awaiting || self.last_mail.get().elapsed() < self.idle_spin
    }

    /// Arms accepts and receives, posts mail, queues sends and doorbells.
    fn submit_all(&self) {
        if let Some(post) = &self.hooks.borrow().post_mail {
            post();
        }
        self.arm_listeners();
        self.submit_io();
        for fd in std::mem::take(&mut *self.bells.borrow_mut()) {
            let entry = opcode::MsgRingData::new(types::Fd(fd), 0, user_data(DOORBELL, 0, 0), None)
                .build()
                .flags(squeue::Flags::SKIP_SUCCESS)
                .user_data(user_data(BELL_SENT, 0, 0));
            self.push(entry);
        }
    }

    /// Queues the receives to arm and the sends to start; returns used buffers.
    fn submit_io(&self) {
        for st in std::mem::take(&mut *self.to_arm.borrow_mut()) {
            self.arm_recv(&st);
        }
        for st in std::mem::take(&mut *self.to_send.borrow_mut()) {
            st.queued.set(false);
            self.start_send(&st);
        }
        self.bufs.borrow_mut().publish();
    }

    /// One `io_uring_enter`: submits what is queued and, when `wait`, waits for a
    /// completion or `timeout`.
    fn enter(&self, wait: bool, timeout: Option<Duration>) {
        self.count(|s| s.enters += 1);
        let to_submit = self.ring.borrow_mut().submission().len() as u32;
        let res = if wait {
            self.handle
                .enter(to_submit, 1, Some(timeout.unwrap_or(self.max_wait)))
        } else {
            self.handle.enter(to_submit, 0, None)
        };
        if let Err(e) = res {
            match e.raw_os_error() {
                Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY) => {}
                _ => log::warning(&format!("io_uring_enter failed: {e}")),
            }
        }
    }

    /// Handles every completion in the ring.
    fn reap(&self) {
        let mut cqes = std::mem::take(&mut *self.cqes.borrow_mut());
        cqes.extend(self.ring.borrow_mut().completion());
        for cqe in cqes.drain(..) {
            let (kind, gen, index) = parts(cqe.user_data());
            match kind {
                ACCEPT => self.on_accept(index as usize, cqe.result(), cqe.flags()),
                RECV => self.on_recv(gen, index, cqe.result(), cqe.flags()),
                SEND => self.on_send(gen, index, cqe.result()),
                DOORBELL | BELL_SENT | CANCEL => {}
                _ => {}
            }
        }
        *self.cqes.borrow_mut() = cqes;
    }

    fn arm_listeners(&self) {
        let mut listeners = self.listeners.borrow_mut();
        for (i, l) in listeners.iter_mut().enumerate() {
            if !l.armed {
                l.armed = true;
                let entry = opcode::AcceptMulti::new(types::Fd(l.fd))
                    .build()
                    .user_data(user_data(ACCEPT, 0, i as u32));
                self.push(entry);
            }
        }
    }

    fn on_accept(&self, listener: usize, res: i32, flags: u32) {
        if !cqueue::more(flags) {
            if let Some(l) = self.listeners.borrow_mut().get_mut(listener) {
                l.armed = false;
            }
        }
        if res < 0 {
            let e = std::io::Error::from_raw_os_error(-res);
            log::warning(&format!("accept failed: {e}"));
            return;
        }
        self.count(|s| s.accepted += 1);
        let fd = res;
        let st = self.register_socket(fd);
        let on_accept = self.listeners.borrow()[listener].on_accept.clone();
        let me = current().expect("the driver runs on its own thread");
        self.to_arm.borrow_mut().push(st.clone());
        on_accept(Socket {
            state: st,
            driver: me,
        });
    }

    /// Gives an accepted socket a slot (and a registered file when there is room).
    fn register_socket(&self, fd: RawFd) -> Rc<SockState> {
        set_nodelay(fd);
        let (peer, local) = (peer_addr(fd), local_addr(fd));
        let slot = match self.free.borrow_mut().pop() {
            Some(s) => s,
            None => {
                let mut socks = self.socks.borrow_mut();
                socks.push(None);
                self.gens.borrow_mut().push(0);
                (socks.len() - 1) as u32
            }
        };
        let gen = {
            let mut gens = self.gens.borrow_mut();
            gens[slot as usize] = (gens[slot as usize] + 1) & 0xff_ffff;
            gens[slot as usize]
        };
        let mut st = SockState::new(slot, gen, fd, peer, local);
        st.idle.set(self.accept_idle.get());
        if slot < self.fixed_files {
            let ring = self.ring.borrow();
            if ring.submitter().register_files_update(slot, &[fd]).is_ok() {
                st.fixed = Some(slot);
            }
        }
        let st = Rc::new(st);
        self.socks.borrow_mut()[slot as usize] = Some(st.clone());
        st
    }

    fn sock(&self, gen: u32, index: u32) -> Option<Rc<SockState>> {
        let socks = self.socks.borrow();
        let st = socks.get(index as usize)?.as_ref()?;
        (st.gen == gen).then(|| st.clone())
    }

    fn arm_recv(&self, st: &Rc<SockState>) {
        if st.recv_armed.get() || st.eof.get() || st.shut.get() {
            return;
        }
        st.recv_armed.set(true);
        st.recv_paused.set(false);
        let ud = user_data(RECV, st.gen, st.slot);
        let entry = match st.fixed {
            Some(i) => opcode::RecvMulti::new(types::Fixed(i), BUF_GROUP).build(),
            None => opcode::RecvMulti::new(types::Fd(st.fd), BUF_GROUP).build(),
        };
        self.push(entry.user_data(ud));
    }

    fn on_recv(&self, gen: u32, index: u32, res: i32, flags: u32) {
        let Some(st) = self.sock(gen, index) else {
            return;
        };
        let more = cqueue::more(flags);
        if res > 0 {
            let bid = cqueue::buffer_select(flags).expect("a receive picks a buffer");
            {
                let mut bufs = self.bufs.borrow_mut();
                st.input
                    .borrow_mut()
                    .extend_from_slice(bufs.bytes(bid, res as usize));
                bufs.give_back(bid);
            }
            st.wake_reader();
        }
        if more {
            if st.input.borrow().len() > PAUSE_INPUT && !st.recv_paused.get() {
                // Stop receiving until the task reads: cancel the multishot receive.
                st.recv_paused.set(true);
                let entry = opcode::AsyncCancel::new(user_data(RECV, st.gen, st.slot))
                    .build()
                    .user_data(user_data(CANCEL, 0, 0));
                self.push(entry);
            }
            return;
        }
        st.recv_armed.set(false);
        if res == -libc::ENOBUFS && self.bufs.borrow_mut().grow() {
            self.count(|s| s.recv_buffer_growths += 1);
        }
        let paused = st.recv_paused.get();
        match res {
            // Ended with data, or out of buffers: receive again.
            r if r > 0 || r == -libc::ENOBUFS => self.rearm_unless_paused(&st),
            // Cancelled to pause: `resume_recv` arms it again.
            r if r == -libc::ECANCELED && paused => {}
            _ => {
                // 0: the peer closed; another error: the connection failed.
                st.eof.set(true);
                st.wake_reader();
            }
        }
        // The reader may have drained the input while the cancelled receive was still
        // in flight (its `resume_recv` then saw the receive armed and did nothing):
        // resume here, or nothing ever would.
        self.resume_recv(&st);
        if st.closing.get() {
            self.advance_close(&st);
        }
    }

    fn rearm_unless_paused(&self, st: &Rc<SockState>) {
        if st.recv_paused.get() || st.closing.get() {
            return;
        }
        self.count(|s| s.recv_rearms += 1);
        self.to_arm.borrow_mut().push(st.clone());
    }

    /// The task read a paused connection's input: receive again.
    fn resume_recv(&self, st: &Rc<SockState>) {
        if st.recv_paused.get() && !st.recv_armed.get() && st.input.borrow().len() < PAUSE_INPUT {
            st.recv_paused.set(false);
            self.to_arm.borrow_mut().push(st.clone());
        }
    }

    fn queue_send(&self, st: &Rc<SockState>) {
        if !st.queued.replace(true) {
            self.to_send.borrow_mut().push(st.clone());
        }
    }

    /// Hands the socket's output to the kernel unless a send is in flight.
    fn start_send(&self, st: &Rc<SockState>) {
        if st.send_busy.get() || st.send_failed.get() {
            return;
        }
        {
            let mut out = st.out.borrow_mut();
            if out.is_empty() {
                return;
            }
            let mut sending = st.sending.borrow_mut();
            recycle(&mut sending);
            std::mem::swap(&mut *out, &mut *sending);
        }
        st.sent.set(0);
        self.push_send(st);
    }

    fn push_send(&self, st: &Rc<SockState>) {
        st.send_busy.set(true);
        let (ptr, len) = {
            let sending = st.sending.borrow();
            let off = st.sent.get();
            (sending[off..].as_ptr(), (sending.len() - off) as u32)
        };
        let ud = user_data(SEND, st.gen, st.slot);
        let entry = match st.fixed {
            Some(i) => opcode::Send::new(types::Fixed(i), ptr, len),
            None => opcode::Send::new(types::Fd(st.fd), ptr, len),
        }
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(ud);
        self.push(entry);
    }

    fn on_send(&self, gen: u32, index: u32, res: i32) {
        let Some(st) = self.sock(gen, index) else {
            return;
        };
        st.send_busy.set(false);
        if res < 0 {
            st.send_failed.set(true);
            st.out.borrow_mut().clear();
            st.sending.borrow_mut().clear();
            st.sent.set(0);
        } else {
            let sent = st.sent.get() + res as usize;
            st.sent.set(sent);
            if sent < st.sending.borrow().len() {
                self.count(|s| s.short_sends += 1);
                self.push_send(&st);
                return;
            }
            recycle(&mut st.sending.borrow_mut());
            st.sent.set(0);
            self.start_send(&st);
        }
        st.wake_writer();
        if st.closing.get() {
            self.advance_close(&st);
        }
    }

    /// The task is done with a connection: close it once its output is out.
    fn close(&self, st: &Rc<SockState>) {
        st.closing.set(true);
        st.wake_writer();
        self.advance_close(st);
    }

    /// Moves a closing connection on: after its output, end its receive; after that,
    /// close it.
    fn advance_close(&self, st: &Rc<SockState>) {
        if st.send_busy.get() || (!st.out.borrow().is_empty() && !st.send_failed.get()) {
            if !st.send_busy.get() {
                self.queue_send(st);
            }
            return;
        }
        if st.recv_armed.get() {
            if !st.shut.replace(true) {
                // The receive ends with 0 (then `on_recv` comes back here).
                // SAFETY: the fd is this connection's, still open.
                unsafe {
                    libc::shutdown(st.fd, libc::SHUT_RDWR);
                }
            }
            return;
        }
        let slot = st.slot as usize;
        let mine = self
            .socks
            .borrow()
            .get(slot)
            .and_then(|s| s.as_ref().map(|s| s.gen))
            == Some(st.gen);
        if !mine {
            return;
        }
        if let Some(i) = st.fixed {
            let ring = self.ring.borrow();
            let _ = ring.submitter().register_files_update(i, &[-1]);
        }
        // SAFETY: the fd is this connection's; nothing uses it any more.
        unsafe {
            libc::close(st.fd);
        }
        self.socks.borrow_mut()[slot] = None;
        self.free.borrow_mut().push(st.slot);
    }

    /// Registers a timer; see `runtime::sleep`.
    pub fn add_timer(&self, at: Instant, waker: std::task::Waker) -> u64 {
        self.timers.borrow_mut().add(at, waker)
    }

    pub fn update_timer(&self, id: u64, waker: &std::task::Waker) {
        self.timers.borrow_mut().update(id, waker);
    }

    pub fn cancel_timer(&self, id: u64) {
        self.timers.borrow_mut().cancel(id);
    }

    pub fn timer_fired(&self, id: u64) -> bool {
        self.timers.borrow().fired(id)
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.socks.borrow().iter().filter(|s| s.is_some()).count()
    }
}

impl Doorbell for Driver {
    fn ring(&self, fd: i32) -> bool {
        let mut bells = self.bells.borrow_mut();
        if !bells.contains(&fd) {
            bells.push(fd);
        }
        true
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let ring = self.ring.borrow();
        let _ = ring.submitter().unregister_buf_ring(BUF_GROUP);
    }
}

fn set_nodelay(fd: RawFd) {
    let on: libc::c_int = 1;
    // SAFETY: plain setsockopt on an open socket with a local int.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            &on as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn sockaddr(fd: RawFd, peer: bool) -> Option<SocketAddr> {
    let lent = BorrowedFd(fd);
    let sock = socket2::SockRef::from(&lent);
    let addr = if peer {
        sock.peer_addr()
    } else {
        sock.local_addr()
    };
    addr.ok()?.as_socket()
}

fn peer_addr(fd: RawFd) -> Option<SocketAddr> {
    sockaddr(fd, true)
}

fn local_addr(fd: RawFd) -> Option<SocketAddr> {
    sockaddr(fd, false)
}

/// A raw fd lent to socket2 for an address lookup.
struct BorrowedFd(RawFd);

impl std::os::fd::AsFd for BorrowedFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the fd stays open for the duration of the lookup.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.0) }
    }
}

/// The soft limit on open files (RLIMIT_NOFILE).
fn open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit the call fills.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur
    } else {
        1024
    }
}
