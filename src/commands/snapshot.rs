//! Taking a snapshot of every shard into one RDB file (used by `save`): all shards are
//! held only while each starts its snapshot (`shards::snapshot`), so the file is the
//! keyspace at one instant; then each shard walks its keys between commands, moving
//! its records to a temporary file per database as they pile up (a spill thread per
//! shard), and a writer thread assembles the file in Redis's order (header, then per
//! database its SELECTDB and every shard's records, EOF and checksum), syncs it and
//! renames it over the old one. The shards never stop and never hold much of the file
//! in memory.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use shards::rdb::crc64::crc64;
use shards::rdb::file::{self, Written};

use crate::coord::atomic::isolated;
use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Work};

/// One shard's part: per database the counts of what it wrote and the file holding
/// those records (none when it wrote nothing); its change counter at the snapshot's
/// instant and its heap tally.
struct Part {
    dbs: Vec<(Written, Option<PathBuf>)>,
    dirty: u64,
    heap: i64,
}

/// Entries the walker saves per step; between steps the shard serves its clients.
const WALK_STEP: usize = 256;
/// A database's buffer of a running snapshot goes to disk once it holds this much.
const SPILL: usize = 256 << 10;

/// Starts a shard's snapshot (the caller holds every shard) and returns its change
/// counter at that instant.
fn begin_part(shard: &Rc<Shard>) -> u64 {
    shard.ks.borrow_mut().snapshot_begin();
    shard.stats.borrow().dirty
}

/// Snapshots started, and how long the last start held every shard (µs): corecache's
/// counterpart of a fork (INFO `total_forks`, `latest_fork_usec`; LATENCY `fork`).
static STARTS: AtomicU64 = AtomicU64::new(0);
static LATEST_START_US: AtomicU64 = AtomicU64::new(0);

/// (snapshots started, µs the latest start held the shards).
pub fn start_stats() -> (u64, u64) {
    (
        STARTS.load(Ordering::Relaxed),
        LATEST_START_US.load(Ordering::Relaxed),
    )
}

/// Starts a snapshot of every shard at one instant: all shards are held for the moment
/// each needs to start its snapshot. Returns each shard's change counter then.
pub async fn start_snapshot(shard: &Rc<Shard>) -> Vec<u64> {
    start_snapshot_and(shard, || ()).await.0
}

/// `start_snapshot`, running `at_cut` at the snapshot's instant too (every shard held,
/// each having appended its writes to the append-only file: a rewrite switches files
/// there).
pub async fn start_snapshot_and<R>(shard: &Rc<Shard>, at_cut: impl FnOnce() -> R) -> (Vec<u64>, R) {
    let all: Vec<usize> = (0..shard.nshards).collect();
    let started = std::time::Instant::now();
    let out = isolated(shard, all.clone(), |txn| async move {
        let mut dirties = Vec::with_capacity(all.len());
        for &s in &all {
            let job = Box::new(|sh: &Rc<Shard>| Box::new(begin_part(sh)) as Answer);
            let done = shard.call(s, Work::Keyed(Some(txn), job)).await;
            dirties.push(done.into_answer::<u64>().expect("a counter"));
        }
        (dirties, at_cut())
    })
    .await;
    STARTS.fetch_add(1, Ordering::Relaxed);
    LATEST_START_US.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    crate::runtime::latency::sample_since("fork", started);
    out
}

/// A thread that appends a shard's snapshot records to one temporary file per
/// database, so the records do not stay in memory.
struct Spill {
    tx: std::sync::mpsc::Sender<(usize, Vec<u8>)>,
    done: futures_channel::oneshot::Receiver<std::io::Result<Vec<Option<PathBuf>>>>,
}

type SpillFile = (PathBuf, std::io::BufWriter<std::fs::File>);

fn spill_thread(dir: PathBuf, shard_id: usize, dbs: usize) -> std::io::Result<Spill> {
    use std::io::Write;
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Vec<u8>)>();
    let (done_tx, done) = futures_channel::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("rdb-spill-{shard_id}"))
        .spawn(move || {
            let mut files: Vec<Option<SpillFile>> = (0..dbs).map(|_| None).collect();
            let mut result = Ok(());
            for (db, bytes) in rx {
                if result.is_err() {
                    continue;
                }
                if files[db].is_none() {
                    let path =
                        dir.join(format!("temp-{}-{shard_id}-{db}.part", std::process::id()));
                    match std::fs::File::create(&path) {
                        Ok(f) => files[db] = Some((path, std::io::BufWriter::new(f))),
                        Err(e) => {
                            result = Err(e);
                            continue;
                        }
                    }
                }
                if let Some((_, f)) = files[db].as_mut() {
                    result = f.write_all(&bytes);
                }
            }
            let mut paths = Vec::with_capacity(dbs);
            for slot in files {
                paths.push(slot.map(|(path, mut f)| {
                    if result.is_ok() {
                        result = f.flush();
                    }
                    path
                }));
            }
            let out = match result {
                Ok(()) => Ok(paths),
                Err(e) => {
                    remove_parts(paths.iter().flatten());
                    Err(e)
                }
            };
            let _ = done_tx.send(out);
        })?;
    Ok(Spill { tx, done })
}

