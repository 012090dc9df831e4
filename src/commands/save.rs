//! RDB snapshots: SAVE, BGSAVE, LASTSAVE, `save` points, SHUTDOWN and SIGTERM, the
//! file at start-up. The file is one stream in Redis's format (`shards::rdb::file`)
//! whatever the number of shards.
//!
//! A snapshot holds every shard at once (a hold, as a cross-shard transaction takes)
//! only while each starts its snapshot, so the file is the keyspace at one instant;
//! then every shard walks its keys between commands, and a command about to change an
//! entry not walked yet saves it first (`shards::snapshot`). The file is written by a
//! thread of its own, off the shards. SAVE answers after the file is on disk; BGSAVE
//! answers at once. Neither stops the shards.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use shards::rdb::file::{self, Loaded};
use shards::{CmdError, Reply, SlotMap};

use crate::base::config::Config;
use crate::base::log;
use crate::commands::snapshot::{finish_snapshot, start_snapshot, write_file};
use crate::coord::atomic::isolated;
use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Work};

/// What INFO persistence and LASTSAVE report, for the whole process.
#[derive(Debug)]
struct SaveState {
    /// Set at start-up, then at every successful save.
    last_save_unix: u64,
    last_ok: bool,
    /// A BGSAVE SCHEDULE waiting for the one in progress.
    scheduled: bool,
    saves: u64,
    last_bgsave_secs: i64,
    /// When the snapshot in progress started; None when none runs.
    current_started: Option<Instant>,
    /// The sum of the shards' change counters when the last snapshot was taken.
    dirty_at_save: u64,
    loaded_keys: u64,
    loaded_expired: u64,
    /// When the AOF rewrite in progress started (it takes the one snapshot too).
    aof_rewrite: Option<Instant>,
}

static STATE: Mutex<SaveState> = Mutex::new(SaveState {
    last_save_unix: 0,
    last_ok: true,
    scheduled: false,
    saves: 0,
    last_bgsave_secs: -1,
    current_started: None,
    dirty_at_save: 0,
    loaded_keys: 0,
    loaded_expired: 0,
    aof_rewrite: None,
});

/// Set by SIGTERM / SIGINT; the persistence loop shuts down when it sees it.
static SHUTDOWN_ASKED: AtomicBool = AtomicBool::new(false);

fn state() -> std::sync::MutexGuard<'static, SaveState> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where the file lives: `dir` / `dbfilename`.
fn file_path(shard: &Shard) -> std::path::PathBuf {
    let s = shard.settings.borrow();
    std::path::Path::new(&s.dir).join(&s.dbfilename)
}

/// Takes a snapshot and writes it; records the outcome. The caller claimed the slot
/// (`begin`).
/// As in Redis, a failed background save sets `rdb_last_bgsave_status:err` (and, with
/// save points, refuses writes: MISCONF); a failed foreground one only answers an
/// error; any success clears both.
async fn save_now(shard: &Rc<Shard>, background: bool) -> Result<(), String> {
    let dirties = start_snapshot(shard).await;
    save_started(shard, dirties, background).await
}

/// `save_now` once the snapshot has started.
async fn save_started(
    shard: &Rc<Shard>,
    dirties: Vec<u64>,
    background: bool,
) -> Result<(), String> {
    let started = Instant::now();
    let path = file_path(shard);
    let dir = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let checksum = shard.settings.borrow().rdbchecksum;
    let (res, dirty) = match finish_snapshot(shard, &dir, dirties, false).await {
        Ok((pieces, dirty)) => (write_file(path.clone(), pieces, checksum).await, dirty),
        Err(e) => (Err(e), 0),
    };
    let mut st = state();
    st.current_started = None;
    st.last_bgsave_secs = started.elapsed().as_secs() as i64;
    if res.is_ok() || background {
        crate::runtime::misconf::record_save(res.is_ok());
    }
    match res {
        Ok(()) => {
            st.last_ok = true;
            st.saves += 1;
            st.last_save_unix = shards::clock::system_ms() / 1000;
            st.dirty_at_save = dirty;
            log::notice("DB saved on disk");
            Ok(())
        }
        Err(e) => {
            if background {
                st.last_ok = false;
            }
            let msg = format!(
                "Failed opening the temp RDB file or writing {}: {e}",
                path.display()
            );
            log::warning(&msg);
            Err(msg)
        }
    }
}

/// Claims the snapshot slot; false when one is already running (an RDB save or an
/// AOF rewrite: the keyspace has one snapshot at a time).
fn begin() -> bool {
    let mut st = state();
    if st.current_started.is_some() || st.aof_rewrite.is_some() {
        return false;
    }
    st.current_started = Some(Instant::now());
    true
}

