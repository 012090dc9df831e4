//! The mailboxes between shards. Every shard has an inbox that any shard may post to
//! (a lock-free queue); work for another shard waits in a per-destination outbox until
//! the shard flushes, once per round of its executor, so that all connections of a
//! shard that need the same peer in one round share one message, and the peer answers
//! a message with one message. A posted message rings the destination's doorbell: an
//! io_uring message to its network ring when it has one (it wakes from its own wait),
//! else a wake-up of the task that reads its inbox.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{fence, AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::task::Waker;

use atomic_waker::AtomicWaker;
use crossbeam_queue::SegQueue;
use futures_channel::oneshot;

use crate::base::ids::ShardId;

/// A message between shards: requests `Q` under tickets, or answers `A` to tickets.
pub enum Msg<Q, A> {
    Req { from: ShardId, items: Vec<(u64, Q)> },
    Resp { items: Vec<(u64, A)> },
}

struct Inbox<Q, A> {
    queue: SegQueue<Msg<Q, A>>,
    waker: AtomicWaker,
    /// The owner's network ring (-1: none; it reads its inbox in a task).
    ring_fd: AtomicI32,
    /// The owner waits in its ring: a post must ring it. Awake, it reads its inbox
    /// before it next waits, so no doorbell is needed.
    parked: AtomicBool,
}

/// Every shard's inbox, shared by all shards of the process.
pub struct Postbox<Q, A> {
    inboxes: Vec<Inbox<Q, A>>,
}

impl<Q, A> Postbox<Q, A> {
    pub fn new(shards: usize) -> Arc<Postbox<Q, A>> {
        Arc::new(Postbox {
            inboxes: (0..shards)
                .map(|_| Inbox {
                    queue: SegQueue::new(),
                    waker: AtomicWaker::new(),
                    ring_fd: AtomicI32::new(-1),
                    parked: AtomicBool::new(false),
                })
                .collect(),
        })
    }

    pub fn shards(&self) -> usize {
        self.inboxes.len()
    }

    /// Shard `me` reads its inbox from its network ring: peers ring it there.
    pub fn set_ring(&self, me: ShardId, fd: i32) {
        self.inboxes[me].ring_fd.store(fd, Ordering::Release);
    }

    /// The network ring of shard `to`, if it has one.
    pub fn ring_of(&self, to: ShardId) -> Option<i32> {
        let fd = self.inboxes[to].ring_fd.load(Ordering::Acquire);
        (fd >= 0).then_some(fd)
    }

    /// Puts a message in `to`'s inbox. The caller rings the doorbell (see `Mailbox`).
    fn push(&self, to: ShardId, msg: Msg<Q, A>) {
        self.inboxes[to].queue.push(msg);
    }

    /// Wakes the task reading `to`'s inbox.
    fn wake(&self, to: ShardId) {
        self.inboxes[to].waker.wake();
    }

    /// Shard `me` is about to wait in its ring: from now on posts ring it. Returns
    /// false if mail arrived meanwhile (then it must not wait).
    pub fn park(&self, me: ShardId) -> bool {
        let inbox = &self.inboxes[me];
        inbox.parked.store(true, Ordering::SeqCst);
        // Pairs with the fence in `Mailbox::flush`: either the poster sees `parked`,
        // or this sees its message.
        fence(Ordering::SeqCst);
        if inbox.queue.is_empty() {
            return true;
        }
        inbox.parked.store(false, Ordering::Relaxed);
        false
    }

    /// Whether mail waits for shard `me`.
    pub fn has_mail(&self, me: ShardId) -> bool {
        !self.inboxes[me].queue.is_empty()
    }

    /// Shard `me` is awake again.
    pub fn unpark(&self, me: ShardId) {
        self.inboxes[me].parked.store(false, Ordering::Relaxed);
    }

    fn is_parked(&self, to: ShardId) -> bool {
        self.inboxes[to].parked.load(Ordering::SeqCst)
    }

    /// The next message for `me`.
    pub fn take(&self, me: ShardId) -> Option<Msg<Q, A>> {
        self.inboxes[me].queue.pop()
    }

    /// The task reading `me`'s inbox waits: a post wakes it.
    pub fn register(&self, me: ShardId, waker: &Waker) {
        self.inboxes[me].waker.register(waker);
    }
}

/// How a shard rings a peer whose inbox has a new message.
pub trait Doorbell {
    /// Rings `fd`'s ring; false if this thread cannot (then the peer's task is woken).
    fn ring(&self, fd: i32) -> bool;
}

/// One shard's side of the mailboxes: its outboxes and the answers it waits for.
pub struct Mailbox<Q, A> {
    me: ShardId,
    post: Arc<Postbox<Q, A>>,
    pending: RefCell<HashMap<u64, oneshot::Sender<A>>>,
    next_ticket: Cell<u64>,
    requests: RefCell<Vec<Vec<(u64, Q)>>>,
    answers: RefCell<Vec<Vec<(u64, A)>>>,
    /// Something waits in an outbox.
    dirty: Cell<bool>,
}

impl<Q, A> Mailbox<Q, A> {
    pub fn new(me: ShardId, post: Arc<Postbox<Q, A>>) -> Mailbox<Q, A> {
        let n = post.shards();
        Mailbox {
            me,
            post,
            pending: RefCell::new(HashMap::new()),
            next_ticket: Cell::new(1),
            requests: RefCell::new((0..n).map(|_| Vec::new()).collect()),
            answers: RefCell::new((0..n).map(|_| Vec::new()).collect()),
            dirty: Cell::new(false),
        }
    }

    pub fn postbox(&self) -> &Arc<Postbox<Q, A>> {
        &self.post
    }