/// The shards' temporary files among `pieces` (removed once written out).
fn part_files(pieces: &[Piece]) -> Vec<PathBuf> {
    pieces
        .iter()
        .filter_map(|p| match p {
            Piece::File(f) => Some(f.clone()),
            Piece::Bytes(_) => None,
        })
        .collect()
}

fn remove_parts<'a>(paths: impl Iterator<Item = &'a PathBuf>) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

type PartReceiver = futures_channel::oneshot::Receiver<std::io::Result<Part>>;

/// Walks the shard's snapshot to its end between other work, moving its records to
/// disk as they pile up, then hands its part over.
fn walk_part(shard: &Rc<Shard>, dir: PathBuf, dirty: u64) -> PartReceiver {
    let (tx, rx) = futures_channel::oneshot::channel();
    let sh = shard.clone();
    crate::runtime::exec::spawn(async move {
        let dbs = sh.ks.borrow().db_count();
        let spill = spill_thread(dir, sh.id, dbs);
        loop {
            let (done, full) = {
                let mut ks = sh.ks.borrow_mut();
                let done = ks.snapshot_step(WALK_STEP);
                (done, ks.snapshot_drain(if done { 1 } else { SPILL }))
            };
            if let Ok(s) = &spill {
                for chunk in full {
                    let _ = s.tx.send(chunk);
                }
            }
            if done {
                break;
            }
            crate::runtime::sleep::sleep(std::time::Duration::ZERO).await;
        }
        // Only one snapshot runs at a time (`save::begin`); had another taken this
        // one's result, the file would silently miss keys: fail the save instead.
        let counts: Option<Vec<Written>> = sh
            .ks
            .borrow_mut()
            .snapshot_take()
            .map(|s| s.parts.iter().map(|(_, w)| *w).collect());
        let part = match (spill, counts) {
            (Err(e), _) => Err(e),
            (Ok(s), None) => {
                drop(s.tx);
                if let Ok(Ok(paths)) = s.done.await {
                    remove_parts(paths.iter().flatten());
                }
                Err(std::io::Error::other("the shard's snapshot was lost"))
            }
            (Ok(s), Some(counts)) => {
                let Spill { tx: chunks, done } = s;
                drop(chunks);
                match done.await {
                    Ok(Ok(paths)) => Ok(Part {
                        dbs: counts.into_iter().zip(paths).collect(),
                        dirty,
                        heap: shards::alloc::thread_used() as i64,
                    }),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(std::io::Error::other("the spill thread died")),
                }
            }
        };
        let _ = tx.send(part);
    });
    rx
}

/// A piece of the file: bytes, or a shard's temporary file of records.
pub enum Piece {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// Lets every shard walk its started snapshot while it serves (an entry about to
/// change is saved first); returns the file's pieces in order (all but the footer,
/// which the writer adds with the checksum) and the change counters' sum at the
/// snapshot's instant. `dir` is where the temporary files go (the file's directory).
pub async fn finish_snapshot(
    shard: &Rc<Shard>,
    dir: &Path,
    dirties: Vec<u64>,
    aof_base: bool,
) -> std::io::Result<(Vec<Piece>, u64)> {
    let mut waiting = Vec::with_capacity(dirties.len());
    for (s, dirty) in dirties.into_iter().enumerate() {
        let dir = dir.to_path_buf();
        let job = Box::new(move |sh: &Rc<Shard>| Box::new(walk_part(sh, dir, dirty)) as Answer);
        let rx = shard.call(s, Work::Admin(job)).await;
        waiting.push(rx.into_answer::<PartReceiver>().expect("a receiver"));
    }
    let mut parts = Vec::with_capacity(waiting.len());
    let mut failed = None;
    for rx in waiting {
        match rx
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("a walker died")))
        {
            Ok(p) => parts.push(p),
            Err(e) => failed = Some(e),
        }
    }
    if let Some(e) = failed {
        remove_parts(
            parts
                .iter()
                .flat_map(|p| p.dbs.iter().filter_map(|(_, f)| f.as_ref())),
        );
        return Err(e);
    }
    let used: i64 = parts.iter().map(|p| p.heap).sum();
    let mut header = Vec::new();
    let now = shards::clock::system_ms();
    file::write_header(
        &mut header,
        &[
            ("redis-ver", "7.0.0".to_string()),
            ("redis-bits", "64".to_string()),
            ("ctime", (now / 1000).to_string()),
            ("used-mem", used.max(0).to_string()),
            ("aof-base", u8::from(aof_base).to_string()),
        ],
    );
    for code in crate::commands::script_admin::library_codes(shard) {
        file::write_function(&mut header, &code);
    }
    let mut pieces = vec![Piece::Bytes(header)];
    let dbs = parts.iter().map(|p| p.dbs.len()).max().unwrap_or(0);
    for db in 0..dbs {
        let (keys, expires) = parts
            .iter()
            .filter_map(|p| p.dbs.get(db))
            .fold((0, 0), |(k, e), (w, _)| (k + w.keys, e + w.expires));
        // A shard has a file for a database only if it wrote keys there.
        if keys == 0 {
            continue;
        }
        let mut start = Vec::new();
        file::write_db_start(&mut start, db, keys, expires);
        pieces.push(Piece::Bytes(start));
        for p in &parts {
            if let Some((_, Some(path))) = p.dbs.get(db) {
                pieces.push(Piece::File(path.clone()));
            }
        }
    }
    let dirty = parts.iter().map(|p| p.dirty).sum();
    Ok((pieces, dirty))
}

