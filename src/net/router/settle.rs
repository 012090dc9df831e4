//! Settling a batch's multi-shard work: optimistic reads over several shards are
//! validated (and run again under holds when a write got in between), and multi-shard
//! writes run, before any command after them.

use super::*;

impl Batch<'_> {
    /// Sends what is queued, then validates the optimistic reads of the batch so far:
    /// each shard tells whether a hold or transaction step since the read passed there
    /// wrote (or may have written) one of the read's keys; if one did, that read and
    /// every read after it run again, in order, under holds. Called before any command
    /// that is not such a read, so replies stay in the client's order.
    pub(super) async fn settle(&mut self) {
        if self.publishes > 0 {
            self.publishes = 0;
            for i in 0..self.pending.len() {
                if let Slot::Publish(local, remote) = &mut self.pending[i].slot {
                    let (local, remote) = (*local, std::mem::take(remote));
                    let n = crate::commands::pubsub::publish_count(local, remote).await;
                    self.pending[i].slot = Slot::Done(Reply::Int(n));
                }
            }
        }
        self.flush().await;
        if !self.writes.is_empty() {
            self.run_writes().await;
        }
        if self.checks.is_empty() {
            return;
        }
        let checks = std::mem::take(&mut self.checks);
        // One question per read part, one message per shard.
        let mut asks: Vec<Vec<ShardOp>> = (0..self.shard.nshards).map(|_| Vec::new()).collect();
        let mut asked = Vec::with_capacity(checks.len());
        for c in &checks {
            let mut mine = Vec::with_capacity(c.epochs.len());
            for (s, part, keys) in &c.epochs {
                let since = match part {
                    Part::Local(r) => r.clone(),
                    Part::Remote(s, i) => self.take_answer(*s, *i),
                };
                let Reply::Int(since) = since else {
                    mine.push(None);
                    continue;
                };
                asks[*s].push(ShardOp::WrittenSince {
                    since: since as u64,
                    db: c.db,
                    keys: keys.clone(),
                });
                mine.push(Some((*s, asks[*s].len() - 1)));
            }
            asked.push(mine);
        }
        let waiting: Vec<_> = asks
            .into_iter()
            .enumerate()
            .filter(|(_, ops)| !ops.is_empty())
            .map(|(s, ops)| (s, self.shard.send_or_run(s, Work::Ops(ops))))
            .collect();
        let mut answers: Vec<Vec<Reply>> = vec![Vec::new(); self.shard.nshards];
        for (s, w) in waiting {
            if let WorkDone::Ops(outs) = w.await {
                answers[s] = outs.into_iter().map(|o| o.into_reply()).collect();
            }
        }
        let clean = |q: &Option<(ShardId, usize)>| {
            q.is_some_and(|(s, i)| matches!(answers[s].get(i), Some(Reply::Int(0))))
        };
        let stale = asked.iter().position(|mine| !mine.iter().all(clean));
        let Some(first) = stale else {
            return;
        };
        self.shard.stats.borrow_mut().read_retries += (checks.len() - first) as u64;
        let retry = &checks[first..];
        let involved = retry
            .iter()
            .flat_map(|c| c.epochs.iter().map(|e| e.0))
            .collect();
        let shard = self.shard;
        let replies = atomic::isolated(shard, involved, |txn| async move {
            let mut out = Vec::with_capacity(retry.len());
            for c in retry {
                let args = c.args.clone();
                out.push(run_spread(shard, Some(txn), c.spec, c.db, c.touch, args).await);
            }
            out
        })
        .await;
        for (c, r) in retry.iter().zip(replies) {
            self.pending[c.pending].slot = Slot::Done(r);
        }
    }

    /// Runs the pending multi-shard writes, in order, as one isolated step: each shard
    /// gets all its parts in one message (see `atomic::run_parts`).
    pub(super) async fn run_writes(&mut self) {
        let writes = std::mem::take(&mut self.writes);
        let shard = self.shard;
        let split: Vec<_> = writes
            .iter()
            .map(|w| split_by_shard(shard, w.spec, &w.args))
            .collect();
        let mut parts = atomic::Parts::new(shard.nshards);
        let mut where_: Vec<Vec<(atomic::PartId, Vec<usize>)>> = Vec::new();
        for (w, groups) in writes.iter().zip(split) {
            let mut mine = Vec::with_capacity(groups.len());
            for (owner, positions, args) in groups {
                let op = ShardOp::Cmd {
                    spec: w.spec,
                    db: w.db,
                    touch: w.touch,
                    args,
                    track: w.track,
                };
                mine.push((parts.push(owner, op), positions));
            }
            where_.push(mine);
        }
        let work = parts.work();
        parts.answered(atomic::run_parts(shard, work).await);
        let mut replies = Vec::with_capacity(writes.len());
        for (w, mine) in writes.iter().zip(where_) {
            let nkeys = mine.iter().map(|p| p.1.len()).sum();
            let answers = mine
                .into_iter()
                .map(|(id, pos)| (parts.take(id), pos))
                .collect();
            replies.push((w.pending, merge_positional(w.merge, nkeys, answers)));
        }
        for (pending, r) in replies {
            self.pending[pending].slot = Slot::Done(r);
        }
    }
}
