//! Sending invalidations (CLIENT TRACKING): a shard remembers what tracking clients
//! read (`tracking::Table`) and, on a write, expiry, eviction or flush, tells each
//! reader through its home shard, and on to its REDIRECT target's home.

use std::rc::Rc;

use bytes::Bytes;
use shards::cmd::CommandSpec;
use shards::ops::Track;
use shards::Reply;

use crate::runtime::clients::{ClientHandle, Pushed};
use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Job, Work};

/// What a tracking client is told.
enum Inval {
    /// Everything changed (a flush).
    All,
    /// These keys, one message each (keys it read, as Redis sends them).
    Each(Vec<Bytes>),
    /// These keys in one message (a BCAST client's keys of one write, as Redis
    /// batches them).
    Batch(Vec<Bytes>),
}

fn invalidations(what: Inval) -> Vec<Pushed> {
    match what {
        Inval::All => vec![invalidation(None)],
        Inval::Each(keys) => keys
            .into_iter()
            .map(|k| invalidation(Some(vec![k])))
            .collect(),
        Inval::Batch(keys) => vec![invalidation(Some(keys))],
    }
}

/// `>2 invalidate [keys]` in RESP3; for a RESP2 redirect target in subscribed mode, a
/// `message` on `__redis__:invalidate` (keys None: everything, after a flush).
fn invalidation(keys: Option<Vec<Bytes>>) -> Pushed {
    let payload = match keys {
        Some(keys) => Reply::Array(keys.into_iter().map(|k| Reply::Bulk(k.to_vec())).collect()),
        None => Reply::NilArray,
    };
    let three = Reply::Push(vec![Reply::bulk("invalidate"), payload.clone()]);
    let two = Reply::Push(vec![
        Reply::bulk("message"),
        Reply::bulk("__redis__:invalidate"),
        payload,
    ]);
    Pushed {
        resp2: Pushed::of(&two).resp2,
        resp3: Pushed::of(&three).resp3,
    }
}

impl Shard {
    /// The home shard of client `id` (shard `s` hands out `s + 1 + k * n`).
    fn home_of(&self, id: u64) -> usize {
        (id.saturating_sub(1) % self.nshards as u64) as usize
    }

    /// After a read run for a tracking client: remember its keys here.
    pub(crate) fn track_read(self: &Rc<Self>, spec: &CommandSpec, args: &[Bytes], track: Track) {
        if !track.remember {
            return;
        }
        let mut out = Vec::new();
        // Expired keys are invalidated too: the keyspace keeps a log of them.
        self.ks
            .borrow_mut()
            .expired_log
            .get_or_insert_with(Vec::new);
        {
            let mut t = self.tracking.borrow_mut();
            for p in spec.key_positions(args) {
                t.remember(track.client, &args[p]);
            }
            t.overflow(&mut out);
        }
        self.send_invalidations(out);
    }

    /// After a write of `keys` (by `writer`): invalidate them for their readers.
    pub(crate) fn invalidate_keys(self: &Rc<Self>, keys: &[Bytes], writer: Track) {
        if self.tracking.borrow().is_idle() {
            return;
        }
        let mut out = Vec::new();
        {
            let mut t = self.tracking.borrow_mut();
            for k in keys {
                t.take(k, writer, &mut out);
            }
        }
        self.send_invalidations(out);
    }

    /// FLUSHDB / FLUSHALL ran here: forget every remembered key, and tell this shard's
    /// own tracking clients that everything changed.
    pub(crate) fn invalidate_all(self: &Rc<Self>) {
        self.tracking.borrow_mut().flush();
        let ids: Vec<u64> = self.clients.borrow().tracking_ids();
        for id in ids {
            self.invalidate_for(id, Inval::All);
        }
    }

    fn send_invalidations(self: &Rc<Self>, mut out: Vec<(u64, Bytes, bool)>) {
        if out.is_empty() {
            return;
        }
        out.sort_by_key(|(c, _, bcast)| (*c, *bcast));
        let mut i = 0;
        while i < out.len() {
            let (client, bcast) = (out[i].0, out[i].2);
            let mut keys = Vec::new();
            while i < out.len() && out[i].0 == client && out[i].2 == bcast {
                keys.push(out[i].1.clone());
                i += 1;
            }
            let what = if bcast {
                Inval::Batch(keys)
            } else {
                Inval::Each(keys)
            };
            self.invalidate_for(client, what);
        }
    }

