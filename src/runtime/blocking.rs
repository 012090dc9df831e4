//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN ...). A client whose command finds no data
//! registers a waiter on the shard of each of its keys and waits on its own shard.
//!
//! When a write touches a key that has waiters, its shard serves them in the order they
//! blocked (first blocked, first served), Redis's order:
//! - a waiter whose keys all live on that shard is served right there: the shard runs the
//!   command's non-blocking attempt and sends the reply to the waiter's home shard;
//! - a waiter whose keys span shards is told to retry; its home runs the attempt through
//!   the normal cross-shard path, and the first retry that finds data wins.
//!
//! A waiter that times out asks every shard it registered with to forget it; a shard that
//! already served it says so, and the waiter then waits for that reply rather than
//! answering nil, so no popped element is ever lost.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use shards::cmd::CommandSpec;
use shards::{CmdError, Reply};

pub use crate::base::ids::WaiterId;

/// What a shard keeps about a waiter registered on some of its keys.
#[derive(Clone)]
pub struct Waiter {
    pub who: WaiterId,
    pub db: usize,
    pub spec: &'static CommandSpec,
    pub args: Vec<Bytes>,
    /// All the command's keys live on the registering shard: it may serve the waiter.
    pub local: bool,
    /// This shard's keys of the command.
    pub keys: Vec<Bytes>,
}

/// Sent to a waiter's home shard.
pub enum BlockEvent {
    /// The command ran for the waiter; this is its reply.
    Served(Reply),
    /// One of its keys received data: try again.
    Retry,
}

/// The waiters registered on one shard's keys.
#[derive(Default)]
pub struct BlockRegistry {
    by_key: HashMap<(usize, Bytes), VecDeque<WaiterId>>,
    waiters: HashMap<WaiterId, Waiter>,
}

impl BlockRegistry {
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    pub fn add(&mut self, w: Waiter) {
        for k in &w.keys {
            self.by_key
                .entry((w.db, k.clone()))
                .or_default()
                .push_back(w.who);
        }
        self.waiters.insert(w.who, w);
    }

    /// Forgets a waiter; true if it was still registered here.
    pub fn remove(&mut self, who: WaiterId) -> bool {
        let Some(w) = self.waiters.remove(&who) else {
            return false;
        };
        for k in &w.keys {
            let slot = (w.db, k.clone());
            if let Some(q) = self.by_key.get_mut(&slot) {
                q.retain(|x| *x != who);
                if q.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        true
    }

    /// The waiters on a key, oldest first.
    pub fn queue(&self, db: usize, key: &[u8]) -> Vec<Waiter> {
        self.by_key
            .get(&(db, Bytes::copy_from_slice(key)))
            .map(|q| {
                q.iter()
                    .filter_map(|w| self.waiters.get(w).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// XREAD / XREADGROUP: blocking only with their BLOCK option.
pub fn is_stream_read(spec: &CommandSpec) -> bool {
    spec.keys == shards::cmd::KeyScheme::Streams
}

/// Whether this call of a blocking command may block (a stream read without BLOCK
/// runs as an ordinary command, and so does one whose options do not parse: it then
/// answers its error).
pub fn may_block(spec: &CommandSpec, args: &[Bytes]) -> bool {
    !is_stream_read(spec)
        || shards::cmd::streams::parse_read_args(args).is_ok_and(|r| r.block_ms.is_some())
}

/// The timeout argument of a blocking command, in ms (`None`: wait forever).
pub fn timeout_of(spec: &CommandSpec, args: &[Bytes]) -> Result<Option<u64>, CmdError> {
    if is_stream_read(spec) {
        let ms = shards::cmd::streams::parse_read_args(args)?.block_ms;
        return Ok(ms.filter(|&ms| ms > 0));
    }
    let pos = if spec.has(shards::cmd::flags::TIMEOUT_FIRST) {
        1
    } else {
        args.len() - 1
    };
    shards::cmd::lists::timeout_arg(&args[pos])
}

/// Whether a blocking command's reply means "nothing to pop yet".
pub fn found_nothing(reply: &Reply) -> bool {
    matches!(reply, Reply::NilArray | Reply::Nil)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shards::ShardId;

    fn waiter(home: ShardId, id: u64, keys: &[&str]) -> Waiter {
        Waiter {
            who: WaiterId { home, id },
            db: 0,
            spec: shards::lookup(b"blpop").unwrap(),
            args: Vec::new(),
            local: true,
            keys: keys
                .iter()
                .map(|k| Bytes::copy_from_slice(k.as_bytes()))
                .collect(),
        }
    }

    #[test]
    fn waiters_queue_in_blocking_order_and_leave_every_key() {
        let mut r = BlockRegistry::default();
        r.add(waiter(0, 1, &["a", "b"]));
        r.add(waiter(1, 1, &["a"]));
        r.add(waiter(0, 2, &["b"]));
        let order: Vec<_> = r.queue(0, b"a").iter().map(|w| w.who).collect();
        assert_eq!(
            order,
            vec![WaiterId { home: 0, id: 1 }, WaiterId { home: 1, id: 1 }]
        );
        assert!(r.remove(WaiterId { home: 0, id: 1 }));
        assert!(!r.remove(WaiterId { home: 0, id: 1 }));
        assert_eq!(r.queue(0, b"b").len(), 1);
        r.remove(WaiterId { home: 1, id: 1 });
        assert!(r.queue(0, b"a").is_empty());
        assert!(!r.is_empty());
    }
}
