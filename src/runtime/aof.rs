//! Writing the append-only file: what each shard's writes leave behind
//! (`shards::propagate`) goes into the shard's own buffer as RESP commands, and the
//! buffer is appended to the one incremental file of the process once per loop of the
//! shard, before its replies and answers to peers leave (`Shard::flush_mail`). With
//! `appendfsync always` the shard syncs the file right after that append: every write
//! of the loop shares one fdatasync (group commit), and no reply leaves before its write
//! is on disk. With `everysec` a thread syncs once a second; with `no`, the kernel
//! decides.
//!
//! Order. Every key lives on one shard, so the order of one shard's appends is the
//! order of every write to its keys. What spans shards is kept whole:
//! - a shard appends its buffer before it grants a hold or a key lock and before it
//!   runs a transaction's step, so a transaction's writes follow the writes before it;
//! - a transaction's (or a cross-shard command's, or a script's on copies) writes on
//!   every shard go to one buffer of that transaction, appended as one
//!   `MULTI` .. `EXEC` block by whoever ends it: the coordinator when it releases the
//!   holds, or the last shard of a step that holds nothing once it ran (see
//!   `txn_step`). A torn block at the end of the file is dropped at load;
//! - commands broadcast under a hold of every shard (FLUSHALL, SWAPDB) are logged once,
//!   by shard 0;
//! - a transaction or script on one shard is one `MULTI` .. `EXEC` block of that
//!   shard's buffer.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use shards::cmd::flags;
use shards::ops::{OpOutput, ShardOp};
use shards::propagate::{self, Argv};
use shards::{CommandSpec, Reply, Route};

use crate::base::ids::TxnId;
use crate::base::resp::encode_command;
use crate::runtime::{backlog, latency};

/// What an op needs for its log entry, taken before it runs (it consumes its
/// arguments).
pub enum Logged {
    Cmd {
        spec: &'static CommandSpec,
        db: usize,
        args: Vec<Bytes>,
    },
    Take {
        db: usize,
        key: Bytes,
    },
    Put {
        db: usize,
        cmd: Argv,
    },
}

impl Logged {
    /// For a write op; None for reads. Commands broadcast to every shard under one
    /// hold (FLUSHALL, SWAPDB) are logged by shard 0 only.
    pub fn of(op: &ShardOp, shard: usize) -> Option<Logged> {
        match op {
            ShardOp::Cmd { spec, db, args, .. } => {
                if !spec.has(flags::WRITE)
                    || (shard != 0 && matches!(spec.route, Route::Broadcast(_)))
                {
                    return None;
                }
                Some(Logged::Cmd {
                    spec,
                    db: *db,
                    args: args.clone(),
                })
            }
            ShardOp::TakeEntry { db, key } => Some(Logged::Take {
                db: *db,
                key: key.clone(),
            }),
            ShardOp::PutEntry { db, key, entry, .. } => Some(Logged::Put {
                db: *db,
                cmd: propagate::restore_entry(key, entry),
            }),
            ShardOp::GetEntry { .. } | ShardOp::Epoch | ShardOp::WrittenSince { .. } => None,
        }
    }

    /// The database and the commands to log, now that the op answered `out`
    /// (`propagated`: what the handler logs instead of itself, see
    /// `Keyspace::propagated`).
    pub fn effects(
        self,
        out: &OpOutput,
        now: u64,
        propagated: Option<Vec<Argv>>,
    ) -> (usize, Vec<Argv>) {
        match (self, out) {
            (Logged::Cmd { db, .. }, OpOutput::Reply(r)) if propagated.is_some() => {
                let cmds = if r.is_error() {
                    Vec::new()
                } else {
                    propagated.unwrap_or_default()
                };
                (db, cmds)
            }
            (Logged::Cmd { spec, db, args }, OpOutput::Reply(r)) => {
                (db, propagate::effects(spec, &args, r, now))
            }
            (Logged::Take { db, key }, OpOutput::Entry(Some(_))) => {
                (db, vec![propagate::del(&key)])
            }
            (Logged::Put { db, cmd }, OpOutput::Reply(Reply::Int(1))) => (db, vec![cmd]),
            _ => (0, Vec::new()),
        }
    }
}

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn parse(v: &str) -> Option<Fsync> {
        match v.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::EverySec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::No => "no",
        }
    }
}

/// The incremental file being appended to.
pub struct IncrFile {
    file: Arc<File>,
    pub path: PathBuf,
}