/// A snapshot for a replica's full sync, as the pieces of an RDB payload (see
/// `snapshot::stream_payload`) with whether it carries a checksum, and what `at_cut`
/// returned at its instant (the stream offset). It takes the snapshot slot as a BGSAVE
/// does (INFO shows it in progress), waiting for a save or rewrite that runs to end
/// first; the slot is free again once the pieces are ready.
pub async fn snapshot_for_replica<R>(
    shard: &Rc<Shard>,
    at_cut: impl FnOnce() -> R,
) -> std::io::Result<(Vec<crate::commands::snapshot::Piece>, bool, R)> {
    while !begin() {
        crate::runtime::sleep::sleep(std::time::Duration::from_millis(50)).await;
    }
    // On a replica, between two batches of its primary's stream.
    let gate = crate::runtime::upstream::stream_gate().await;
    let (dirties, cut) = crate::commands::snapshot::start_snapshot_and(shard, at_cut).await;
    drop(gate);
    let dir = file_path(shard)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let checksum = shard.settings.borrow().rdbchecksum;
    let out = finish_snapshot(shard, &dir, dirties, false).await;
    state().current_started = None;
    out.map(|(pieces, _)| (pieces, checksum, cut))
}

/// Claims the snapshot slot for an AOF rewrite; false when a save or a rewrite runs.
pub fn claim_for_rewrite() -> bool {
    let mut st = state();
    if st.current_started.is_some() || st.aof_rewrite.is_some() {
        return false;
    }
    st.aof_rewrite = Some(Instant::now());
    true
}

/// Frees the slot after a rewrite; how long it took.
pub fn rewrite_ended() -> std::time::Duration {
    state()
        .aof_rewrite
        .take()
        .map_or(std::time::Duration::ZERO, |t| t.elapsed())
}

/// When the rewrite in progress started.
pub fn rewrite_started() -> Option<Instant> {
    state().aof_rewrite
}

/// Whether an RDB save runs.
pub fn rdb_saving() -> bool {
    state().current_started.is_some()
}

pub async fn save(shard: &Rc<Shard>) -> Result<Reply, CmdError> {
    if !begin() {
        return Err(CmdError::other("ERR Background save already in progress"));
    }
    save_now(shard, false)
        .await
        .map(|_| Reply::Ok)
        .map_err(|_| CmdError::other("ERR"))
}

pub async fn bgsave(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let schedule = match args.get(1) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"schedule") && args.len() == 2 => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if !begin() {
        if schedule {
            state().scheduled = true;
            return Ok(Reply::status("Background saving scheduled"));
        }
        if rewrite_started().is_some() {
            return Err(CmdError::other(
                "ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
            ));
        }
        return Err(CmdError::other("ERR Background save already in progress"));
    }
    // The snapshot's instant comes before the reply, as a fork would.
    let dirties = start_snapshot(shard).await;
    let sh = shard.clone();
    crate::runtime::exec::spawn(async move {
        let _ = save_started(&sh, dirties, true).await;
    });
    Ok(Reply::status("Background saving started"))
}

pub fn lastsave() -> Reply {
    Reply::Int(state().last_save_unix as i64)
}

/// DEBUG RELOAD: save, empty every database, load the file again (all shards held for
/// the flush and the load, so no client sees a half-loaded keyspace).
pub async fn debug_reload(shard: &Rc<Shard>) -> Result<Reply, CmdError> {
    if !begin() {
        return Err(CmdError::other("ERR Background save already in progress"));
    }
    save_now(shard, false)
        .await
        .map_err(|_| CmdError::other("ERR Error trying to save the DB"))?;
    let path = file_path(shard);
    let bytes = std::fs::read(&path)
        .map_err(|_| CmdError::other("ERR Error trying to load the RDB dump"))?;
    replace_with_file(shard, &bytes, shards::clock::system_ms(), true)
        .await
        .map_err(|_| CmdError::other("ERR Error trying to load the RDB dump"))?;
    Ok(Reply::Ok)
}

