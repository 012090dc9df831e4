//! The append-only file as Redis 7 keeps it: a directory (`appenddirname`) with a base
//! file (an RDB snapshot), incremental files of commands, and a manifest listing them
//! (`shards::aof`). Writing is the runtime's (`runtime/aof.rs`); this room has the
//! files: what start-up reads and opens, BGREWRITEAOF, turning the log on and off,
//! automatic rewrites, INFO's fields.
//!
//! A rewrite takes no fork: all shards are held for an instant (as a snapshot starts),
//! each appends what it logged, a new incremental file takes over and the manifest
//! lists it after the old ones; then the snapshot of that instant is written as the new
//! base, and a second manifest keeps only the new base and the new incremental file.
//! A crash in between loads the old base and both incremental files.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use shards::aof::{self as format, FileKind, Manifest, ManifestFile};
use shards::{CmdError, Reply};

use crate::base::config::Config;
use crate::base::log;
use crate::commands::save;
use crate::commands::snapshot::{finish_snapshot, start_snapshot_and, write_file};
use crate::coord::atomic::isolated;
use crate::runtime::aof::{self, Fsync, IncrFile};
use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Work};

/// Where the files are and what the manifest lists.
struct Files {
    dir: PathBuf,
    manifest: Manifest,
}

#[derive(Default)]
struct RewriteStats {
    scheduled: bool,
    last_secs: i64,
    last_ok: bool,
    rewrites: u64,
    failures_in_row: u64,
    /// Size of base plus incremental files after the last rewrite (or at start).
    base_size: u64,
}

static FILES: Mutex<Option<Files>> = Mutex::new(None);
static STATS: Mutex<RewriteStats> = Mutex::new(RewriteStats {
    scheduled: false,
    last_secs: -1,
    last_ok: true,
    rewrites: 0,
    failures_in_row: 0,
    base_size: 0,
});
/// Set while start-up replays the files: listeners wait for it to clear.
static LOADING: AtomicBool = AtomicBool::new(false);
/// Set while DEBUG LOADAOF has the log off to load the files again: nothing may start
/// a rewrite meanwhile (it would take the log over from a half-loaded keyspace).
static RELOADING: AtomicBool = AtomicBool::new(false);

fn files() -> std::sync::MutexGuard<'static, Option<Files>> {
    FILES.lock().unwrap_or_else(|e| e.into_inner())
}

fn stats() -> std::sync::MutexGuard<'static, RewriteStats> {
    STATS.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn loading() -> bool {
    LOADING.load(Ordering::SeqCst)
}

/// What start-up found: the directory and manifest (None: no files yet).
pub struct Plan {
    pub dir: PathBuf,
    pub prefix: String,
    pub manifest: Option<Manifest>,
    pub load_truncated: bool,
    /// A base made at start is an RDB file (else an empty command file).
    pub preamble: bool,
}

impl Plan {
    /// The base file when it is an RDB file (start-up loads it as it loads dump.rdb).
    pub fn rdb_base(&self) -> Option<PathBuf> {
        let base = self.manifest.as_ref()?.base.as_ref()?;
        base.name
            .ends_with(".rdb")
            .then(|| self.dir.join(&base.name))
    }

    /// The files to replay as commands, in order.
    pub fn command_files(&self) -> Vec<PathBuf> {
        let Some(m) = &self.manifest else {
            return Vec::new();
        };
        let base = m.base.iter().filter(|b| !b.name.ends_with(".rdb"));
        base.chain(&m.incrs)
            .map(|f| self.dir.join(&f.name))
            .collect()
    }
}

