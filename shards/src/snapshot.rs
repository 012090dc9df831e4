//! A point-in-time snapshot of a shard's keyspace taken while the shard keeps serving
//! (BGSAVE without fork). The snapshot starts at one instant (`begin`); from then on
//! every entry is written out in its state of that instant exactly once, either by the
//! walker (`step`, a few hundred entries at a time between commands) or, when a command
//! is about to change, delete or expire an entry the walker has not reached yet, by
//! that command first (`Keyspace::cow`: copy before write, per entry).
//!
//! Which entries are saved is told by a bit in each node (`dict::Node::mark`): when no
//! snapshot runs every node's mark equals the keyspace's parity; a snapshot saves the
//! nodes whose mark differs from its target (the opposite parity) and flips them; nodes
//! created during the snapshot get the target at once (they are not part of it). The
//! walker follows each table's SCAN cursor, which meets every node present for the
//! whole walk at least once, resizes included; the mark makes "at least once" exactly
//! once, and the entries that left meanwhile were written before they left.

use crate::keyspace::{Keyspace, Stored};
use crate::rdb::file::{EntryFormat, Written};

/// A snapshot in progress, and then its result.
pub struct Snapshot {
    /// The mark of saved nodes.
    target: bool,
    how: EntryFormat,
    /// Per database: the entries written so far (RDB records) and their counts.
    pub parts: Vec<(Vec<u8>, Written)>,
    db: usize,
    cursor: u64,
    scratch: Vec<u8>,
}

impl Snapshot {
    /// Writes `e` (unless it had expired at the snapshot's instant) and marks it saved.
    fn save(&mut self, db: usize, e: &mut Stored) {
        if e.mark() == self.target {
            return;
        }
        e.set_mark(self.target);
        if e.is_expired(self.how.now) {
            return;
        }
        let Snapshot {
            parts,
            how,
            scratch,
            ..
        } = self;
        let (out, w) = &mut parts[db];
        let e: &Stored = e;
        w.add(how.write(out, scratch, e.key(), e));
    }

    pub fn is_done(&self) -> bool {
        self.db >= self.parts.len()
    }
}

impl Keyspace {
    /// Starts a snapshot at this instant (the caller holds the shard: nothing else runs
    /// in between). A snapshot already running is finished first.
    pub fn snapshot_begin(&mut self) {
        self.snapshot_finish_now();
        let target = !self.mark_parity;
        for d in &mut self.dbs {
            d.main.set_fresh_mark(target);
        }
        self.snapshot = Some(Box::new(Snapshot {
            target,
            how: EntryFormat::of(self),
            parts: (0..self.dbs.len()).map(|_| Default::default()).collect(),
            db: 0,
            cursor: 0,
            scratch: Vec::new(),
        }));
    }

    /// Walks about `budget` more entries; true when the snapshot is complete (or none
    /// runs).
    pub fn snapshot_step(&mut self, budget: usize) -> bool {
        let Keyspace {
            snapshot,
            dbs,
            mark_parity,
            ..
        } = self;
        let Some(snap) = snapshot.as_mut() else {
            return true;
        };
        let mut left = budget.max(1);
        while !snap.is_done() && left > 0 {
            let db = snap.db;
            let main = &mut dbs[db].main;
            let mut seen = 0;
            snap.cursor = main.scan_nodes_mut(snap.cursor, left.min(256), |n| {
                seen += 1;
                snap.save(db, n);
            });
            left = left.saturating_sub(seen.max(1));
            if snap.cursor == 0 {
                snap.db += 1;
            }
        }
        if snap.is_done() {
            *mark_parity = snap.target;
        }
        snap.is_done()
    }

    /// Completes a running snapshot at once (before FLUSHDB, SWAPDB and the like, which
    /// would take its entries away in bulk).
    pub fn snapshot_finish_now(&mut self) {
        while !self.snapshot_step(usize::MAX) {}
    }

    /// The result of a completed snapshot (None while one runs or none ran).
    pub fn snapshot_take(&mut self) -> Option<Box<Snapshot>> {
        if self.snapshot.as_ref().is_some_and(|s| s.is_done()) {
            return self.snapshot.take();
        }
        None
    }

    /// Takes the written bytes of every database whose buffer holds at least `min`
    /// bytes (the server moves them to disk while the walk goes on, so a snapshot
    /// never holds much memory); the counts stay.
    pub fn snapshot_drain(&mut self, min: usize) -> Vec<(usize, Vec<u8>)> {
        let Some(snap) = self.snapshot.as_mut() else {
            return Vec::new();
        };
        snap.parts
            .iter_mut()
            .enumerate()
            .filter(|(_, (bytes, _))| !bytes.is_empty() && bytes.len() >= min)
            .map(|(db, (bytes, _))| (db, std::mem::take(bytes)))
            .collect()
    }

    /// Copy before write: a command is about to change, delete or expire `key`; if the
    /// running snapshot has not saved it yet, it is saved now.
    #[inline]
    pub(crate) fn cow(&mut self, db: usize, key: &[u8]) {
        let Some(snap) = self.snapshot.as_mut() else {
            return;
        };
        if snap.is_done() {
            return;
        }
        if let Some(e) = self.dbs[db].main.node_mut(key) {
            snap.save(db, e);
        }
    }
}

#[cfg(test)]
mod tests;