/// Writes the pieces and the footer to `path` through a temporary file in the same
/// directory, synced and renamed over the old file (as Redis does), on a thread of its
/// own, which also computes the checksum (off the shards). The pieces' temporary files
/// are removed either way.
pub async fn write_file(path: PathBuf, pieces: Vec<Piece>, checksum: bool) -> std::io::Result<()> {
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::Builder::new()
        .name("rdb-writer".into())
        .spawn(move || {
            let files = part_files(&pieces);
            let out = assemble(&path, pieces, checksum);
            remove_parts(files.iter());
            let _ = tx.send(out);
        })?;
    rx.await
        .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread died")))
}

fn assemble(path: &Path, pieces: Vec<Piece>, checksum: bool) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let written = (|| {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        let mut crc = 0;
        let mut chunk = vec![0u8; 1 << 20];
        for piece in pieces {
            match piece {
                Piece::Bytes(b) => {
                    crc = if checksum { crc64(crc, &b) } else { 0 };
                    f.write_all(&b)?;
                }
                Piece::File(p) => {
                    let mut part = std::fs::File::open(&p)?;
                    loop {
                        let n = part.read(&mut chunk)?;
                        if n == 0 {
                            break;
                        }
                        if checksum {
                            crc = crc64(crc, &chunk[..n]);
                        }
                        f.write_all(&chunk[..n])?;
                    }
                }
            }
        }
        let mut footer = Vec::new();
        file::write_footer(&mut footer, crc, checksum);
        f.write_all(&footer)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Streams the pieces of a snapshot as an RDB payload (`$<len>\r\n` and the bytes,
/// footer and checksum included) through `send`, in 1 MiB chunks, each once `queued()`
/// (the bytes still waiting to leave) is under 4 MiB: the payload is never in memory
/// whole and needs no file of its own (the shards' spill files are read and removed).
/// Stops with an error when `send` refuses (the connection went away).
pub async fn stream_payload(
    pieces: Vec<Piece>,
    checksum: bool,
    queued: impl Fn() -> usize,
    mut send: impl FnMut(Vec<u8>) -> bool,
) -> std::io::Result<()> {
    use std::io::Read;
    const CHUNK: usize = 1 << 20;
    const HIGH: usize = 4 << 20;
    let files = part_files(&pieces);
    let out = async {
        let mut len = 9u64; // the footer: EOF and the checksum
        for p in &pieces {
            len += match p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::File(f) => std::fs::metadata(f)?.len(),
            };
        }
        let gone = || std::io::Error::other("the replica went away");
        let mut crc = 0u64;
        let mut chunk = format!("${len}\r\n").into_bytes();
        for p in pieces {
            let mut reader: Box<dyn Read> = match p {
                Piece::Bytes(b) => Box::new(std::io::Cursor::new(b)),
                Piece::File(f) => Box::new(std::fs::File::open(f)?),
            };
            loop {
                let start = chunk.len();
                chunk.resize(CHUNK, 0);
                let n = reader.read(&mut chunk[start..])?;
                chunk.truncate(start + n);
                if checksum {
                    crc = crc64(crc, &chunk[start..]);
                }
                if n == 0 {
                    break;
                }
                if chunk.len() >= CHUNK {
                    while queued() > HIGH {
                        crate::runtime::sleep::sleep(std::time::Duration::from_millis(1)).await;
                    }
                    if !send(std::mem::take(&mut chunk)) {
                        return Err(gone());
                    }
                }
            }
        }
        file::write_footer(&mut chunk, crc, checksum);
        if send(chunk) {
            Ok(())
        } else {
            Err(gone())
        }
    }
    .await;
    remove_parts(files.iter());
    out
}
