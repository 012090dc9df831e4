//! The gate of one shard: what keeps cross-shard work atomic. A transaction may *hold*
//! the whole shard (only its own work runs until it releases) or *lock* some keys (work
//! touching them waits, the rest goes on). Work that may not pass waits here: remote
//! work in arrival order, local tasks as parked wakers woken at every release. The
//! *epoch* counts holds and transaction steps, so an optimistic multi-shard read can
//! tell afterwards whether a transaction came by (see `coord::atomic`).
//!
//! Waiting is first come, first served: remote work, this shard's own work and this
//! shard's clients' commands that found the gate closed wait in one queue, and a
//! transaction that is not yet involved here queues behind whatever waits (so a stream
//! of holds cannot keep a waiting client out for ever). A client's command does not run
//! inside the queue: when it comes first and may pass, it is *granted* a turn, and
//! nothing new enters until the client has used it (see `Turn`).
//!
//! Plain synchronous code: the shard wraps it in a `RefCell` and decides what runs.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::task::Waker;

use bytes::Bytes;
use shards::cmd::{flags, CommandSpec};

use crate::base::ids::TxnId;

pub struct Gate<D> {
    held_by: Option<TxnId>,
    locks: HashMap<(usize, Bytes), TxnId>,
    deferred: VecDeque<D>,
    /// Turns granted and not used yet: nothing new enters meanwhile.
    grants: usize,
    epoch: u64,
    /// What the latest holds and transaction steps wrote (or may have written), for
    /// optimistic readers; entries at or below `floor` are forgotten.
    recent: VecDeque<Written>,
    floor: u64,
}

/// The keys one hold or transaction step wrote here (`None`: any key).
struct Written {
    epoch: u64,
    txn: TxnId,
    keys: Option<Vec<(usize, Bytes)>>,
}

/// How many holds and steps the gate remembers the writes of: a read whose parts and
/// check are further apart than that runs again under holds.
const RECENT_STEPS: usize = 4096;
/// A step that wrote more keys than this is remembered as having written any key.
const KEYS_PER_STEP: usize = 1024;

impl<D> Default for Gate<D> {
    fn default() -> Self {
        Gate {
            held_by: None,
            locks: HashMap::new(),
            deferred: VecDeque::new(),
            grants: 0,
            epoch: 0,
            recent: VecDeque::new(),
            floor: 0,
        }
    }
}

impl<D> Gate<D> {
    /// Whether work of `txn` (`None`: ordinary work) passes a whole-shard hold.
    pub fn passes(&self, txn: Option<TxnId>) -> bool {
        match self.held_by {
            None => true,
            Some(holder) => Some(holder) == txn,
        }
    }

    /// Whether a transaction holds the shard or has keys locked on it.
    pub fn is_busy(&self) -> bool {
        self.held_by.is_some() || !self.locks.is_empty()
    }

    pub fn holder(&self) -> Option<TxnId> {
        self.held_by
    }

    /// Whether `txn` holds the shard or has keys locked on it.
    pub fn involves(&self, txn: TxnId) -> bool {
        self.held_by == Some(txn) || self.locks.values().any(|t| *t == txn)
    }

    /// Holds and transaction steps seen so far.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Holds the shard for `txn`.
    pub fn hold(&mut self, txn: TxnId) {
        self.held_by = Some(txn);
        self.count(txn);
    }

    /// A step of `txn` runs here: unless `txn` holds the shard (its hold counted
    /// already), it counts like a hold for optimistic readers.
    pub fn step(&mut self, txn: TxnId) {
        if self.held_by != Some(txn) {
            self.count(txn);
        }
    }

    /// A new epoch, for `txn`'s hold or step; nothing written yet.
    fn count(&mut self, txn: TxnId) {
        self.epoch += 1;
        self.recent.push_back(Written {
            epoch: self.epoch,
            txn,
            keys: Some(Vec::new()),
        });
        if self.recent.len() > RECENT_STEPS {
            if let Some(old) = self.recent.pop_front() {
                self.floor = old.epoch;
            }
        }
    }