impl IncrFile {
    /// Opens (creating) `path` for appending.
    pub fn open(path: PathBuf) -> std::io::Result<IncrFile> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(IncrFile {
            file: Arc::new(file),
            path,
        })
    }

    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// Whether writes are logged (set under a hold of every shard, so every shard starts
/// or stops at the same point).
static ON: AtomicBool = AtomicBool::new(false);
static FSYNC: AtomicU8 = AtomicU8::new(1);
/// Bytes appended since the file was opened or rewritten; bytes known synced.
static APPENDED: AtomicU64 = AtomicU64::new(0);
static SYNCED: AtomicU64 = AtomicU64::new(0);
/// Whether the last append or sync failed (INFO `aof_last_write_status`).
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

static CURRENT: Mutex<Option<IncrFile>> = Mutex::new(None);
static TXNS: Mutex<Option<HashMap<TxnId, Chunk>>> = Mutex::new(None);

fn current() -> MutexGuard<'static, Option<IncrFile>> {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner())
}

fn txns() -> MutexGuard<'static, Option<HashMap<TxnId, Chunk>>> {
    TXNS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether writes are being logged: into the append-only file, or the replication
/// stream (`backlog`), or both.
#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed) || backlog::active()
}

/// Whether the append-only file is on.
#[inline]
pub fn file_on() -> bool {
    ON.load(Ordering::Relaxed)
}

pub fn fsync() -> Fsync {
    match FSYNC.load(Ordering::Relaxed) {
        0 => Fsync::Always,
        1 => Fsync::EverySec,
        _ => Fsync::No,
    }
}

pub fn set_fsync(f: Fsync) {
    let v = match f {
        Fsync::Always => 0,
        Fsync::EverySec => 1,
        Fsync::No => 2,
    };
    FSYNC.store(v, Ordering::Relaxed);
}

/// Starts logging into `file` (or, with None, stops). Call with every shard held, each
/// having appended its buffer. The previous file is synced first.
pub fn switch_to(file: Option<IncrFile>) -> std::io::Result<()> {
    let mut cur = current();
    if let Some(old) = cur.as_ref() {
        old.sync()?;
    }
    let len = match &file {
        Some(f) => f.file.metadata().map(|m| m.len()).unwrap_or(0),
        None => 0,
    };
    ON.store(file.is_some(), Ordering::SeqCst);
    *cur = file;
    APPENDED.store(len, Ordering::SeqCst);
    SYNCED.store(len, Ordering::SeqCst);
    Ok(())
}

/// The path of the file being appended to.
pub fn current_path() -> Option<PathBuf> {
    current().as_ref().map(|f| f.path.clone())
}

/// Bytes in the incremental file now.
pub fn appended() -> u64 {
    APPENDED.load(Ordering::Relaxed)
}

pub fn last_write_ok() -> bool {
    !WRITE_FAILED.load(Ordering::Relaxed)
}

/// Whether an fdatasync of the log is running (LATENCY's `aof-write-pending-fsync`).
static SYNCING: AtomicBool = AtomicBool::new(false);

/// Appends `bytes` to the current file.
fn append(bytes: &[u8]) {
    let cur = current();
    // Under the file's lock: the stream has the file's order. A replica's stream is
    // its primary's, fed verbatim by its link (`net/replica_link.rs`).
    if backlog::active() && !crate::runtime::upstream::is_replica() {
        backlog::feed(bytes);
    }
    let Some(f) = cur.as_ref() else {
        return;
    };
    let started = std::time::Instant::now();
    let written = (&*f.file).write_all(bytes);
    // As Redis: the write's time by what it may have waited for, and in all (no
    // `aof-write-active-child`: snapshots fork no child).
    let kind = if SYNCING.load(Ordering::Relaxed) {
        "aof-write-pending-fsync"
    } else {
        "aof-write-alone"
    };
    latency::sample_since(kind, started);
    latency::sample_since("aof-write", started);
    match written {
        Ok(()) => {
            APPENDED.fetch_add(bytes.len() as u64, Ordering::SeqCst);
            WRITE_FAILED.store(false, Ordering::Relaxed);
        }
        Err(e) => {
            WRITE_FAILED.store(true, Ordering::Relaxed);
            crate::base::log::warning(&format!(
                "Error writing to the AOF file {}: {e}",
                f.path.display()
            ));
        }
    }
}