/// Puts the keys of an RDB file on their shards, every shard held meanwhile (after
/// emptying every database when `empty_first`). Keys whose TTL passed before `now`
/// are skipped.
pub async fn replace_with_file(
    shard: &Rc<Shard>,
    bytes: &[u8],
    now: u64,
    empty_first: bool,
) -> Result<(), String> {
    let config = shard.ks.borrow().config.clone();
    let dbs = shard.ks.borrow().db_count();
    let read = by_shard(bytes, &config, &shard.slots, shard.nshards, dbs, now).map_err(|e| e.0)?;
    let per = read.keys;
    let all: Vec<usize> = (0..shard.nshards).collect();
    isolated(shard, all.clone(), |txn| async move {
        for (s, keys) in all.into_iter().zip(per) {
            let job = Box::new(move |sh: &Rc<Shard>| {
                let mut ks = sh.ks.borrow_mut();
                if empty_first {
                    for db in 0..ks.db_count() {
                        drop(ks.flush_db(db));
                    }
                }
                insert_loaded(&mut ks, keys);
                Box::new(()) as Answer
            });
            shard.call(s, Work::Keyed(Some(txn), job)).await;
        }
    })
    .await;
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT].
pub async fn shutdown(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (mut nosave, mut save, mut force, mut abort) = (false, false, false, false);
    for a in &args[1..] {
        match a.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" => {}
            b"force" => force = true,
            b"abort" => abort = true,
            _ => return Err(CmdError::Syntax),
        }
    }
    if (nosave && save) || (abort && (nosave || save || force || args.len() > 2)) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::other("ERR No shutdown in progress."));
    }
    if !nosave {
        // A busy script holds its shard: no snapshot can be taken (as redis-server).
        if let Some(Reply::Error(busy)) = crate::commands::script::busy_error(shard) {
            return Err(busy);
        }
    }
    if finish(shard, save, nosave).await.is_err() && !force {
        return Err(CmdError::other(
            "ERR Errors trying to SHUTDOWN. Check logs.",
        ));
    }
    std::process::exit(0);
}

/// Saves as SHUTDOWN would (when asked, or when save points are set and not NOSAVE).
async fn finish(shard: &Rc<Shard>, save: bool, nosave: bool) -> Result<(), String> {
    log::notice("User requested shutdown...");
    crate::commands::aof::sync_before_exit();
    let points = !save_points(&shard.settings.borrow().save).is_empty();
    if nosave || !(save || points) {
        return Ok(());
    }
    log::notice("Saving the final RDB snapshot before exiting.");
    // A background save in progress finishes first: two walks of one keyspace at
    // once would each take the other's entries.
    while !begin() {
        crate::runtime::sleep::sleep(std::time::Duration::from_millis(10)).await;
    }
    save_now(shard, false).await
}

/// The sum of every shard's change counter.
async fn total_dirty(shard: &Rc<Shard>) -> u64 {
    shard
        .run_everywhere(|| |sh: &Rc<Shard>| sh.stats.borrow().dirty)
        .await
        .iter()
        .sum()
}