    /// `txn`'s current hold or step writes `keys` of `db` (`None`: it may write any).
    pub fn writes(&mut self, txn: TxnId, keys: Option<(usize, Vec<Bytes>)>) {
        if self.recent.back().is_none_or(|w| w.txn != txn) {
            self.count(txn);
        }
        let Some(last) = self.recent.back_mut() else {
            return;
        };
        match (keys, &mut last.keys) {
            (Some((db, keys)), Some(known)) if known.len() + keys.len() <= KEYS_PER_STEP => {
                known.extend(keys.into_iter().map(|k| (db, k)));
            }
            _ => last.keys = None,
        }
    }

    /// Whether a hold or step after epoch `since` wrote (or may have written) one of
    /// `keys` of `db`.
    pub fn written_since(&self, since: u64, db: usize, keys: &[Bytes]) -> bool {
        if since < self.floor {
            return true;
        }
        self.recent
            .iter()
            .rev()
            .take_while(|w| w.epoch > since)
            .any(|w| match &w.keys {
                None => true,
                Some(known) => known.iter().any(|(d, k)| *d == db && keys.contains(k)),
            })
    }

    /// Locks `keys` of `db` for `txn` until its release.
    pub fn lock(&mut self, txn: TxnId, db: usize, keys: impl IntoIterator<Item = Bytes>) {
        self.locks.extend(keys.into_iter().map(|k| ((db, k), txn)));
    }

    /// Ends the hold and the key locks of `txn`; whether there was any.
    pub fn release(&mut self, txn: TxnId) -> bool {
        let mut released = false;
        if self.held_by == Some(txn) {
            self.held_by = None;
            released = true;
        }
        let before = self.locks.len();
        self.locks.retain(|_, t| *t != txn);
        released || self.locks.len() != before
    }

    /// Whether `key` of `db` is locked by a transaction other than `txn`.
    pub fn locked_by_other(&self, db: usize, key: &Bytes, txn: Option<TxnId>) -> bool {
        !self.locks.is_empty()
            && self
                .locks
                .get(&(db, key.clone()))
                .is_some_and(|t| Some(*t) != txn)
    }

    /// Whether any transaction other than `txn` has keys locked here.
    pub fn others_have_locks(&self, txn: Option<TxnId>) -> bool {
        self.locks.values().any(|t| Some(*t) != txn)
    }

    /// Whether a command of `txn` conflicts with another transaction's key locks: it
    /// touches a locked key, or it writes without naming keys (FLUSHALL, SWAPDB) while
    /// any key is locked.
    pub fn cmd_conflicts(
        &self,
        spec: &CommandSpec,
        db: usize,
        args: &[Bytes],
        txn: Option<TxnId>,
    ) -> bool {
        if self.locks.is_empty() {
            return false;
        }
        let mut keyless = true;
        for pos in spec.key_positions(args) {
            keyless = false;
            if self.locked_by_other(db, &args[pos], txn) {
                return true;
            }
        }
        keyless && spec.has(flags::WRITE) && self.others_have_locks(txn)
    }

    /// Remote work that must wait; it runs in arrival order after a release.
    pub fn defer(&mut self, d: D) {
        self.deferred.push_back(d);
    }

    /// The oldest waiting work.
    pub fn first_deferred(&self) -> Option<&D> {
        self.deferred.front()
    }

    pub fn take_first_deferred(&mut self) -> Option<D> {
        self.deferred.pop_front()
    }

    /// Whether new work must queue behind what waits (or behind a granted turn not
    /// used yet), whatever the holds and locks.
    pub fn queue_first(&self) -> bool {
        self.grants > 0 || !self.deferred.is_empty()
    }

    /// Whether a granted turn has not been used yet (nothing new may pass meanwhile).
    pub fn granted(&self) -> bool {
        self.grants > 0
    }

