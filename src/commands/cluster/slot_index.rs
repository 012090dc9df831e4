//! The keys of each slot on this shard, for CLUSTER GETKEYSINSLOT and COUNTKEYSINSLOT
//! (what `redis-cli --cluster reshard` asks for every slot it moves). The keyspace has
//! no slot index of its own, so the first question walks it once; from then on the
//! keyspace reports every key it creates and the index stays current, and deleted keys
//! are dropped when their slot is asked about. The index holds a copy of every key, so
//! it lives only while it is used: 30 s after the last question it is dropped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use shards::{key_slot, Slot};

use crate::runtime::shard::Shard;

const IDLE: Duration = Duration::from_secs(30);

struct Index {
    slots: HashMap<Slot, Vec<Bytes>>,
    last_used: Instant,
}

thread_local! {
    static INDEX: RefCell<Option<Index>> = const { RefCell::new(None) };
}

/// Runs `f` on the live keys of `slot` (deduplicated, in byte order).
fn with_slot<R>(shard: &Rc<Shard>, slot: Slot, f: impl FnOnce(&[Bytes]) -> R) -> R {
    let mut ks = shard.ks.borrow_mut();
    ks.tick();
    INDEX.with(|cell| {
        let mut cell = cell.borrow_mut();
        let index = cell.get_or_insert_with(|| {
            ks.track_new_keys(true);
            let mut slots: HashMap<Slot, Vec<Bytes>> = HashMap::new();
            ks.for_each_key(0, |k, _| {
                slots
                    .entry(key_slot(k))
                    .or_default()
                    .push(Bytes::copy_from_slice(k));
            });
            crate::runtime::exec::spawn(drop_when_idle(shard.clone()));
            Index {
                slots,
                last_used: Instant::now(),
            }
        });
        absorb_new_keys(index, &mut ks.take_new_keys());
        index.last_used = Instant::now();
        let keys = index.slots.entry(slot).or_default();
        keys.retain(|k| ks.exists(0, k));
        keys.sort_unstable();
        keys.dedup();
        f(keys)
    })
}

fn absorb_new_keys(index: &mut Index, new: &mut Vec<Box<[u8]>>) {
    for k in new.drain(..) {
        let k = Bytes::from(Vec::from(k));
        index.slots.entry(key_slot(&k)).or_default().push(k);
    }
}

/// Folds new keys in every few seconds (so the keyspace's log stays short) and drops
/// the index once nobody asked for a while.
async fn drop_when_idle(shard: Rc<Shard>) {
    loop {
        crate::runtime::sleep::sleep(Duration::from_secs(2)).await;
        let mut ks = shard.ks.borrow_mut();
        let done = INDEX.with(|cell| {
            let mut cell = cell.borrow_mut();
            let Some(index) = cell.as_mut() else {
                return true;
            };
            if index.last_used.elapsed() > IDLE {
                *cell = None;
                return true;
            }
            absorb_new_keys(index, &mut ks.take_new_keys());
            false
        });
        if done {
            ks.track_new_keys(false);
            return;
        }
    }
}

pub fn count(shard: &Rc<Shard>, slot: Slot) -> usize {
    with_slot(shard, slot, |keys| keys.len())
}

pub fn keys(shard: &Rc<Shard>, slot: Slot, max: usize) -> Vec<Bytes> {
    with_slot(shard, slot, |keys| keys.iter().take(max).cloned().collect())
}
