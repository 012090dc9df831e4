//! This shard's slow log: commands of its clients that took at least
//! `slowlog-log-slower-than` microseconds, newest first, at most `slowlog-max-len`.
//! Ids come from one process-wide counter, so SLOWLOG GET merges the shards' logs by
//! id into Redis's single log.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

/// Redis keeps at most this many arguments of a command, and this many bytes of each.
const MAX_ARGS: usize = 32;
const MAX_ARG_BYTES: usize = 128;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Debug)]
pub struct Entry {
    pub id: u64,
    /// Unix time, seconds.
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    /// The client's `ip:port` and name.
    pub addr: String,
    pub name: String,
}

impl Entry {
    /// An entry for a command (`secret(i)`: argument `i` is shown as `(redacted)`),
    /// its arguments cut as Redis cuts them.
    pub fn new(
        args: &[Bytes],
        secret: impl Fn(usize) -> bool,
        micros: u64,
        addr: String,
        name: String,
    ) -> Entry {
        let kept = args.len().min(MAX_ARGS);
        let args = (0..kept)
            .map(|i| {
                if kept != args.len() && i == kept - 1 {
                    return Bytes::from(format!("... ({} more arguments)", args.len() - kept + 1));
                }
                if secret(i) {
                    return Bytes::from_static(b"(redacted)");
                }
                let a = &args[i];
                if a.len() > MAX_ARG_BYTES {
                    let mut cut = a[..MAX_ARG_BYTES].to_vec();
                    cut.extend_from_slice(
                        format!("... ({} more bytes)", a.len() - MAX_ARG_BYTES).as_bytes(),
                    );
                    Bytes::from(cut)
                } else {
                    Bytes::copy_from_slice(a)
                }
            })
            .collect();
        Entry {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            time: shards::clock::system_ms() / 1000,
            micros,
            args,
            addr,
            name,
        }
    }
}

#[derive(Default)]
pub struct Slowlog {
    /// Newest first.
    entries: VecDeque<Entry>,
}

impl Slowlog {
    pub fn push(&mut self, e: Entry, max_len: usize) {
        self.entries.push_front(e);
        self.entries.truncate(max_len);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// The newest `n` entries.
    pub fn newest(&self, n: usize) -> Vec<Entry> {
        self.entries.iter().take(n).cloned().collect()
    }

    /// `slowlog-max-len` went down.
    pub fn trim(&mut self, max_len: usize) {
        self.entries.truncate(max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_cut_as_redis_cuts_them() {
        let many: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        let e = Entry::new(&many, |_| false, 5, String::new(), String::new());
        assert_eq!(e.args.len(), 32);
        assert_eq!(e.args[30], Bytes::from("a30"));
        assert_eq!(e.args[31], Bytes::from("... (9 more arguments)"));
        let long = vec![Bytes::from("set"), Bytes::from(vec![b'x'; 200])];
        let e = Entry::new(&long, |i| i == 0, 5, String::new(), String::new());
        assert_eq!(e.args[0], Bytes::from("(redacted)"));
        assert_eq!(e.args[1].len(), 128 + "... (72 more bytes)".len());
        assert!(e.args[1].ends_with(b"... (72 more bytes)"));
    }

    #[test]
    fn the_log_keeps_the_newest() {
        let mut log = Slowlog::default();
        for _ in 0..5 {
            log.push(
                Entry::new(&[], |_| false, 1, String::new(), String::new()),
                3,
            );
        }
        assert_eq!(log.len(), 3);
        let ids: Vec<u64> = log.newest(10).iter().map(|e| e.id).collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]));
    }
}
