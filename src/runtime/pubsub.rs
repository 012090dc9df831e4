//! Pub/Sub on one shard: which of this shard's clients listen to which channels and
//! patterns, and delivering a message to them. A client subscribes on its own shard
//! only (no hop); a PUBLISH visits every shard (see `commands::pubsub`), and each shard
//! hands the message to its own subscribers through their push queues, which their
//! connections drain (`net::conn`).
//!
//! A subscriber that does not read is bounded by `client-output-buffer-limit pubsub`:
//! past the hard limit of messages waiting for it, or over the soft limit for longer
//! than its seconds, it is disconnected (32 MB, 8 MB and 60 s by default, as Redis).

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use shards::glob::glob_match;
use shards::Reply;

use crate::base::output_limits::OutputLimit;
use crate::runtime::clients::{ClientHandle, Pushed};

/// Per shard, whether any client there subscribed to anything: PUBLISH skips the
/// shards without subscribers. Shards past the table's end are always visited.
static ACTIVE: [AtomicBool; 1024] = [const { AtomicBool::new(false) }; 1024];

/// Whether shard `s` may have subscribers.
pub fn active(s: usize) -> bool {
    ACTIVE.get(s).is_none_or(|a| a.load(Ordering::SeqCst))
}

/// Which kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Channel,
    Pattern,
    /// SSUBSCRIBE's sharded channels.
    Shard,
}

type Subscribers = BTreeMap<u64, Rc<ClientHandle>>;

pub struct Registry {
    shard: usize,
    subs: HashMap<(Kind, Bytes), Subscribers>,
}

impl Registry {
    pub fn new(shard: usize) -> Registry {
        Registry {
            shard,
            subs: HashMap::new(),
        }
    }

    fn note_active(&self) {
        if let Some(a) = ACTIVE.get(self.shard) {
            a.store(!self.subs.is_empty(), Ordering::SeqCst);
        }
    }

    /// Adds `client` to `name`; false if it was there already.
    pub fn add(&mut self, kind: Kind, name: Bytes, client: &Rc<ClientHandle>) -> bool {
        let id = client.info.borrow().id;
        let added = self
            .subs
            .entry((kind, name))
            .or_default()
            .insert(id, client.clone())
            .is_none();
        self.note_active();
        added
    }

    /// Removes client `id` from `name`; false if it was not there.
    pub fn remove(&mut self, kind: Kind, name: &Bytes, id: u64) -> bool {
        let key = (kind, name.clone());
        let Some(set) = self.subs.get_mut(&key) else {
            return false;
        };
        let removed = set.remove(&id).is_some();
        if set.is_empty() {
            self.subs.remove(&key);
            self.note_active();
        }
        removed
    }

    /// Hands a message on `channel` to this shard's subscribers of it (and, for
    /// plain channels, of matching patterns); how many received it.
    pub fn deliver(
        &self,
        sharded: bool,
        channel: &Bytes,
        message: &Bytes,
        limit: &OutputLimit,
    ) -> usize {
        let kind = if sharded { Kind::Shard } else { Kind::Channel };
        let verb: &[u8] = if sharded { b"smessage" } else { b"message" };
        let mut n = 0;
        if let Some(set) = self.subs.get(&(kind, channel.clone())) {
            let push = Pushed::of(&Reply::Push(vec![
                Reply::bulk(verb),
                Reply::bulk(channel),
                Reply::bulk(message),
            ]));
            for c in set.values() {
                n += usize::from(send(c, push.clone(), limit));
            }
        }
        if !sharded {
            for ((kind, pattern), set) in &self.subs {
                if *kind != Kind::Pattern || !glob_match(pattern, channel) {
                    continue;
                }
                let push = Pushed::of(&Reply::Push(vec![
                    Reply::bulk(b"pmessage"),
                    Reply::bulk(pattern),
                    Reply::bulk(channel),
                    Reply::bulk(message),
                ]));
                for c in set.values() {
                    n += usize::from(send(c, push.clone(), limit));
                }
            }
        }
        n
    }

    /// Names with subscribers of `kind`, and how many each has here.
    pub fn names(&self, kind: Kind) -> impl Iterator<Item = (&Bytes, usize)> {
        self.subs
            .iter()
            .filter(move |((k, _), _)| *k == kind)
            .map(|((_, name), set)| (name, set.len()))
    }
}

/// Queues `push` for client `c` under `limit`: false when it is gone or over the
/// limit (then it is disconnected).
pub fn send(c: &ClientHandle, push: Pushed, limit: &OutputLimit) -> bool {
    send_as(c, push, limit, "pubsub")
}

/// `send` for a client of output-limit class `class` (for the log).
pub(crate) fn send_as(c: &ClientHandle, push: Pushed, limit: &OutputLimit, class: &str) -> bool {
    if c.killed.get() {
        return false;
    }
    let waiting = c.push_bytes.get() + push.size();
    if !within_limit(c, waiting, limit, class) {
        return false;
    }
    let sent = c
        .pushes
        .borrow()
        .as_ref()
        .is_some_and(|tx| tx.unbounded_send(push).is_ok());
    if sent {
        c.push_bytes.set(waiting);
    }
    sent
}

/// Whether `waiting` bytes of output for `c` are within `limit`; when not, the client
/// is disconnected (and the log says so, naming the class).
pub(crate) fn within_limit(
    c: &ClientHandle,
    waiting: usize,
    limit: &OutputLimit,
    class: &str,
) -> bool {
    if !over_limit(c, waiting as u64, limit) {
        return true;
    }
    crate::base::log::warning(&format!(
        "closing client id={}: {waiting} bytes of output waiting, over \
         client-output-buffer-limit {class} {} {} {}",
        c.info.borrow().id,
        limit.hard,
        limit.soft,
        limit.soft_secs
    ));
    c.kill();
    false
}

/// Over the hard limit, or over the soft one for longer than its seconds (0: no limit).
fn over_limit(c: &ClientHandle, waiting: u64, limit: &OutputLimit) -> bool {
    if limit.hard > 0 && waiting > limit.hard {
        return true;
    }
    if limit.soft == 0 || waiting <= limit.soft {
        c.over_soft_since.set(None);
        return false;
    }
    match c.over_soft_since.get() {
        None => {
            c.over_soft_since.set(Some(std::time::Instant::now()));
            false
        }
        Some(t) => t.elapsed().as_secs() >= limit.soft_secs,
    }
}