/// With `appendonly yes`, reads the manifest (before the shards start). A manifest
/// that cannot be read is fatal, as in Redis.
pub fn plan_at_start(config: &Config) -> Result<Option<Plan>, String> {
    aof::set_fsync(Fsync::parse(&config.appendfsync).unwrap_or(Fsync::EverySec));
    if config.appendonly != "yes" {
        return Ok(None);
    }
    LOADING.store(true, Ordering::SeqCst);
    let dir = Path::new(&config.dir).join(&config.appenddirname);
    let path = dir.join(format::manifest_name(&config.appendfilename));
    let manifest = match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            Manifest::parse(&text).map_err(|e| format!("corecache: {e} in {}", path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("corecache: cannot read {}: {e}", path.display())),
    };
    if let Some(m) = &manifest {
        for f in m.base.iter().chain(&m.incrs) {
            let p = dir.join(&f.name);
            if !p.exists() {
                return Err(format!(
                    "corecache: the AOF file {} listed in the manifest doesn't exist",
                    p.display()
                ));
            }
        }
    }
    Ok(Some(Plan {
        dir,
        prefix: config.appendfilename.clone(),
        manifest,
        load_truncated: config.aof_load_truncated == "yes",
        preamble: config.aof_use_rdb_preamble == "yes",
    }))
}

/// Reads one command file: its commands, and (for the last file, with
/// `aof-load-truncated`) a torn tail cut off the file. Anything else wrong is fatal.
pub fn read_commands(
    path: &Path,
    last: bool,
    truncated_ok: bool,
) -> Result<Vec<Vec<Bytes>>, String> {
    let data = Bytes::from(
        std::fs::read(path)
            .map_err(|e| format!("corecache: cannot read {}: {e}", path.display()))?,
    );
    let read =
        format::read_commands(&data).map_err(|e| format!("corecache: {e}: {}", path.display()))?;
    if read.truncated {
        if !(last && truncated_ok) {
            return Err(format!(
                "corecache: unexpected end of file reading the append only file {}. \
                 You can: 1) Make a backup of your AOF file, then use ./redis-check-aof \
                 --fix <filename.manifest>. 2) Alternatively you can set the \
                 'aof-load-truncated' configuration option to yes and restart the server.",
                path.display()
            ));
        }
        log::warning(&format!(
            "!!! Warning: short read while loading the AOF file {}!!!",
            path.display()
        ));
        log::warning(&format!(
            "AOF {} loaded anyway because aof-load-truncated is enabled (the last {} bytes cut)",
            path.display(),
            data.len() - read.valid_len
        ));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(read.valid_len as u64).and_then(|_| f.sync_all()));
        if let Err(e) = f {
            return Err(format!(
                "corecache: cannot cut the torn tail of {}: {e}",
                path.display()
            ));
        }
    }
    Ok(read.commands)
}

/// After the replay: opens the last incremental file for appending (creating the
/// directory, an empty base and the first incremental file when there were none) and
/// lets clients in.
pub fn open_after_load(plan: Plan) -> Result<(), String> {
    let Plan {
        dir,
        prefix,
        manifest,
        preamble,
        ..
    } = plan;
    let manifest = match manifest {
        Some(m) if !m.incrs.is_empty() => m,
        m => {
            // First start with the log on: an empty base (this process has no data yet,
            // or only what the base held) and a first incremental file.
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("corecache: cannot create {}: {e}", dir.display()))?;
            let mut m = m.unwrap_or_default();
            if m.base.is_none() {
                let name = format::base_name(&prefix, 1, preamble);
                let made = if preamble {
                    write_empty_rdb(&dir.join(&name))
                } else {
                    write_synced(&dir.join(&name), b"")
                };
                made.map_err(|e| format!("corecache: cannot create the AOF base file: {e}"))?;
                log::notice(&format!("Creating AOF base file {name} on server start"));
                m.base = Some(ManifestFile {
                    name,
                    seq: 1,
                    kind: FileKind::Base,
                });
            }
            let seq = m.last_incr_seq() + 1;
            let name = format::incr_name(&prefix, seq);
            log::notice(&format!("Creating AOF incr file {name} on server start"));
            m.incrs.push(ManifestFile {
                name,
                seq,
                kind: FileKind::Incr,
            });
            write_manifest(&dir, &prefix, &m)
                .map_err(|e| format!("corecache: cannot write the AOF manifest: {e}"))?;
            m
        }
    };
    let last = dir.join(&manifest.incrs.last().expect("an incr file").name);
    let file = IncrFile::open(last.clone())
        .map_err(|e| format!("corecache: cannot open {}: {e}", last.display()))?;
    aof::switch_to(Some(file)).map_err(|e| format!("corecache: {e}"))?;
    aof::start_everysec_thread();
    stats().base_size = total_size(&dir, &manifest);
    *files() = Some(Files { dir, manifest });
    LOADING.store(false, Ordering::SeqCst);
    Ok(())
}

