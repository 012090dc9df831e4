//! The shard's timers when the network driver runs it: a heap of deadlines whose wakers
//! are woken when the driver passes them; the driver waits no longer than the next one.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::task::Waker;
use std::time::Instant;

#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    wakers: HashMap<u64, Waker>,
    next_id: u64,
}

impl Timers {
    /// Registers a timer; returns its id.
    pub fn add(&mut self, at: Instant, waker: Waker) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.heap.push(Reverse((at, id)));
        self.wakers.insert(id, waker);
        id
    }

    /// Replaces the waker of a live timer.
    pub fn update(&mut self, id: u64, waker: &Waker) {
        if let Some(w) = self.wakers.get_mut(&id) {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
    }

    /// Forgets a timer (its heap entry is dropped when it comes up).
    pub fn cancel(&mut self, id: u64) {
        self.wakers.remove(&id);
    }

    /// Whether the timer `id` has fired (or never existed).
    pub fn fired(&self, id: u64) -> bool {
        !self.wakers.contains_key(&id)
    }

    /// Wakes every timer due at `now`; how many.
    pub fn fire(&mut self, now: Instant) -> usize {
        let mut n = 0;
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            if let Some(w) = self.wakers.remove(&id) {
                w.wake();
                n += 1;
            }
        }
        n
    }

    /// The next live deadline.
    pub fn next(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if self.wakers.contains_key(&id) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timers_fire_in_deadline_order_and_cancelled_ones_never() {
        let mut t = Timers::default();
        let now = Instant::now();
        let a = t.add(now + Duration::from_millis(20), Waker::noop().clone());
        let b = t.add(now + Duration::from_millis(10), Waker::noop().clone());
        let c = t.add(now + Duration::from_millis(5), Waker::noop().clone());
        t.cancel(c);
        assert_eq!(t.next(), Some(now + Duration::from_millis(10)));
        assert_eq!(t.fire(now + Duration::from_millis(15)), 1);
        assert!(t.fired(b) && !t.fired(a));
        assert_eq!(t.next(), Some(now + Duration::from_millis(20)));
        assert_eq!(t.fire(now + Duration::from_secs(1)), 1);
        assert_eq!(t.next(), None);
    }
}