    /// Queues `work` for shard `to`; returns the receiver of its answer, and whether
    /// the outboxes were empty before (then the caller schedules a flush).
    pub fn request(&self, to: ShardId, work: Q) -> (oneshot::Receiver<A>, bool) {
        let (tx, rx) = oneshot::channel();
        let ticket = self.next_ticket.get();
        self.next_ticket.set(ticket + 1);
        self.pending.borrow_mut().insert(ticket, tx);
        self.requests.borrow_mut()[to].push((ticket, work));
        (rx, !self.dirty.replace(true))
    }

    /// Queues answers for shard `to`; returns whether a flush must be scheduled.
    pub fn answer(&self, to: ShardId, done: Vec<(u64, A)>) -> bool {
        self.answers.borrow_mut()[to].extend(done);
        !self.dirty.replace(true)
    }

    /// Whether something waits in an outbox.
    pub fn is_dirty(&self) -> bool {
        self.dirty.get()
    }

    /// Posts every non-empty outbox as one message (answers first), ringing each peer
    /// that got one. Returns how many messages left.
    pub fn flush(&self, bell: Option<&dyn Doorbell>) -> u64 {
        let mut sent = 0;
        if !self.dirty.replace(false) {
            return sent;
        }
        let n = self.post.shards();
        for to in 0..n {
            let answers = std::mem::take(&mut self.answers.borrow_mut()[to]);
            let requests = std::mem::take(&mut self.requests.borrow_mut()[to]);
            if answers.is_empty() && requests.is_empty() {
                continue;
            }
            if !answers.is_empty() {
                self.post.push(to, Msg::Resp { items: answers });
                sent += 1;
            }
            if !requests.is_empty() {
                self.post.push(
                    to,
                    Msg::Req {
                        from: self.me,
                        items: requests,
                    },
                );
                sent += 1;
            }
            match (bell, self.post.ring_of(to)) {
                (Some(bell), Some(fd)) => {
                    fence(Ordering::SeqCst);
                    if self.post.is_parked(to) && !bell.ring(fd) {
                        self.post.wake(to);
                    }
                }
                _ => self.post.wake(to),
            }
        }
        sent
    }

    /// Whether some request of this shard waits for its answer.
    pub fn awaiting_answers(&self) -> bool {
        !self.pending.borrow().is_empty()
    }

    /// Hands answers that arrived to the tasks waiting for them.
    pub fn deliver(&self, items: Vec<(u64, A)>) {
        let mut pending = self.pending.borrow_mut();
        for (ticket, done) in items {
            if let Some(tx) = pending.remove(&ticket) {
                let _ = tx.send(done);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Bell(RefCell<Vec<i32>>);

    impl Doorbell for Bell {
        fn ring(&self, fd: i32) -> bool {
            self.0.borrow_mut().push(fd);
            true
        }
    }

    fn items<Q, A>(m: Msg<Q, A>) -> (Option<ShardId>, Vec<u64>) {
        match m {
            Msg::Req { from, items } => (Some(from), items.into_iter().map(|i| i.0).collect()),
            Msg::Resp { items } => (None, items.into_iter().map(|i| i.0).collect()),
        }
    }

    #[test]
    fn requests_to_one_peer_leave_as_one_message_in_order() {
        let post: Arc<Postbox<&str, u32>> = Postbox::new(3);
        let a = Mailbox::new(0, post.clone());
        let (_r1, first) = a.request(2, "x");
        let (_r2, again) = a.request(2, "y");
        let (_r3, _) = a.request(1, "z");
        assert!(first && !again, "only the first request asks for a flush");
        assert!(post.take(2).is_none(), "nothing leaves before the flush");
        assert_eq!(a.flush(None), 2);
        assert!(!a.is_dirty());
        assert_eq!(items(post.take(2).unwrap()), (Some(0), vec![1, 2]));
        assert!(post.take(2).is_none());
        assert_eq!(items(post.take(1).unwrap()), (Some(0), vec![3]));
        assert_eq!(a.flush(None), 0);
    }

    #[test]
    fn answers_reach_the_waiting_receivers() {
        let post: Arc<Postbox<&str, u32>> = Postbox::new(2);
        let a = Mailbox::new(0, post.clone());
        let b = Mailbox::new(1, post.clone());
        let (mut rx, _) = a.request(1, "q");
        a.flush(None);
        let Some(Msg::Req { from, items }) = post.take(1) else {
            panic!("a request");
        };
        assert!(b.answer(from, items.into_iter().map(|(t, _)| (t, 42)).collect()));
        b.flush(None);
        let Some(Msg::Resp { items }) = post.take(0) else {
            panic!("an answer");
        };
        assert_eq!(rx.try_recv().unwrap(), None, "not yet delivered");
        a.deliver(items);
        assert_eq!(rx.try_recv().unwrap(), Some(42));
    }

    #[test]
    fn a_peer_waiting_in_its_ring_is_rung_there_an_awake_one_is_not() {
        let post: Arc<Postbox<u8, u8>> = Postbox::new(3);
        post.set_ring(1, 17);
        let a = Mailbox::new(0, post.clone());
        let bell = Bell(RefCell::new(Vec::new()));
        let _r0 = a.request(1, 0);
        a.flush(Some(&bell));
        assert!(
            bell.0.borrow().is_empty(),
            "awake: it reads its inbox anyway"
        );
        assert!(!post.park(1), "mail is waiting: it must not wait");
        post.take(1);
        assert!(post.park(1));
        let _r1 = a.request(1, 1);
        let _r2 = a.request(2, 2);
        a.flush(Some(&bell));
        assert_eq!(
            *bell.0.borrow(),
            vec![17],
            "shard 2 has no ring: its task is woken"
        );
        post.unpark(1);
        assert_eq!(post.ring_of(1), Some(17));
        assert_eq!(post.ring_of(2), None);
    }
}