/// Lets clients in when the log is off or loading failed over to an error exit.
pub fn done_loading() {
    LOADING.store(false, Ordering::SeqCst);
}

/// An RDB file with no keys (a fresh base).
fn write_empty_rdb(path: &Path) -> std::io::Result<()> {
    let mut out = Vec::new();
    shards::rdb::file::write_header(
        &mut out,
        &[
            ("redis-ver", "7.0.0".to_string()),
            ("redis-bits", "64".to_string()),
            ("ctime", (shards::clock::system_ms() / 1000).to_string()),
            ("used-mem", "0".to_string()),
            ("aof-base", "1".to_string()),
        ],
    );
    let crc = shards::rdb::crc64::crc64(0, &out);
    shards::rdb::file::write_footer(&mut out, crc, true);
    write_synced(path, &out)
}

/// Writes `bytes` through a temporary file, synced and renamed over `path`, and syncs
/// the directory.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        "temp-{}-{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

fn write_manifest(dir: &Path, prefix: &str, m: &Manifest) -> std::io::Result<()> {
    write_synced(
        &dir.join(format::manifest_name(prefix)),
        m.render().as_bytes(),
    )
}

/// An RDB file as commands (`aof-use-rdb-preamble no`): the function libraries, then
/// per database a SELECT and a `RESTORE .. ABSTTL` of every key.
fn rdb_to_commands(rdb: &[u8], config: &shards::config::EngineConfig) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let mut db = None;
    let info = shards::rdb::file::read_file(rdb, config, 0, |l| {
        if db != Some(l.db) {
            crate::base::resp::encode_command(
                &mut body,
                &[b"SELECT".as_slice(), l.db.to_string().as_bytes()],
            );
            db = Some(l.db);
        }
        crate::base::resp::encode_command(
            &mut body,
            &shards::propagate::restore_entry(&l.key, &l.entry),
        );
    })
    .map_err(|e| e.0.to_string())?;
    let mut out = Vec::new();
    for code in &info.functions {
        crate::base::resp::encode_command(&mut out, &[&b"FUNCTION"[..], b"LOAD", b"REPLACE", code]);
    }
    out.extend_from_slice(&body);
    Ok(out)
}

/// Bytes of the base and incremental files.
fn total_size(dir: &Path, m: &Manifest) -> u64 {
    m.base
        .iter()
        .chain(&m.incrs)
        .filter_map(|f| std::fs::metadata(dir.join(&f.name)).ok())
        .map(|md| md.len())
        .sum()
}

/// Runs commands as a client would: the router's replay, which the net layer above
/// registers at start-up (`net::replay`), for DEBUG LOADAOF.
pub type Replay = fn(Rc<Shard>, Vec<Vec<Bytes>>) -> Pin<Box<dyn Future<Output = ()>>>;

static REPLAY: OnceLock<Replay> = OnceLock::new();

pub fn set_replay(replay: Replay) {
    let _ = REPLAY.set(replay);
}

/// DEBUG LOADAOF: what is logged reaches the file, every database is emptied, and the
/// files the manifest lists are loaded again (no key expires meanwhile), as Redis does.
/// Writes of other clients while it runs are not logged.
pub async fn debug_loadaof(shard: &Rc<Shard>) -> Result<Reply, CmdError> {
    if RELOADING.swap(true, Ordering::SeqCst) {
        return Err(CmdError::other("ERR DEBUG LOADAOF already in progress"));
    }
    if rewriting() {
        RELOADING.store(false, Ordering::SeqCst);
        return Err(CmdError::other(
            "ERR Background append only file rewriting in progress",
        ));
    }
    let out = debug_loadaof_now(shard).await;
    RELOADING.store(false, Ordering::SeqCst);
    out
}