/// Syncs the current file if something was appended since the last sync. Shards that
/// sync at once take turns, and one whose bytes a turn before it covered skips its own
/// (the writes of several shards' loops then share one fdatasync).
pub fn sync_now() {
    static TURN: Mutex<()> = Mutex::new(());
    let target = APPENDED.load(Ordering::SeqCst);
    if SYNCED.load(Ordering::SeqCst) >= target {
        return;
    }
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    if SYNCED.load(Ordering::SeqCst) >= target {
        return;
    }
    // Everything appended before the sync starts is covered by it.
    let covered = APPENDED.load(Ordering::SeqCst);
    let file = match current().as_ref() {
        Some(f) => f.file.clone(),
        None => return,
    };
    SYNCING.store(true, Ordering::Relaxed);
    let synced = file.sync_data();
    SYNCING.store(false, Ordering::Relaxed);
    match synced {
        Ok(()) => {
            SYNCED.fetch_max(covered, Ordering::SeqCst);
        }
        Err(e) => {
            WRITE_FAILED.store(true, Ordering::Relaxed);
            crate::base::log::warning(&format!("Can't persist the AOF file to disk: {e}"));
        }
    }
}

/// Commands in RESP form, with the SELECTs their databases need.
#[derive(Default)]
pub struct Chunk {
    buf: Vec<u8>,
    db: Option<usize>,
    records: usize,
}

impl Chunk {
    pub fn push(&mut self, db: usize, cmd: &[Bytes]) {
        if self.db != Some(db) {
            let n = db.to_string();
            encode_command(&mut self.buf, &[b"SELECT", n.as_bytes()]);
            self.db = Some(db);
        }
        encode_command(&mut self.buf, cmd);
        self.records += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes the bytes (wrapped in MULTI/EXEC when `whole` and there is more than one
    /// command), leaving the chunk empty.
    fn take(&mut self, whole: bool) -> Vec<u8> {
        let records = std::mem::take(&mut self.records);
        self.db = None;
        let body = std::mem::take(&mut self.buf);
        if whole && records > 1 {
            wrap(body)
        } else {
            body
        }
    }
}

fn wrap(body: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 30);
    encode_command(&mut out, &[b"MULTI"]);
    out.extend_from_slice(&body);
    encode_command(&mut out, &[b"EXEC"]);
    out
}

/// One shard's side of the log.
#[derive(Default)]
pub struct ShardLog {
    pending: Chunk,
    /// Inside a unit (a transaction or script on this shard alone): where it started
    /// in `pending`, and how many commands were there before.
    unit: Option<(usize, usize, Option<usize>)>,
    /// The transaction whose step is running: its writes go to its own chunk.
    txn: Option<TxnId>,
    /// Something was appended for this shard since its last sync.
    wrote: bool,
}

impl ShardLog {
    /// Logs what a write on database `db` left behind.
    pub fn record(&mut self, db: usize, cmds: Vec<Argv>) {
        if cmds.is_empty() {
            return;
        }
        if let Some(t) = self.txn {
            let mut map = txns();
            let chunk = map.get_or_insert_with(HashMap::new).entry(t).or_default();
            for c in &cmds {
                chunk.push(db, c);
            }
            return;
        }
        for c in &cmds {
            self.pending.push(db, c);
        }
    }

    /// Appends what this shard logged (before its replies leave, before it lets a
    /// transaction in). With `always`, syncs when anything was appended.
    pub fn flush(&mut self) {
        self.append_pending();
        if self.wrote && fsync() == Fsync::Always {
            let started = std::time::Instant::now();
            sync_now();
            latency::sample_since("aof-fsync-always", started);
        }
        self.wrote = false;
    }

    /// Appends the buffer now (not syncing): a transaction is about to run here.
    pub fn append_pending(&mut self) {
        if !self.pending.is_empty() && self.unit.is_none() {
            let bytes = self.pending.take(false);
            append(&bytes);
            self.wrote = true;
        }
    }

    /// Writes of a transaction's step go to its chunk until `end_step`.
    pub fn begin_step(&mut self, txn: TxnId) -> Option<TxnId> {
        self.txn.replace(txn)
    }

    pub fn end_step(&mut self, before: Option<TxnId>) {
        self.txn = before;
    }

    /// A unit (a transaction or a script on this shard alone) starts: its writes will
    /// be one MULTI/EXEC block.
    pub fn begin_unit(&mut self) -> bool {
        if self.unit.is_some() || self.txn.is_some() {
            return false;
        }
        self.unit = Some((
            self.pending.buf.len(),
            self.pending.records,
            self.pending.db,
        ));
        true
    }