    /// Grants the turn at the head of the queue (already taken off it).
    pub fn grant(&mut self, turn: &Turn) {
        if turn.state.get() == TurnState::Waiting {
            turn.state.set(TurnState::Granted);
            self.grants += 1;
            if let Some(w) = turn.waker.borrow_mut().take() {
                w.wake();
            }
        }
    }

    /// A granted turn was used (or given up); whether none is left outstanding.
    pub fn used(&mut self, turn: &Turn) -> bool {
        if turn.state.replace(TurnState::Over) == TurnState::Granted {
            self.grants -= 1;
        }
        self.grants == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnState {
    /// In the queue.
    Waiting,
    /// First in the queue and free to pass: the client runs its command at its next
    /// poll, before anything new enters the gate.
    Granted,
    /// Used, or given up (the client went away).
    Over,
}

/// A client's place in the queue for a command that found the gate closed: the command
/// (to tell when it may pass), its state, and the task to wake.
pub struct Turn {
    pub spec: &'static CommandSpec,
    pub db: usize,
    pub args: Vec<Bytes>,
    state: Cell<TurnState>,
    waker: RefCell<Option<Waker>>,
}

impl Turn {
    pub fn new(spec: &'static CommandSpec, db: usize, args: Vec<Bytes>) -> Turn {
        Turn {
            spec,
            db,
            args,
            state: Cell::new(TurnState::Waiting),
            waker: RefCell::new(None),
        }
    }

    pub fn state(&self) -> TurnState {
        self.state.get()
    }

    /// The task to wake when the turn is granted.
    pub fn wait_with(&self, waker: &Waker) {
        *self.waker.borrow_mut() = Some(waker.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(id: u64) -> TxnId {
        TxnId { home: 0, id }
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn cmd(parts: &[&str]) -> (&'static CommandSpec, Vec<Bytes>) {
        let spec = shards::lookup(parts[0].as_bytes()).expect("command");
        (spec, parts.iter().map(|p| b(p)).collect())
    }

    #[test]
    fn a_hold_lets_only_its_holder_through_until_released() {
        let mut g: Gate<()> = Gate::default();
        assert!(g.passes(None) && !g.is_busy());
        g.hold(txn(1));
        assert!(g.passes(Some(txn(1))));
        assert!(!g.passes(None) && !g.passes(Some(txn(2))));
        assert!(!g.release(txn(2)));
        assert!(g.release(txn(1)));
        assert!(g.passes(None) && !g.is_busy());
    }

    #[test]
    fn holds_and_foreign_steps_advance_the_epoch() {
        let mut g: Gate<()> = Gate::default();
        g.hold(txn(1));
        g.step(txn(1));
        assert_eq!(g.epoch(), 1, "a holder's own step was counted by its hold");
        g.step(txn(2));
        assert_eq!(g.epoch(), 2);
        g.release(txn(1));
        g.release(txn(2));
        assert_eq!(g.epoch(), 2, "releases do not count");
    }

    #[test]
    fn readers_see_which_keys_were_written_since_their_epoch() {
        let mut g: Gate<()> = Gate::default();
        let start = g.epoch();
        g.step(txn(1));
        g.writes(txn(1), Some((0, vec![b("a"), b("b")])));
        let after_one = g.epoch();
        assert!(g.written_since(start, 0, &[b("b")]));
        assert!(!g.written_since(start, 0, &[b("c")]), "another key");
        assert!(!g.written_since(start, 1, &[b("a")]), "another db");
        assert!(
            !g.written_since(after_one, 0, &[b("a")]),
            "before the reader's epoch"
        );
        g.hold(txn(2));
        assert!(
            !g.written_since(after_one, 0, &[b("a")]),
            "a hold that wrote nothing"
        );
        g.writes(txn(2), None);
        assert!(
            g.written_since(after_one, 0, &[b("z")]),
            "it may have written anything"
        );
        g.release(txn(2));
        g.step(txn(3));
        g.writes(
            txn(3),
            Some((0, (0..=KEYS_PER_STEP).map(|i| b(&i.to_string())).collect())),
        );
        assert!(
            g.written_since(g.epoch() - 1, 0, &[b("zz")]),
            "too many keys: any key"
        );
    }

    #[test]
    fn readers_older_than_what_the_gate_remembers_must_retry() {
        let mut g: Gate<()> = Gate::default();
        for i in 0..RECENT_STEPS as u64 + 10 {
            g.step(txn(i));
        }
        assert!(
            g.written_since(5, 0, &[b("a")]),
            "forgotten steps count as writes"
        );
        assert!(!g.written_since(g.epoch() - 5, 0, &[b("a")]));
    }

    #[test]
    fn key_locks_stop_only_work_on_those_keys_of_other_transactions() {
        let mut g: Gate<()> = Gate::default();
        g.lock(txn(1), 0, [b("a"), b("b")]);
        assert!(g.is_busy() && g.passes(None));
        let (get_a, a) = cmd(&["get", "a"]);
        let (get_c, c) = cmd(&["get", "c"]);
        assert!(g.cmd_conflicts(get_a, 0, &a, None));
        assert!(!g.cmd_conflicts(get_a, 0, &a, Some(txn(1))));
        assert!(!g.cmd_conflicts(get_a, 1, &a, None), "another db");
        assert!(!g.cmd_conflicts(get_c, 0, &c, None));
        let (mset, m) = cmd(&["mset", "c", "1", "b", "2"]);
        assert!(g.cmd_conflicts(mset, 0, &m, None));
        assert!(g.release(txn(1)));
        assert!(!g.cmd_conflicts(get_a, 0, &a, None) && !g.is_busy());
    }

    #[test]
    fn a_keyless_write_waits_for_any_lock_but_a_keyless_read_does_not() {
        let mut g: Gate<()> = Gate::default();
        g.lock(txn(1), 0, [b("a")]);
        let (flush, f) = cmd(&["flushall"]);
        let (dbsize, d) = cmd(&["dbsize"]);
        assert!(g.cmd_conflicts(flush, 0, &f, None));
        assert!(!g.cmd_conflicts(flush, 0, &f, Some(txn(1))));
        assert!(!g.cmd_conflicts(dbsize, 0, &d, None));
        assert!(g.others_have_locks(Some(txn(2))));
        assert!(!g.others_have_locks(Some(txn(1))));
    }

    #[test]
    fn deferred_work_leaves_in_arrival_order() {
        let mut g: Gate<u32> = Gate::default();
        assert!(!g.queue_first());
        for i in 1..=3 {
            g.defer(i);
        }
        assert_eq!(g.first_deferred(), Some(&1));
        let order: Vec<u32> = std::iter::from_fn(|| g.take_first_deferred()).collect();
        assert_eq!(order, vec![1, 2, 3]);
    }

    #[test]
    fn new_work_queues_behind_waiting_work_and_granted_turns() {
        let mut g: Gate<u32> = Gate::default();
        assert!(!g.queue_first());
        g.defer(1);
        assert!(g.queue_first());
        g.take_first_deferred();
        let (spec, args) = cmd(&["get", "a"]);
        let (one, two) = (Turn::new(spec, 0, args.clone()), Turn::new(spec, 0, args));
        g.grant(&one);
        g.grant(&two);
        g.grant(&two);
        assert_eq!(one.state(), TurnState::Granted);
        assert!(g.queue_first(), "granted turns not used yet");
        assert!(!g.used(&one));
        assert!(g.used(&two), "the last outstanding turn was used");
        assert!(!g.queue_first());
        assert!(g.used(&two), "using a turn twice counts once");
    }

    #[test]
    fn a_turn_given_up_before_its_grant_is_never_granted() {
        let mut g: Gate<u32> = Gate::default();
        let (spec, args) = cmd(&["get", "a"]);
        let t = Turn::new(spec, 0, args);
        assert!(g.used(&t));
        g.grant(&t);
        assert_eq!(t.state(), TurnState::Over);
        assert!(!g.queue_first());
    }
}