    /// Sends an invalidation to tracking client `id`, wherever it is connected.
    fn invalidate_for(self: &Rc<Self>, id: u64, keys: Inval) {
        let home = self.home_of(id);
        if home == self.id {
            self.push_invalidation(id, keys);
        } else {
            let job: Job = Box::new(move |sh: &Rc<Shard>| {
                sh.push_invalidation(id, keys);
                Box::new(()) as Answer
            });
            drop(self.send(home, Work::Admin(job)));
        }
    }

    /// On client `id`'s home: to itself (RESP3), or on to its redirect target.
    fn push_invalidation(self: &Rc<Self>, id: u64, keys: Inval) {
        let Some(client) = self.clients.borrow().get(id) else {
            return;
        };
        let (on, redirect) = {
            let t = client.tracking.borrow();
            (t.on, t.redirect)
        };
        if !on {
            return;
        }
        if redirect == 0 {
            if client.info.borrow().resp >= 3 {
                for push in invalidations(keys) {
                    self.push_to(&client, push);
                }
            }
            return;
        }
        let home = self.home_of(redirect);
        if home == self.id {
            self.push_redirected(redirect, id, keys);
        } else {
            let job: Job = Box::new(move |sh: &Rc<Shard>| {
                sh.push_redirected(redirect, id, keys);
                Box::new(()) as Answer
            });
            drop(self.send(home, Work::Admin(job)));
        }
    }

    /// On the redirect target's home: to the target (RESP3, or RESP2 in subscribed
    /// mode); a target that is gone makes the tracking client's redirect broken.
    fn push_redirected(self: &Rc<Self>, target: u64, from: u64, keys: Inval) {
        let found = self.clients.borrow().get(target);
        match found {
            Some(t) => {
                let resp3 = t.info.borrow().resp >= 3;
                if resp3 || t.subs.borrow().any() {
                    for push in invalidations(keys) {
                        self.push_to(&t, push);
                    }
                }
            }
            None => {
                let home = self.home_of(from);
                let job: Job = Box::new(move |sh: &Rc<Shard>| {
                    sh.redirect_broken(from, target);
                    Box::new(()) as Answer
                });
                if home == self.id {
                    self.redirect_broken(from, target);
                } else {
                    drop(self.send(home, Work::Admin(job)));
                }
            }
        }
    }

    fn redirect_broken(self: &Rc<Self>, id: u64, target: u64) {
        let Some(client) = self.clients.borrow().get(id) else {
            return;
        };
        client.tracking.borrow_mut().broken_redirect = true;
        if client.info.borrow().resp >= 3 {
            let msg = Reply::Push(vec![
                Reply::bulk("tracking-redir-broken"),
                Reply::Int(target as i64),
            ]);
            self.push_to(&client, Pushed::of(&msg));
        }
    }

    fn push_to(&self, client: &ClientHandle, push: Pushed) {
        client.ensure_push_queue();
        let limit = self.settings.borrow().output_limits.pubsub;
        crate::runtime::pubsub::send(client, push, &limit);
    }

    /// `tracking-table-max-keys`: this shard's share (0: no limit). A table over its
    /// new limit shrinks at the next read it remembers.
    pub fn set_tracking_limit(&self, total: u64) {
        let share = (total as usize).div_ceil(self.nshards.max(1));
        self.tracking.borrow_mut().max_keys = share;
    }

    /// A BCAST client's prefixes on this shard (empty: it stopped).
    pub fn set_bcast(&self, client: u64, prefixes: Vec<Bytes>, noloop: bool) {
        self.tracking
            .borrow_mut()
            .set_bcast(client, prefixes, noloop);
    }
}

/// Every shard learns a BCAST client's prefixes (or that it stopped: empty).
pub async fn broadcast_prefixes(
    shard: &Rc<Shard>,
    client: u64,
    prefixes: Vec<Bytes>,
    noloop: bool,
) {
    let mut waits = Vec::new();
    for s in 0..shard.nshards {
        if s == shard.id {
            shard.set_bcast(client, prefixes.clone(), noloop);
            continue;
        }
        let p = prefixes.clone();
        let job: Job = Box::new(move |sh: &Rc<Shard>| {
            sh.set_bcast(client, p, noloop);
            Box::new(()) as Answer
        });
        waits.push(shard.send(s, Work::Admin(job)));
    }
    for w in waits {
        let _ = w.await;
    }
}