    pub fn end_unit(&mut self) {
        let Some((start, before, db)) = self.unit.take() else {
            return;
        };
        if self.pending.records - before > 1 {
            let body = self.pending.buf.split_off(start);
            let mut block = Vec::new();
            // The block states its database itself.
            if let Some(db) = db {
                if !body.starts_with(b"*2\r\n$6\r\nSELECT") {
                    let n = db.to_string();
                    encode_command(&mut block, &[b"SELECT", n.as_bytes()]);
                }
            }
            block.extend_from_slice(&wrap(body));
            self.pending.buf.extend_from_slice(&block);
        }
    }

    /// Notes that this shard appended for others (a transaction it ended): its next
    /// flush syncs under `always`.
    pub fn mark_wrote(&mut self) {
        self.wrote = true;
    }
}

/// Where a shard's log stood (see `ShardLog::mark`).
pub struct LogMark {
    txn: Option<TxnId>,
    len: usize,
    records: usize,
    db: Option<usize>,
}

impl Chunk {
    fn mark(&self, txn: Option<TxnId>) -> LogMark {
        LogMark {
            txn,
            len: self.buf.len(),
            records: self.records,
            db: self.db,
        }
    }

    fn rollback(&mut self, m: &LogMark) {
        self.buf.truncate(m.len);
        self.records = m.records;
        self.db = m.db;
    }
}

impl ShardLog {
    /// Where the log stands now, to forget what follows (`rollback`): a script whose
    /// writes were undone.
    pub fn mark(&self) -> LogMark {
        match self.txn {
            Some(t) => {
                let map = txns();
                match map.as_ref().and_then(|m| m.get(&t)) {
                    Some(c) => c.mark(Some(t)),
                    None => Chunk::default().mark(Some(t)),
                }
            }
            None => self.pending.mark(None),
        }
    }

    pub fn rollback(&mut self, m: LogMark) {
        match m.txn {
            Some(t) => {
                if let Some(c) = txns().as_mut().and_then(|map| map.get_mut(&t)) {
                    c.rollback(&m);
                }
            }
            None => self.pending.rollback(&m),
        }
    }
}

/// Appends the block of transaction `txn` (its writes on every shard), if it wrote.
/// Whether anything was appended.
pub fn commit_txn(txn: TxnId) -> bool {
    let chunk = txns().as_mut().and_then(|m| m.remove(&txn));
    match chunk {
        Some(mut c) if !c.is_empty() => {
            let bytes = c.take(true);
            append(&bytes);
            true
        }
        _ => false,
    }
}

/// `everysec`: a thread that syncs the file once a second while anything is new.
pub fn start_everysec_thread() {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("aof-fsync".into())
        .spawn(|| loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            if on() && fsync() == Fsync::EverySec {
                sync_now();
            }
        });
    if let Err(e) = spawned {
        crate::base::log::warning(&format!("cannot start the AOF fsync thread: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).replace("\r\n", " ")
    }

    #[test]
    fn chunks_select_their_database_once_per_change() {
        let mut c = Chunk::default();
        c.push(0, &[Bytes::from("SET"), Bytes::from("a"), Bytes::from("1")]);
        c.push(0, &[Bytes::from("DEL"), Bytes::from("b")]);
        c.push(3, &[Bytes::from("DEL"), Bytes::from("c")]);
        assert_eq!(
            text(&c.take(false)),
            "*2 $6 SELECT $1 0 *3 $3 SET $1 a $1 1 *2 $3 DEL $1 b *2 $6 SELECT $1 3 *2 $3 DEL $1 c "
        );
        assert!(c.is_empty());
    }

    #[test]
    fn a_unit_of_several_writes_is_one_block_and_of_one_write_is_plain() {
        let mut log = ShardLog::default();
        log.record(0, vec![vec![Bytes::from("DEL"), Bytes::from("x")]]);
        assert!(log.begin_unit());
        log.record(0, vec![vec![Bytes::from("DEL"), Bytes::from("a")]]);
        log.record(1, vec![vec![Bytes::from("DEL"), Bytes::from("b")]]);
        log.end_unit();
        assert_eq!(
            text(&log.pending.take(false)),
            "*2 $6 SELECT $1 0 *2 $3 DEL $1 x *2 $6 SELECT $1 0 *1 $5 MULTI *2 $3 DEL $1 a \
             *2 $6 SELECT $1 1 *2 $3 DEL $1 b *1 $4 EXEC "
        );
        assert!(log.begin_unit());
        log.record(2, vec![vec![Bytes::from("DEL"), Bytes::from("c")]]);
        log.end_unit();
        assert_eq!(
            text(&log.pending.take(false)),
            "*2 $6 SELECT $1 2 *2 $3 DEL $1 c "
        );
    }
}