async fn debug_loadaof_now(shard: &Rc<Shard>) -> Result<Reply, CmdError> {
    let (dir, prefix, truncated_ok) = {
        let s = shard.settings.borrow();
        (
            Path::new(&s.dir).join(&s.appenddirname),
            s.appendfilename.clone(),
            s.aof_load_truncated,
        )
    };
    let manifest = match std::fs::read_to_string(dir.join(format::manifest_name(&prefix))) {
        Ok(text) => Some(Manifest::parse(&text).map_err(|e| CmdError::other(format!("ERR {e}")))?),
        Err(_) => None,
    };
    let plan = Plan {
        dir,
        prefix,
        manifest,
        load_truncated: truncated_ok,
        preamble: true,
    };
    let was_on = aof::file_on();
    let all: Vec<usize> = (0..shard.nshards).collect();
    let stopped = isolated(shard, all.clone(), |txn| async move {
        let stopped = aof::switch_to(None);
        for s in all {
            let job = Box::new(|sh: &Rc<Shard>| {
                let mut ks = sh.ks.borrow_mut();
                for db in 0..ks.db_count() {
                    drop(ks.flush_db(db));
                }
                ks.loading = true;
                Box::new(()) as Answer
            });
            shard.call(s, Work::Keyed(Some(txn), job)).await;
        }
        stopped
    })
    .await;
    let loaded = match stopped {
        Ok(()) => load_plan(shard, &plan).await,
        Err(e) => Err(e.to_string()),
    };
    shard
        .run_everywhere(|| |sh: &Rc<Shard>| sh.ks.borrow_mut().loading = false)
        .await;
    if let Err(e) = loaded {
        // Redis exits when the files cannot be loaded.
        log::warning(&format!("DEBUG LOADAOF: {e}"));
        std::process::exit(1);
    }
    if was_on {
        let last = plan
            .manifest
            .as_ref()
            .and_then(|m| m.incrs.last())
            .map(|f| plan.dir.join(&f.name));
        if let Some(last) = last {
            let all: Vec<usize> = (0..shard.nshards).collect();
            isolated(shard, all, |_| async {
                IncrFile::open(last).and_then(|f| aof::switch_to(Some(f)))
            })
            .await
            .map_err(|e| CmdError::other(format!("ERR {e}")))?;
        }
    }
    log::notice("Append Only File loaded by DEBUG LOADAOF");
    Ok(Reply::Ok)
}

/// Loads the base (an RDB file) and replays the command files of `plan`.
async fn load_plan(shard: &Rc<Shard>, plan: &Plan) -> Result<(), String> {
    if let Some(base) = plan.rdb_base() {
        let bytes =
            std::fs::read(&base).map_err(|e| format!("cannot read {}: {e}", base.display()))?;
        save::replace_with_file(shard, &bytes, 0, false).await?;
    }
    let replay = REPLAY.get().ok_or("no replay registered")?;
    let files = plan.command_files();
    for (i, path) in files.iter().enumerate() {
        let cmds = read_commands(path, i + 1 == files.len(), plan.load_truncated)?;
        replay(shard.clone(), cmds).await;
    }
    Ok(())
}

/// Whether a rewrite runs.
pub fn rewriting() -> bool {
    save::rewrite_started().is_some()
}

