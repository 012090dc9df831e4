//! Consumer groups: the last delivered ID, the read counter, the pending entries list
//! (PEL: delivered and not yet acknowledged entries, with their owner, delivery time
//! and count) and the consumers, each with its own view of the PEL.

use std::collections::{BTreeMap, BTreeSet};

use super::StreamId;

/// An entry delivered and not yet acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub consumer: Vec<u8>,
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Unix ms the consumer was last seen (created, read, claimed).
    pub seen_time: u64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries read by the group, when known (Redis's -1 is None).
    pub entries_read: Option<u64>,
    pub pel: BTreeMap<StreamId, Pending>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Self {
        Group {
            last_id,
            entries_read,
            ..Group::default()
        }
    }

    pub fn heap_size(&self) -> usize {
        const SLOT: usize = 48;
        let pel: usize = self
            .pel
            .values()
            .map(|p| SLOT + 16 + p.consumer.len())
            .sum();
        let consumers: usize = self
            .consumers
            .iter()
            .map(|(n, c)| SLOT + n.len() + c.pel.len() * 24)
            .sum();
        pel + consumers
    }

    /// The consumer `name`, created when missing (second value: whether it was).
    pub fn consumer(&mut self, name: &[u8], now: u64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let c = self
            .consumers
            .entry(name.to_vec())
            .or_insert_with(|| Consumer {
                seen_time: now,
                pel: BTreeSet::new(),
            });
        c.seen_time = now;
        (c, created)
    }

    /// Records entry `id` as delivered to `consumer` now (first delivery, or a new
    /// owner for an entry that was pending elsewhere).
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now: u64) {
        if let Some(old) = self.pel.get(&id) {
            if let Some(c) = self.consumers.get_mut(&old.consumer) {
                c.pel.remove(&id);
            }
        }
        self.pel.insert(
            id,
            Pending {
                consumer: consumer.to_vec(),
                delivery_time: now,
                delivery_count: 1,
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Acknowledges `id`; false when it was not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(p) => {
                if let Some(c) = self.consumers.get_mut(&p.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Moves pending entry `id` to `consumer` with the given delivery time, counting a
    /// delivery unless `just_id`.
    pub fn claim(&mut self, id: StreamId, consumer: &[u8], time: u64, bump: bool) {
        let Some(p) = self.pel.get_mut(&id) else {
            return;
        };
        if p.consumer != consumer {
            if let Some(c) = self.consumers.get_mut(&p.consumer) {
                c.pel.remove(&id);
            }
            p.consumer = consumer.to_vec();
        }
        p.delivery_time = time;
        if bump {
            p.delivery_count += 1;
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Removes a consumer and its pending entries; returns how many it had.
    pub fn remove_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }
}
