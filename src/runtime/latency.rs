//! LATENCY's monitor: for each event (a command, `command`, or a command flagged fast,
//! `fast-command`; a shard's active expiry cycle, `expire-cycle`, or eviction run,
//! `eviction-cycle`, that took at least `latency-monitor-threshold` milliseconds) the
//! latest 160 seconds that had a sample (the highest latency of each second) and the
//! all-time maximum. Samples come rarely (only past the threshold), from any shard:
//! one process-wide table behind a lock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Seconds of history kept per event, as Redis.
const HISTORY: usize = 160;

#[derive(Clone, Debug, Default)]
pub struct Series {
    /// (Unix time in seconds, milliseconds), oldest first.
    pub samples: Vec<(u64, u64)>,
    pub max: u64,
}

impl Series {
    fn add(&mut self, now: u64, ms: u64) {
        self.max = self.max.max(ms);
        if let Some(last) = self.samples.last_mut() {
            if last.0 == now {
                last.1 = last.1.max(ms);
                return;
            }
        }
        if self.samples.len() == HISTORY {
            self.samples.remove(0);
        }
        self.samples.push((now, ms));
    }
}

static EVENTS: Mutex<BTreeMap<String, Series>> = Mutex::new(BTreeMap::new());

fn events() -> std::sync::MutexGuard<'static, BTreeMap<String, Series>> {
    EVENTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records `ms` for `event` now.
pub fn add_sample(event: &str, ms: u64) {
    let now = shards::clock::system_ms() / 1000;
    events().entry(event.to_string()).or_default().add(now, ms);
}

/// `latency-monitor-threshold`: process-wide, as the events of the append-only file
/// and of snapshots belong to no shard.
static THRESHOLD_MS: AtomicU64 = AtomicU64::new(0);

pub fn threshold_ms() -> u64 {
    THRESHOLD_MS.load(Ordering::Relaxed)
}

pub fn set_threshold_ms(ms: u64) {
    THRESHOLD_MS.store(ms, Ordering::Relaxed);
}

/// Records `event` when what began at `started` took at least the threshold (0: the
/// monitor is off).
pub fn sample_since(event: &str, started: std::time::Instant) {
    let threshold = threshold_ms();
    if threshold == 0 {
        return;
    }
    let ms = started.elapsed().as_millis() as u64;
    if ms >= threshold {
        add_sample(event, ms);
    }
}

/// Every event's series.
pub fn all() -> Vec<(String, Series)> {
    events()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn get(event: &str) -> Option<Series> {
    events().get(event).cloned()
}

/// Forgets `event` (case-insensitively), or every event; how many were forgotten.
pub fn reset(event: Option<&str>) -> usize {
    let mut ev = events();
    let before = ev.len();
    ev.retain(|name, _| event.is_some_and(|e| !name.eq_ignore_ascii_case(e)));
    before - ev.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_keeps_its_highest_sample_and_history_is_bounded() {
        let mut s = Series::default();
        s.add(10, 5);
        s.add(10, 9);
        s.add(10, 7);
        assert_eq!(s.samples, [(10, 9)]);
        for t in 11..200 {
            s.add(t, 1);
        }
        assert_eq!(s.samples.len(), HISTORY);
        assert_eq!(s.samples[0].0, 200 - HISTORY as u64);
        assert_eq!(s.max, 9);
    }
}
