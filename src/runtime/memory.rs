//! `maxmemory` on a shard: setting it, and evicting this shard's keys before commands
//! run (as Redis does before each command) while the process is over it. The policies,
//! and the shared measure of every shard's memory, are the engine's (`shards::evict`).
//! Also: giving freed memory back to the system when a shard goes idle.

use std::rc::Rc;

use bytes::Bytes;
use shards::cmd::{flags, CommandSpec};
use shards::evict::Room;
use shards::CmdError;

use crate::runtime::shard::Shard;

impl Shard {
    /// Sets the process's `maxmemory` as this shard sees it (0: no limit), and
    /// publishes the shard's measure so the others' first check sees it.
    pub fn set_maxmemory(&self, maxmemory: u64) {
        let mut ks = self.ks.borrow_mut();
        ks.budget.limit = maxmemory;
        ks.budget.publish();
        ks.publish_evictable();
    }

    /// Evicts what the policy allows until the shard fits its budget. Before a command
    /// that may grow memory (`denyoom`) the answer is the OOM error when nothing more
    /// can go, unless the command runs inside a transaction or script (those were
    /// admitted as a whole; stopping halfway would break their atomicity).
    pub fn make_room(self: &Rc<Self>, spec: Option<&CommandSpec>) -> Result<(), CmdError> {
        if spec.is_some_and(|s| s.has(flags::WRITE)) {
            crate::runtime::misconf::check_write(&self.settings.borrow())?;
        }
        let room = self.room();
        let denyoom = spec.is_some_and(|s| s.has(flags::DENYOOM));
        if room == Room::Full && denyoom && !self.in_unit() && !self.is_held() {
            return Err(CmdError::OutOfMemory);
        }
        Ok(())
    }

    /// Evicts what it may and tells whether the process is still over maxmemory with
    /// nothing left to evict (commands that grow memory would get OOM).
    pub fn out_of_memory(self: &Rc<Self>) -> bool {
        self.room() == Room::Full
    }

    fn room(self: &Rc<Self>) -> Room {
        let mut gone = Vec::new();
        let room = {
            let mut ks = self.ks.borrow_mut();
            if ks.budget.limit == 0 {
                return Room::Fits;
            }
            ks.make_room(&mut gone)
        };
        if gone.is_empty() && room == Room::Evicting {
            // Over the budget but not this shard's turn: the shards that hold more
            // keys evict now rather than at their next command or tick.
            self.nudge_peers();
        } else if !gone.is_empty() {
            self.forget_evicted(gone);
        }
        room
    }

    /// Asks every other shard to evict down to the budget, at most once a millisecond.
    fn nudge_peers(self: &Rc<Self>) {
        thread_local! {
            static LAST: std::cell::Cell<Option<std::time::Instant>> =
                const { std::cell::Cell::new(None) };
        }
        let now = std::time::Instant::now();
        let due = LAST.with(|l| {
            let due = l
                .get()
                .is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_millis(1));
            if due {
                l.set(Some(now));
            }
            due
        });
        if !due {
            return;
        }
        for peer in (0..self.nshards).filter(|&p| p != self.id) {
            let job = Box::new(|s: &Rc<Shard>| {
                let _ = s.evict_to_budget();
                Box::new(()) as crate::runtime::work::Answer
            });
            drop(self.send(peer, crate::runtime::work::Work::Admin(job)));
        }
    }

    /// Evicts until the shard fits or nothing more may go, or it is another shard's turn
    /// (CONFIG SET maxmemory, the periodic task); whether it evicted anything.
    pub fn evict_to_budget(self: &Rc<Self>) -> bool {
        let mut any = false;
        let start = std::time::Instant::now();
        loop {
            let mut gone = Vec::new();
            let room = self.ks.borrow_mut().make_room(&mut gone);
            let done = room != Room::Evicting || gone.is_empty();
            if !gone.is_empty() {
                any = true;
                self.forget_evicted(gone);
            }
            if done {
                if any {
                    crate::runtime::latency::sample_since("eviction-cycle", start);
                }
                return any;
            }
        }
    }

    /// An evicted key is a modified key: WATCHers of it fail their EXEC.
    fn forget_evicted(self: &Rc<Self>, gone: Vec<(usize, Box<[u8]>)>) {
        if !self.tracking.borrow().is_idle() {
            let keys: Vec<bytes::Bytes> = gone
                .iter()
                .map(|(_, k)| bytes::Bytes::copy_from_slice(k))
                .collect();
            self.invalidate_keys(&keys, shards::ops::Track::NONE);
        }
        let flags = self.notify.get();
        if flags & shards::notify::EVICTED != 0 {
            for (db, key) in &gone {
                self.publish_event(*db, "evicted", key, flags);
            }
        }
        if crate::runtime::aof::on() {
            let mut log = self.aof.borrow_mut();
            for (db, key) in &gone {
                log.record(*db, vec![shards::propagate::del(key)]);
            }
        }
        let mut watches = self.watches.borrow_mut();
        if watches.is_empty() {
            return;
        }
        for (db, key) in gone {
            watches.touch(db, &[Bytes::from(key.into_vec())]);
        }
    }
}

/// Gives this thread's freed pages back to the system (MEMORY PURGE; an idle shard),
/// and the pages of the shard's empty receive buffers.
pub fn purge_freed() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread at any
    // time: it collects the calling thread's own heap and, under mimalloc's own
    // synchronisation, abandoned segments and arenas; it only returns memory no live
    // allocation uses.
    unsafe { libmimalloc_sys::mi_collect(true) }
    if let Some(driver) = crate::runtime::driver::current() {
        driver.release_idle_buffers();
    }
}

/// Decides when an idle shard should give back what it freed while busy. mimalloc
/// returns freed pages to the system only from inside later allocations, so a shard
/// that goes quiet after a burst (a bulk load, a big pipeline) would keep that memory
/// in its RSS for good; Redis's jemalloc purges in the background. Once per busy
/// spell, on the first tick without activity, is cheap (a fraction of a millisecond)
/// and never competes with commands.
#[derive(Default)]
pub struct IdlePurge {
    last: Option<(u64, isize)>,
    busy: bool,
}

impl IdlePurge {
    /// Called every tick with a measure of activity (anything that changes when the
    /// shard works); true when it is time to purge.
    pub fn went_idle(&mut self, activity: (u64, isize)) -> bool {
        let moved = self.last.is_some_and(|l| l != activity);
        self.last = Some(activity);
        if moved {
            self.busy = true;
            return false;
        }
        std::mem::take(&mut self.busy)
    }
}

#[cfg(test)]
mod tests {
    use super::IdlePurge;

    #[test]
    fn purges_once_per_busy_spell_on_the_first_quiet_tick() {
        let mut p = IdlePurge::default();
        assert!(!p.went_idle((0, 0)));
        assert!(!p.went_idle((0, 0)));
        assert!(!p.went_idle((5, 100)));
        assert!(!p.went_idle((9, 50)));
        assert!(p.went_idle((9, 50)));
        assert!(!p.went_idle((9, 50)));
        assert!(!p.went_idle((9, 60)));
        assert!(p.went_idle((9, 60)));
    }
}
