//! The replication stream and its backlog. What the shards log for the append-only file
//! (RESP commands, each shard's writes in their order, transactions as whole MULTI/EXEC
//! blocks: see `aof`) is also the stream replicas apply; while replication is active it
//! goes, in the order the log receives it, into one process-wide backlog of
//! `repl-backlog-size` bytes. The primary's replication offset is the number of stream
//! bytes since its replication id began; a replica reads the stream by offset, and one
//! whose offset is still in the backlog may resume there (PSYNC's +CONTINUE).
//!
//! The stream has an id (`master_replid`, random per process) and, after a replica was
//! promoted, a second one (`master_replid2`): the id of the primary it followed, valid
//! up to `second_repl_offset`, so the former primary's other replicas may resume from
//! the promoted one. A replica's backlog holds its primary's stream verbatim (under its
//! primary's id and offsets), so replicas of a replica, and a replica promoted, carry it
//! on as Redis's do.
//!
//! Synchronous and socket-free: the replication commands (`commands/replication.rs`),
//! a replica's link (`net/replica_link.rs`) and the replicas' feeding
//! (`runtime/replicas.rs`) read it.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Redis's default `repl-backlog-size`.
pub const DEFAULT_SIZE: usize = 1 << 20;

struct Backlog {
    /// The newest bytes of the stream, at most `size`.
    bytes: VecDeque<u8>,
    size: usize,
    /// The offset of the stream's end (`master_repl_offset`).
    end: u64,
}

/// The stream's ids: its own, and the one before a promotion with the offset up to
/// which that one still holds (-1: none).
#[derive(Debug, Clone)]
pub struct Ids {
    pub replid: String,
    pub replid2: String,
    pub second_offset: i64,
}

const NO_ID: &str = "0000000000000000000000000000000000000000";

static IDS: Mutex<Option<Ids>> = Mutex::new(None);

fn ids_lock() -> MutexGuard<'static, Option<Ids>> {
    IDS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The stream's ids now.
pub fn ids() -> Ids {
    ids_lock()
        .get_or_insert_with(|| Ids {
            replid: crate::base::ids::process_id(1).to_string(),
            replid2: NO_ID.to_string(),
            second_offset: -1,
        })
        .clone()
}

pub fn replid() -> String {
    ids().replid
}

/// A replica takes its primary's id (after a full sync); with `keep_old`, the id it
/// had stays valid as the second one up to the offset now (a primary that changed its
/// id, e.g. after a failover, told so with +CONTINUE).
pub fn adopt_replid(id: &str, keep_old: bool) {
    let mut cur = ids();
    if cur.replid == id {
        return;
    }
    if keep_old {
        cur.replid2 = std::mem::replace(&mut cur.replid, id.to_string());
        cur.second_offset = offset() as i64 + 1;
    } else {
        cur.replid = id.to_string();
        cur.replid2 = NO_ID.to_string();
        cur.second_offset = -1;
    }
    *ids_lock() = Some(cur);
}

/// A replica promoted: a new id for the stream from here, the old one still valid up
/// to here (so its former primary's replicas resume partially).
pub fn shift_replid() {
    adopt_replid(&crate::base::ids::random_id(), true);
}

/// Whether a replica asking for `id` from `offset` (the next byte it needs, 0-based)
/// may resume: the id is this stream's, or its previous one up to where it held.
pub fn may_resume(id: &str, offset: u64) -> bool {
    let cur = ids();
    let known = id == cur.replid || (id == cur.replid2 && (offset as i64) < cur.second_offset);
    known && active() && holds(offset)
}

/// A replica's full sync: the stream restarts at its primary's `offset`, empty.
pub fn reset_to(offset: u64) {
    let mut b = backlog();
    b.bytes.clear();
    b.end = offset;
    ACTIVE.store(true, Ordering::SeqCst);
}

static BACKLOG: Mutex<Backlog> = Mutex::new(Backlog {
    bytes: VecDeque::new(),
    size: DEFAULT_SIZE,
    end: 0,
});
/// Whether writes are recorded into the backlog (from the first replica on).
static ACTIVE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Whether this thread fed the stream since it last told the replicas.
    static FED: Cell<bool> = const { Cell::new(false) };
}

fn backlog() -> MutexGuard<'static, Backlog> {
    BACKLOG.lock().unwrap_or_else(|e| e.into_inner())
}

#[inline]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Starts recording (a replica is about to sync). Call where every shard is held, each
/// having appended its log, so the stream starts at one instant; returns the offset
/// there.
pub fn activate() -> u64 {
    ACTIVE.store(true, Ordering::SeqCst);
    backlog().end
}

/// Appends stream bytes (the caller holds the log's order, see `aof::append`).
pub fn feed(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let mut b = backlog();
    let size = b.size;
    if bytes.len() >= size {
        b.bytes.clear();
        b.bytes.extend(&bytes[bytes.len() - size..]);
    } else {
        let over = (b.bytes.len() + bytes.len()).saturating_sub(size);
        b.bytes.drain(..over);
        b.bytes.extend(bytes);
    }
    b.end += bytes.len() as u64;
    FED.with(|f| f.set(true));
}

/// Whether this thread fed the stream since the last call (then the replicas are told).
pub fn take_fed() -> bool {
    FED.with(|f| f.replace(false))
}

/// The stream's end offset (`master_repl_offset`).
pub fn offset() -> u64 {
    backlog().end
}

/// Up to `max` stream bytes from `offset`; `None` when `offset` is no longer (or not
/// yet) in the backlog.
pub fn read_from(offset: u64, max: usize) -> Option<Vec<u8>> {
    let b = backlog();
    let first = b.end - b.bytes.len() as u64;
    if offset < first || offset > b.end {
        return None;
    }
    let skip = (offset - first) as usize;
    let n = (b.bytes.len() - skip).min(max);
    Some(b.bytes.range(skip..skip + n).copied().collect())
}

/// Whether a replica may resume at `offset`.
pub fn holds(offset: u64) -> bool {
    let b = backlog();
    offset <= b.end && offset >= b.end - b.bytes.len() as u64
}

/// `repl-backlog-size`: keeps the newest bytes that fit.
pub fn set_size(size: usize) {
    let mut b = backlog();
    let size = size.max(16 << 10);
    b.size = size;
    let over = b.bytes.len().saturating_sub(size);
    b.bytes.drain(..over);
}

pub fn size() -> usize {
    backlog().size
}

/// INFO's figures: (active, size, first byte offset, bytes held).
pub fn figures() -> (bool, usize, u64, usize) {
    let b = backlog();
    let held = b.bytes.len();
    (active(), b.size, b.end - held as u64 + 1, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the backlog is process-wide.
    #[test]
    fn the_backlog_keeps_the_newest_bytes_by_offset() {
        set_size(16 << 10);
        let start = activate();
        feed(b"abc");
        assert_eq!(offset(), start + 3);
        assert_eq!(read_from(start, 10).unwrap(), b"abc");
        assert_eq!(read_from(start + 1, 1).unwrap(), b"b");
        assert_eq!(read_from(start + 3, 10).unwrap(), b"");
        assert!(read_from(start + 4, 10).is_none());
        assert!(take_fed());
        assert!(!take_fed());
        let big = vec![b'x'; 20 << 10];
        feed(&big);
        assert!(!holds(start));
        assert!(holds(offset() - (16 << 10)));
        assert_eq!(read_from(offset() - 2, 10).unwrap(), b"xx");
        let (on, size, first, held) = figures();
        assert!(on);
        assert_eq!((size, held), (16 << 10, 16 << 10));
        assert_eq!(first, offset() - held as u64 + 1);
    }
}