/// BGREWRITEAOF.
pub async fn bgrewriteaof(shard: &Rc<Shard>) -> Result<Reply, CmdError> {
    if RELOADING.load(Ordering::SeqCst) {
        return Err(CmdError::other(
            "ERR The append only file is being loaded (DEBUG LOADAOF)",
        ));
    }
    if rewriting() {
        return Err(CmdError::other(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if save::rdb_saving() {
        stats().scheduled = true;
        return Ok(Reply::status(
            "Background append only file rewriting scheduled",
        ));
    }
    if !save::claim_for_rewrite() {
        return Err(CmdError::other(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    let sh = shard.clone();
    crate::runtime::exec::spawn(async move {
        let _ = rewrite_claimed(&sh).await;
    });
    Ok(Reply::status(
        "Background append only file rewriting started",
    ))
}

/// Runs a rewrite (the slot claimed): a new incremental file from the snapshot's
/// instant on, the snapshot as the new base, the old files gone. When the log was
/// off, it starts here (CONFIG SET appendonly yes).
async fn rewrite_claimed(shard: &Rc<Shard>) -> Result<(), String> {
    log::notice("Background append only file rewriting started");
    let out = rewrite_steps(shard).await;
    let took = save::rewrite_ended();
    let mut st = stats();
    st.last_secs = took.as_secs() as i64;
    match &out {
        Ok(size) => {
            st.last_ok = true;
            st.rewrites += 1;
            st.failures_in_row = 0;
            st.base_size = *size;
            log::notice("Background AOF rewrite finished successfully");
        }
        Err(e) => {
            st.last_ok = false;
            st.failures_in_row += 1;
            log::warning(&format!("Background AOF rewrite failed: {e}"));
        }
    }
    out.map(|_| ())
}

/// The rewrite's steps; the size of the new files.
async fn rewrite_steps(shard: &Rc<Shard>) -> Result<u64, String> {
    let (dir, prefix) = {
        let s = shard.settings.borrow();
        (
            Path::new(&s.dir).join(&s.appenddirname),
            s.appendfilename.clone(),
        )
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // The manifest as it is (None when the log is off); with the log off, files an
    // earlier run left are numbered past and removed at the end.
    let known = files().as_ref().map(|f| f.manifest.clone());
    let on_disk = known.clone().or_else(|| {
        let text = std::fs::read_to_string(dir.join(format::manifest_name(&prefix))).ok()?;
        Manifest::parse(&text).ok()
    });
    let mut manifest = on_disk.clone().unwrap_or_default();
    let seq = manifest
        .last_incr_seq()
        .max(manifest.base.as_ref().map_or(0, |b| b.seq))
        + 1;
    let incr = ManifestFile {
        name: format::incr_name(&prefix, seq),
        seq,
        kind: FileKind::Incr,
    };
    let incr_path = dir.join(&incr.name);
    // At the snapshot's instant: the new incremental file takes over; the manifest
    // lists it after the old ones (so a crash before the end loads them all).
    let (dirties, switched) = start_snapshot_and(shard, || -> Result<(), String> {
        let file = IncrFile::open(incr_path.clone())
            .map_err(|e| format!("cannot open {}: {e}", incr_path.display()))?;
        if known.is_some() {
            manifest.incrs.push(incr.clone());
            write_manifest(&dir, &prefix, &manifest)
                .map_err(|e| format!("cannot write the manifest: {e}"))?;
        }
        aof::switch_to(Some(file)).map_err(|e| format!("cannot sync the AOF file: {e}"))
    })
    .await;
    if let Err(e) = switched {
        // The snapshot started anyway: let it finish into nothing.
        let _ = finish_snapshot(shard, &dir, dirties, true).await;
        let _ = std::fs::remove_file(&incr_path);
        return Err(e);
    }
    let (checksum, preamble) = {
        let s = shard.settings.borrow();
        (s.rdbchecksum, s.aof_use_rdb_preamble)
    };
    let base = ManifestFile {
        name: format::base_name(&prefix, seq, preamble),
        seq,
        kind: FileKind::Base,
    };
    // Without the RDB preamble the snapshot is written as RDB first, then turned into
    // commands.
    let rdb_path = if preamble {
        dir.join(&base.name)
    } else {
        dir.join(format!("temp-rewrite-{}.rdb", std::process::id()))
    };
    let written = match finish_snapshot(shard, &dir, dirties, true).await {
        Ok((pieces, _)) => write_file(rdb_path.clone(), pieces, checksum).await,
        Err(e) => Err(e),
    };
    written.map_err(|e| format!("cannot write the AOF base file: {e}"))?;
    if !preamble {
        let config = shard.ks.borrow().config.clone();
        let out = dir.join(&base.name);
        let converted = std::fs::read(&rdb_path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| rdb_to_commands(&bytes, &config))
            .and_then(|cmds| write_synced(&out, &cmds).map_err(|e| e.to_string()));
        let _ = std::fs::remove_file(&rdb_path);
        converted.map_err(|e| format!("cannot write the AOF base file: {e}"))?;
    }
    let fresh = Manifest {
        base: Some(base),
        incrs: vec![incr],
        history: Vec::new(),
    };
    write_manifest(&dir, &prefix, &fresh).map_err(|e| format!("cannot write the manifest: {e}"))?;
    *files() = Some(Files {
        dir: dir.clone(),
        manifest: fresh.clone(),
    });
    if let Some(old) = on_disk {
        for f in old.base.iter().chain(&old.incrs).chain(&old.history) {
            if !fresh.incrs.iter().any(|n| n.name == f.name) {
                let _ = std::fs::remove_file(dir.join(&f.name));
            }
        }
    }
    Ok(total_size(&dir, &fresh))
}

/// CONFIG SET appendonly: on starts a rewrite that creates the files and starts the
/// log at its instant; off stops logging at an instant when every shard is held.
pub async fn set_appendonly(shard: &Rc<Shard>, on: bool) -> Result<(), CmdError> {
    if RELOADING.load(Ordering::SeqCst) {
        return Err(CmdError::other(
            "ERR The append only file is being loaded (DEBUG LOADAOF)",
        ));
    }
    if on == aof::file_on() {
        return Ok(());
    }
    if on {
        if !save::claim_for_rewrite() {
            stats().scheduled = true;
            return Ok(());
        }
        let sh = shard.clone();
        crate::runtime::exec::spawn(async move {
            let _ = rewrite_claimed(&sh).await;
        });
        return Ok(());
    }
    let all: Vec<usize> = (0..shard.nshards).collect();
    isolated(shard, all, |_| async { aof::switch_to(None) })
        .await
        .map_err(|e| CmdError::other(format!("ERR {e}")))?;
    *files() = None;
    Ok(())
}

/// Runs on shard 0 once a second: a scheduled rewrite, or one that
/// `auto-aof-rewrite-percentage` calls for.
pub async fn tick(shard: &Rc<Shard>) {
    // While the files are loaded the log is off on purpose: not a reason to start it.
    if rewriting() || save::rdb_saving() || loading() || RELOADING.load(Ordering::SeqCst) {
        return;
    }
    let want_on = shard.settings.borrow().appendonly == "yes";
    let scheduled = std::mem::take(&mut stats().scheduled);
    let due = scheduled || (want_on && !aof::file_on()) || (aof::file_on() && growth_due(shard));
    if due && save::claim_for_rewrite() {
        let _ = rewrite_claimed(shard).await;
    }
}

fn growth_due(shard: &Rc<Shard>) -> bool {
    let (pct, min) = {
        let s = shard.settings.borrow();
        (s.auto_aof_rewrite_percentage, s.auto_aof_rewrite_min_size)
    };
    if pct == 0 {
        return false;
    }
    let size = current_size();
    let base = stats().base_size.max(1);
    size >= min && size.saturating_sub(base) * 100 / base >= pct
}

/// Bytes of the files now: base and incremental files.
fn current_size() -> u64 {
    files()
        .as_ref()
        .map_or(0, |f| total_size(&f.dir, &f.manifest))
}

/// SHUTDOWN and SIGTERM: what is logged is on disk before the process ends.
pub fn sync_before_exit() {
    if aof::file_on() {
        aof::sync_now();
    }
}

/// The AOF lines of INFO persistence.
pub fn info_fields() -> String {
    let st = stats();
    let current = save::rewrite_started().map_or(-1, |t| t.elapsed().as_secs() as i64);
    let mut out = format!(
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\n\
         aof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\n\
         aof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\n\
         aof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\n\
         aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        u8::from(aof::file_on()),
        u8::from(current >= 0),
        u8::from(st.scheduled),
        st.last_secs,
        current,
        if st.last_ok { "ok" } else { "err" },
        st.rewrites,
        st.failures_in_row,
        if aof::last_write_ok() { "ok" } else { "err" },
    );
    if aof::file_on() {
        out.push_str(&format!(
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\n\
             aof_buffer_length:0\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            current_size(),
            st.base_size
        ));
    }
    out
}
