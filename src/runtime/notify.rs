//! Keyspace notifications on a shard: the events a write raises (named by
//! `shards::notify` from the command, its reply and its keys' existence before and
//! after), expired and evicted keys, published on `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>` to subscribers on every shard without waiting for
//! their counts; and `Shard::publish`, which PUBLISH shares. Events of one key come in order; events of a command whose keys live
//! on several shards may interleave differently than in Redis.

use std::rc::Rc;

use bytes::Bytes;
use shards::notify as notify_class;
use shards::ops::{OpOutput, ShardOp};

use futures_channel::oneshot;

use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Job, Work, WorkDone};

/// A write's keys before it ran, for its keyspace notifications.
pub(crate) struct Noticed {
    spec: &'static shards::CommandSpec,
    db: usize,
    args: Vec<Bytes>,
    keys: Vec<Bytes>,
    before: Vec<bool>,
}

impl Shard {
    /// `notify-keyspace-events` on this shard.
    pub fn set_notify(&self, flags: u32) {
        self.notify.set(flags);
        let mut ks = self.ks.borrow_mut();
        if flags & notify_class::EXPIRED != 0 {
            ks.expired_log.get_or_insert_with(Vec::new);
        } else {
            ks.expired_log = None;
        }
        if flags & notify_class::KEY_MISS != 0 {
            ks.miss_log.get_or_insert_with(Vec::new);
        } else {
            ks.miss_log = None;
        }
        ks.raise_events = flags & notify_class::WRITE_EVENTS != 0
            && flags & (notify_class::KEYSPACE | notify_class::KEYEVENT) != 0;
    }

    /// A write's keys and whether each exists, before it runs.
    pub(crate) fn notice_before(&self, op: &ShardOp) -> Option<Noticed> {
        let ShardOp::Cmd { spec, db, args, .. } = op else {
            return None;
        };
        if !spec.has(shards::cmd::flags::WRITE) {
            return None;
        }
        let keys: Vec<Bytes> = spec.key_positions(args).map(|i| args[i].clone()).collect();
        let mut ks = self.ks.borrow_mut();
        let before = keys.iter().map(|k| ks.exists(*db, k)).collect();
        Some(Noticed {
            spec,
            db: *db,
            args: args.clone(),
            keys,
            before,
        })
    }

    pub(crate) fn notice_after(self: &Rc<Self>, n: Noticed, out: &OpOutput, flags: u32) {
        let OpOutput::Reply(reply) = out else {
            return;
        };
        if reply.is_error() {
            self.ks.borrow_mut().raised.clear();
            return;
        }
        let after: Vec<bool> = {
            let mut ks = self.ks.borrow_mut();
            n.keys.iter().map(|k| ks.exists(n.db, k)).collect()
        };
        let events = shards::notify::events(n.spec, &n.args, reply, &n.keys, &n.before, &after);
        let raised = std::mem::take(&mut self.ks.borrow_mut().raised);
        self.publish_events(flags, n.db, events, raised);
    }

    /// Publishes a write's events: those `notify::events` derived (in database `db`),
    /// then those its handler raised (`Keyspace::raise`); only the classes in `flags`.
    pub(crate) fn publish_events(
        self: &Rc<Self>,
        flags: u32,
        db: usize,
        derived: Vec<notify_class::Event>,
        raised: Vec<(usize, u32, &'static str, Bytes)>,
    ) {
        let all = derived
            .into_iter()
            .map(|(c, e, k)| (db, c, e, k))
            .chain(raised);
        for (db, class, event, key) in all {
            if class & flags != 0 {
                self.publish_event(db, event, &key, flags);
            }
        }
    }

    /// A generic-class event of a command the coordinator ran as entry moves between
    /// shards (RENAME, COPY across shards), published from here.
    pub fn notify_generic(self: &Rc<Self>, db: usize, event: &str, key: &[u8]) {
        let flags = self.notify.get();
        if flags & notify_class::GENERIC != 0
            && flags & (notify_class::KEYSPACE | notify_class::KEYEVENT) != 0
        {
            self.publish_event(db, event, key, flags);
        }
    }

    /// Publishes the keys reads missed since the last call ("keymiss" events).
    pub fn publish_misses(self: &Rc<Self>) {
        let flags = self.notify.get();
        let missed = {
            let mut ks = self.ks.borrow_mut();
            match ks.miss_log.as_mut() {
                Some(log) if !log.is_empty() => std::mem::take(log),
                _ => return,
            }
        };
        for (db, key) in missed {
            self.publish_event(db, "keymiss", &key, flags);
        }
    }

    /// Publishes the keys that expired since the last call ("expired" events), and
    /// invalidates them for tracking clients.
    pub fn publish_expired(self: &Rc<Self>) {
        let flags = self.notify.get();
        let expired = {
            let mut ks = self.ks.borrow_mut();
            match ks.expired_log.as_mut() {
                Some(log) if !log.is_empty() => std::mem::take(log),
                _ => return,
            }
        };
        if !self.tracking.borrow().is_idle() {
            let keys: Vec<Bytes> = expired
                .iter()
                .map(|(_, k)| Bytes::copy_from_slice(k))
                .collect();
            self.invalidate_keys(&keys, shards::ops::Track::NONE);
        }
        if flags & notify_class::EXPIRED == 0 {
            return;
        }
        for (db, key) in expired {
            self.publish_event(db, "expired", &key, flags);
        }
    }

    /// One event on `__keyspace@<db>__:<key>` and/or `__keyevent@<db>__:<event>`.
    pub fn publish_event(self: &Rc<Self>, db: usize, event: &str, key: &[u8], flags: u32) {
        if flags & notify_class::KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{db}__:").into_bytes();
            ch.extend_from_slice(key);
            drop(self.publish(
                false,
                &Bytes::from(ch),
                &Bytes::copy_from_slice(event.as_bytes()),
            ));
        }
        if flags & notify_class::KEYEVENT != 0 {
            let ch = format!("__keyevent@{db}__:{event}");
            drop(self.publish(false, &Bytes::from(ch), &Bytes::copy_from_slice(key)));
        }
    }

    /// Publishes a message: delivered to this shard's subscribers at once and queued
    /// for every other shard that has subscribers (a batch's messages to a peer travel
    /// together). The local count and the peers' answers, which PUBLISH adds up and
    /// notifications drop.
    pub fn publish(
        self: &Rc<Self>,
        sharded: bool,
        channel: &Bytes,
        message: &Bytes,
    ) -> (usize, Vec<oneshot::Receiver<WorkDone>>) {
        let limit = self.settings.borrow().output_limits.pubsub;
        let local = self
            .pubsub
            .borrow()
            .deliver(sharded, channel, message, &limit);
        let remote = (0..self.nshards)
            .filter(|&s| s != self.id && crate::runtime::pubsub::active(s))
            .map(|s| {
                let (channel, message) = (channel.clone(), message.clone());
                let job: Job = Box::new(move |sh: &Rc<Shard>| {
                    let limit = sh.settings.borrow().output_limits.pubsub;
                    let n = sh
                        .pubsub
                        .borrow()
                        .deliver(sharded, &channel, &message, &limit);
                    Box::new(n) as Answer
                });
                self.send(s, Work::Admin(job))
            })
            .collect();
        (local, remote)
    }
}