/// `save` points: (seconds, changes) pairs; empty when saving is off.
pub fn save_points(spec: &str) -> Vec<(u64, u64)> {
    let nums: Vec<u64> = spec
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    nums.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

/// On SIGTERM and SIGINT: ask for a shutdown (the persistence loop carries it out).
pub fn install_signal_handlers() {
    extern "C" fn on_signal(_: libc::c_int) {
        SHUTDOWN_ASKED.store(true, Ordering::SeqCst);
    }
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
}

/// Runs on shard 0: carries out SIGTERM / SIGINT, starts a BGSAVE when a save point
/// is reached, and one that BGSAVE SCHEDULE asked for.
pub async fn persistence_loop(shard: Rc<Shard>) {
    let mut last_check = Instant::now();
    loop {
        crate::runtime::sleep::sleep(std::time::Duration::from_millis(100)).await;
        if SHUTDOWN_ASKED.load(Ordering::SeqCst) {
            log::notice("Received SIGTERM scheduling shutdown...");
            if finish(&shard, false, false).await.is_err() {
                log::warning("Error trying to save the DB, can't exit.");
                SHUTDOWN_ASKED.store(false, Ordering::SeqCst);
                continue;
            }
            log::notice("Redis is now ready to exit, bye bye...");
            std::process::exit(0);
        }
        if last_check.elapsed().as_secs() < 1 {
            continue;
        }
        last_check = Instant::now();
        crate::commands::aof::tick(&shard).await;
        let points = save_points(&shard.settings.borrow().save);
        let (busy, scheduled) = {
            let st = state();
            (st.current_started.is_some(), st.scheduled)
        };
        let due = if busy {
            false
        } else if scheduled {
            true
        } else if points.is_empty() {
            false
        } else {
            let dirty = total_dirty(&shard).await;
            let st = state();
            let changes = dirty.saturating_sub(st.dirty_at_save);
            let since = (shards::clock::system_ms() / 1000).saturating_sub(st.last_save_unix);
            points
                .iter()
                .any(|&(secs, n)| changes >= n.max(1) && since >= secs)
        };
        if due && begin() {
            state().scheduled = false;
            log::notice("Background saving started");
            let _ = save_now(&shard, true).await;
        }
    }
}

/// What start-up read from the RDB file: every shard's keys, and the function
/// libraries' code (every shard loads them all).
pub struct AtStart {
    pub keys: Vec<Vec<Loaded>>,
    pub functions: Vec<Vec<u8>>,
}

/// Reads `dir`/`dbfilename` if it exists, before the shards start: every key goes to
/// the list of the shard that owns its slot (each shard inserts its own, in parallel).
/// A file that cannot be read is fatal, as in Redis.
/// With the append-only file on, `path` is its base file (None: none to load).
pub fn load_at_start(
    config: &Config,
    slots: &SlotMap,
    shards: usize,
    path: Option<std::path::PathBuf>,
) -> Result<AtStart, String> {
    state().last_save_unix = shards::clock::system_ms() / 1000;
    let empty = || AtStart {
        keys: (0..shards).map(|_| Vec::new()).collect(),
        functions: Vec::new(),
    };
    let Some(path) = path else {
        return Ok(empty());
    };
    // An AOF base keeps keys whose TTL passed: the log after it may still change them
    // (they expire once the log is replayed).
    let now = if config.appendonly == "yes" {
        0
    } else {
        shards::clock::system_ms()
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(empty()),
        Err(e) => return Err(format!("corecache: cannot read {}: {e}", path.display())),
    };
    let started = Instant::now();
    let engine = shards::config::EngineConfig::default();
    let read = by_shard(&bytes, &engine, slots, shards, config.databases, now).map_err(|e| {
        format!(
            "corecache: short read or bad data loading {}: {} (refusing to start, as Redis does)",
            path.display(),
            e.0
        )
    })?;
    let (info, skipped) = (read.info, read.skipped);
    {
        let mut st = state();
        st.loaded_keys = info.keys - skipped;
        st.loaded_expired = info.expired;
    }
    log::notice(&format!(
        "DB loaded from disk: {:.3} seconds ({} keys, {} expired keys skipped{})",
        started.elapsed().as_secs_f64(),
        info.keys - skipped,
        info.expired,
        if skipped > 0 {
            format!(", {skipped} keys of databases beyond --databases skipped")
        } else {
            String::new()
        }
    ));
    Ok(AtStart {
        keys: read.keys,
        functions: info.functions,
    })
}

/// A file's keys grouped by the shard that owns their slot.
struct ByShard {
    keys: Vec<Vec<Loaded>>,
    info: file::FileInfo,
    /// Keys of databases beyond `dbs` (not loaded).
    skipped: u64,
}

fn by_shard(
    bytes: &[u8],
    config: &shards::config::EngineConfig,
    slots: &SlotMap,
    shards: usize,
    dbs: usize,
    now: u64,
) -> shards::rdb::Decoded<ByShard> {
    let mut keys: Vec<Vec<Loaded>> = (0..shards).map(|_| Vec::new()).collect();
    let mut skipped = 0;
    let info = file::read_file(bytes, config, now, |l| {
        if l.db >= dbs {
            skipped += 1;
            return;
        }
        keys[slots.owner_of_key(&l.key)].push(l);
    })?;
    Ok(ByShard {
        keys,
        info,
        skipped,
    })
}

/// Inserts a shard's loaded keys into its keyspace (on the shard's own thread).
pub fn insert_loaded(ks: &mut shards::Keyspace, loaded: Vec<Loaded>) {
    let lfu = ks.config.maxmemory_policy.is_lfu();
    for l in loaded {
        let mut entry = l.entry;
        if let (true, Some(f)) = (lfu, l.freq) {
            entry.access = shards::evict::access::lfu_word(f, ks.now());
        }
        ks.put_entry(l.db, &l.key, entry);
    }
}

/// The INFO persistence section, from the shards' change counters' sum.
pub fn info_section(dirty_sum: u64) -> String {
    // Before the lock: the AOF's fields read the rewrite's start from it.
    let aof = crate::commands::aof::info_fields();
    let st = state();
    let current = st
        .current_started
        .map_or(-1, |t| t.elapsed().as_secs() as i64);
    format!(
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n\
         current_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\n\
         current_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n\
         rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\n\
         rdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\n\
         rdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\n\
         rdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\n\
         rdb_last_load_keys_loaded:{}\r\n{}",
        dirty_sum.saturating_sub(st.dirty_at_save),
        u8::from(st.current_started.is_some()),
        st.last_save_unix,
        if st.last_ok { "ok" } else { "err" },
        st.last_bgsave_secs,
        current,
        st.saves,
        st.loaded_expired,
        st.loaded_keys,
        aof,
    )
}
