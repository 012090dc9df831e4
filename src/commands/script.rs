//! Running Lua scripts and functions: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL,
//! FCALL_RO, served with the `scripting` engine (SCRIPT and FUNCTION, which change
//! the scripts and libraries, are `script_admin.rs`).
//!
//! Every shard has its own engine (a Lua state on its thread), with the same scripts
//! and function libraries: SCRIPT LOAD, EVAL of a new body, FUNCTION LOAD/DELETE/FLUSH/
//! RESTORE and SCRIPT FLUSH are applied on every shard.
//!
//! Where a script runs:
//! - Its declared keys all live on one shard (or it has none): it travels there as one
//!   message and runs on that shard's engine against the live keyspace, like any other
//!   command of that shard: nothing interleaves with it, no lock is needed.
//! - Its keys span shards: the coordinator (the client's shard) locks and fetches the
//!   keys, one `Work::LockRun` per shard in ascending shard order (see `atomic`),
//!   copies their entries into a scratch keyspace, runs the script there on its own
//!   engine, and writes back what changed before releasing. Only work on those keys
//!   waits meanwhile.
//! - A script that touches a key it did not declare: if the key lives where the script
//!   runs, fine. If not, the engine stops the run (`Outcome::NeedKeys`, nothing is
//!   written) and the coordinator runs it again with that key gathered and locked too
//!   (when its shard comes after the ones locked so far; else it releases everything
//!   and starts over in order). Scripts with a shebang and without the
//!   `allow-cross-slot-keys` flag get Redis's error instead (the engine decides).
//!
//! A script past `busy-reply-threshold` makes every other client's commands answer
//! `-BUSY` (checked once per read batch); SCRIPT KILL and FUNCTION KILL from any client
//! stop it: clients of other shards as any command, clients of the script's own shard
//! from inside the script's hook (`script_busy.rs`).

use std::rc::Rc;

use bytes::Bytes;
use scripting::{Engine, Host, Outcome, RunOpts, ScriptRef};
use shards::cmd::{flags, CommandSpec, Route};
use shards::ops::{run_op, ShardOp};
use shards::{CmdError, Keyspace, Reply, ShardId};

use super::script_admin as admin;
pub use super::script_busy::{allowed_while_busy, busy_error, busy_threshold, set_busy_threshold};
use super::script_engine::with_engine;
use crate::base::ids::TxnId;
use crate::commands::table::{server_cmd, ServerCmd};
use crate::coord::atomic;
use crate::coord::cross::Copies;
use crate::runtime::blocking;
use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Work};

/// How many times a script runs again with more keys gathered before giving up (each
/// run finds at least one more key).
const MAX_RERUNS: usize = 1024;

/// What to run: an EVAL script (its body travels along, for a shard that has not seen
/// it yet) or a function.
pub enum Call {
    Eval { sha: String, body: Bytes },
    Fcall { name: Bytes },
}

/// A script run sent to the shard of its keys.
pub struct Job {
    pub call: Call,
    pub keys: Vec<Bytes>,
    pub args: Vec<Bytes>,
    pub db: usize,
    pub opts: RunOpts,
    /// The caller's CLIENT TRACKING: keys the script's read commands read are
    /// remembered for it, as Redis does.
    pub track: shards::ops::Track,
    /// The caller's ACL user, when it may not do everything: the script's commands
    /// are checked against it.
    pub acl: Option<crate::commands::acl::ScriptAcl>,
}

/// Runs a job on this shard against its live keyspace, and hands the job back.
pub fn run_here(shard: &Rc<Shard>, job: Box<Job>) -> (Outcome, Box<Job>) {
    let outcome = run_job_here(shard, &job);
    (outcome, job)
}

fn run_job_here(shard: &Rc<Shard>, job: &Job) -> Outcome {
    let mark = shard.aof.borrow().mark();
    let mut host = ShardHost {
        shard,
        acl: job.acl.as_ref(),
        track: job.track,
        db: job.db,
        nshards: shard.nshards,
        undo: Undo::default(),
    };
    shard.ks.borrow_mut().tick();
    let outcome = with_engine(shard, |e| run_engine(e, job, &mut host));
    let Outcome::NeedKeys(_) = &outcome else {
        return outcome;
    };
    // The script runs again on copies with the keys it asked for: what it wrote here
    // must not count twice. Nothing else ran on this shard meanwhile.
    let undo = host.undo;
    if undo.lost {
        return Outcome::Reply(
            CmdError::other(
                "ERR Script attempted to access a key on another shard after writing a \
                 large key on this one; declare every key the script uses in KEYS",
            )
            .into(),
        );
    }
    if !undo.before.is_empty() {
        let mut ks = shard.ks.borrow_mut();
        for (db, key, old) in undo.before.into_iter().rev() {
            ks.remove(db, &key);
            if let Some(entry) = old {
                ks.put_entry(db, &key, entry);
            }
        }
        drop(ks);
        shard.aof.borrow_mut().rollback(mark);
    }
    outcome
}

/// What a script on the live keyspace changed, to put back if it stops to ask for keys
/// of another shard. Values in compact encodings are copied before their first write;
/// a larger one is not (copying it on every run would cost what running on the shard
/// saves), and then the run cannot be undone.
#[derive(Default)]
struct Undo {
    before: Vec<(usize, Bytes, Option<shards::Entry>)>,
    seen: std::collections::HashSet<(usize, Bytes)>,
    lost: bool,
}

impl Undo {
    /// Notes the keys a write command is about to change.
    fn before_write(
        &mut self,
        shard: &Shard,
        spec: &'static CommandSpec,
        db: usize,
        args: &[Bytes],
    ) {
        for pos in spec.key_positions(args) {
            let key = args[pos].clone();
            if !self.seen.insert((db, key.clone())) {
                continue;
            }
            let mut ks = shard.ks.borrow_mut();
            let config = ks.config.clone();
            match ks.lookup(db, &key) {
                None => self.before.push((db, key, None)),
                Some(e) => {
                    let small = match e.value() {
                        shards::value::Value::Str(s) => s.len() <= 64 * 1024,
                        v => matches!(v.encoding(&config), "listpack" | "intset"),
                    };
                    if small {
                        self.before.push((db, key, Some(e.to_entry())));
                    } else {
                        self.lost = true;
                    }
                }
            }
        }
    }
}

/// Runs a job's script or function on an engine (loading an EVAL body the engine has
/// not seen yet). A panic inside costs this run an error reply, not the shard.
fn run_engine(e: &mut Engine, job: &Job, host: &mut dyn Host) -> Outcome {
    let run = std::panic::AssertUnwindSafe(|| match &job.call {
        Call::Eval { sha, body } => {
            if !e.script_exists(sha.as_bytes()) {
                if let Err(r) = e.script_load(body) {
                    return Outcome::Reply(r);
                }
            }
            let script = ScriptRef::Sha(sha.as_bytes());
            e.eval(script, &job.keys, &job.args, job.opts, host)
        }
        Call::Fcall { name } => e.fcall(name, &job.keys, &job.args, job.opts, host),
    });
    shards::ops::contained(run).unwrap_or_else(|_| {
        Outcome::Reply(CmdError::other("ERR internal error while running the script").into())
    })
}

/// Runs a command of a script: server commands a script may use are answered here,
/// everything else runs through `run` on the keyspace the script sees.
fn script_command(
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
    db: &mut usize,
    dbs: usize,
    nshards: usize,
    track: shards::ops::Track,
    run: impl FnOnce(ShardOp) -> Reply,
) -> Reply {
    if spec.keys == shards::cmd::KeyScheme::Streams
        && shards::cmd::streams::parse_read_args(&args).is_ok_and(|r| r.block_ms.is_some())
    {
        return CmdError::other(format!(
            "ERR {} command is not allowed with BLOCK option from scripts",
            String::from_utf8_lossy(&args[0])
        ))
        .into();
    }
    // CLUSTER RESET is the one CLUSTER subcommand Redis flags `noscript`.
    if server_cmd(spec) == Some(ServerCmd::Cluster)
        && args
            .get(1)
            .is_some_and(|a| a.eq_ignore_ascii_case(b"RESET"))
    {
        return CmdError::other("ERR This Redis command is not allowed from script").into();
    }
    // Only read commands' keys are remembered; a write is the caller's (NOLOOP).
    let track = shards::ops::Track {
        remember: track.remember && spec.has(flags::READONLY),
        ..track
    };
    match (spec.route, server_cmd(spec)) {
        (_, Some(ServerCmd::Ping)) => match args.len() {
            1 => Reply::Status("PONG".into()),
            _ => Reply::Bulk(args[1].to_vec()),
        },
        (_, Some(ServerCmd::Echo)) => Reply::Bulk(args[1].to_vec()),
        (_, Some(ServerCmd::Time)) => crate::commands::time(),
        (_, Some(ServerCmd::Select)) => match shards::args::parse_i64(&args[1]) {
            Ok(n) if (0..dbs as i64).contains(&n) => {
                *db = n as usize;
                Reply::Ok
            }
            Ok(_) => CmdError::DbIndexOutOfRange.into(),
            Err(e) => e.into(),
        },
        (Route::Broadcast(_), _) if nshards == 1 => run(ShardOp::Cmd {
            spec,
            db: *db,
            touch: true,
            args,
            track,
        }),
        (Route::Server | Route::Broadcast(_), _) => CmdError::other(format!(
            "ERR '{}' is not supported in scripts by this server",
            spec.name
        ))
        .into(),
        _ => {
            let reply = run(ShardOp::Cmd {
                spec,
                db: *db,
                touch: true,
                args,
                track,
            });
            // In a script blocking commands do not block (as in Redis).
            if spec.has(flags::BLOCKING) && blocking::found_nothing(&reply) {
                Reply::NilArray
            } else {
                reply
            }
        }
    }
}

/// A script running on the shard of its keys.
struct ShardHost<'a> {
    shard: &'a Rc<Shard>,
    acl: Option<&'a crate::commands::acl::ScriptAcl>,
    track: shards::ops::Track,
    db: usize,
    nshards: usize,
    undo: Undo,
}

impl Host for ShardHost<'_> {
    fn call(&mut self, spec: &'static CommandSpec, args: Vec<Bytes>) -> Reply {
        if let Some(refused) = self.acl.and_then(|a| a.refusal(spec, &args)) {
            return refused;
        }
        let dbs = self.shard.ks.borrow().db_count();
        let shard = self.shard;
        if spec.has(flags::WRITE) && self.nshards > 1 {
            self.undo.before_write(shard, spec, self.db, &args);
        }
        crate::commands::monitor::feed_script(shard, self.db, spec, &args);
        script_command(
            spec,
            args,
            &mut self.db,
            dbs,
            self.nshards,
            self.track,
            |op| {
                // Through `apply`: watchers and blocked clients of the keys see the write.
                shard.apply(op).into_reply()
            },
        )
    }

    fn reachable(&self, key: &[u8]) -> bool {
        self.shard.slots.owner_of_key(key) == self.shard.id
    }

    fn implied_keys(&self, spec: &'static CommandSpec, args: &[Bytes]) -> Vec<Bytes> {
        if self.nshards == 1 {
            return Vec::new();
        }
        crate::coord::cross::sort_named_keys(&self.shard.ks.borrow(), self.db, spec, args)
    }
}

/// A script running on copies of its keys gathered from several shards.
struct ScratchHost<'a> {
    shard: &'a Rc<Shard>,
    acl: Option<&'a crate::commands::acl::ScriptAcl>,
    ks: &'a mut Keyspace,
    keys: &'a [Bytes],
    home_db: usize,
    db: usize,
    nshards: usize,
}

impl Host for ScratchHost<'_> {
    fn call(&mut self, spec: &'static CommandSpec, args: Vec<Bytes>) -> Reply {
        if let Some(refused) = self.acl.and_then(|a| a.refusal(spec, &args)) {
            return refused;
        }
        if server_cmd(spec) == Some(ServerCmd::Select) {
            return CmdError::other(
                "ERR SELECT is not supported in scripts whose keys span shards",
            )
            .into();
        }
        let dbs = self.ks.db_count();
        crate::commands::monitor::feed_script(self.shard, self.db, spec, &args);
        let ks = &mut *self.ks;
        script_command(
            spec,
            args,
            &mut self.db,
            dbs,
            self.nshards,
            shards::ops::Track::NONE,
            |op| run_op(ks, op).into_reply(),
        )
    }

    fn reachable(&self, key: &[u8]) -> bool {
        self.db == self.home_db && self.keys.iter().any(|k| &k[..] == key)
    }

    fn implied_keys(&self, spec: &'static CommandSpec, args: &[Bytes]) -> Vec<Bytes> {
        crate::coord::cross::sort_named_keys(self.ks, self.db, spec, args)
    }
}

/// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO. Inside EXEC, `txn` is the
/// transaction holding the shards of the script's keys.
pub async fn eval(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    cmd: ServerCmd,
    args: Vec<Bytes>,
    txn: Option<TxnId>,
) -> Reply {
    match prepare(shard, client, spec, cmd, &args).await {
        Ok(job) => run(shard, job, txn).await,
        Err(e) => e,
    }
}

/// Parses the arguments and finds the script or function.
async fn prepare(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    cmd: ServerCmd,
    args: &[Bytes],
) -> Result<Job, Reply> {
    let fcall = cmd == ServerCmd::Fcall;
    if fcall && with_engine(shard, |e| e.function_flags(&args[1]).is_none()) {
        return Err(CmdError::other("ERR Function not found").into());
    }
    let numkeys = match shards::args::parse_i64_opt(&args[2]) {
        Some(n) => n,
        None if fcall => return Err(CmdError::other("ERR Bad number of keys provided").into()),
        None => return Err(CmdError::NotInteger.into()),
    };
    if numkeys < 0 {
        return Err(CmdError::other("ERR Number of keys can't be negative").into());
    }
    if numkeys as usize > args.len() - 3 {
        return Err(
            CmdError::other("ERR Number of keys can't be greater than number of args").into(),
        );
    }
    let split = 3 + numkeys as usize;
    let (db, resp) = {
        let info = client.info.borrow();
        (info.db, info.resp)
    };
    // Redis's rule for scripts: one that starts while the process is over maxmemory
    // (after evicting what the policy allows) may not run a command that grows memory
    // before it has written.
    let oom = shard.out_of_memory();
    let opts = RunOpts {
        read_only: spec.has(flags::READONLY),
        resp,
        oom,
    };
    let call = match cmd {
        _ if fcall => Call::Fcall {
            name: args[1].clone(),
        },
        ServerCmd::Eval { sha: true } => {
            let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
            match with_engine(shard, |e| e.script_body(sha.as_bytes())) {
                Some(body) => Call::Eval {
                    sha,
                    body: Bytes::from(body),
                },
                None => {
                    return Err(
                        CmdError::other("NOSCRIPT No matching script. Please use EVAL.").into(),
                    )
                }
            }
        }
        _ => {
            let body = args[1].clone();
            let cached = with_engine(shard, |e| e.cached_sha(&body).map(str::to_owned));
            let sha = match cached {
                Some(sha) => sha,
                None => {
                    let sha = with_engine(shard, |e| e.script_load(&body))?;
                    // EVAL caches the script everywhere, as SCRIPT LOAD does.
                    for s in (0..shard.nshards).filter(|&s| s != shard.id) {
                        let change = admin::Change::ScriptLoad(body.clone());
                        drop(shard.send(s, admin::change_work(change)));
                    }
                    sha
                }
            };
            Call::Eval { sha, body }
        }
    };
    if crate::commands::cluster::enabled() && call_flags(shard, &call).is_some_and(|f| f.no_cluster)
    {
        return Err(CmdError::other(
            "ERR Can not run script on cluster, 'no-cluster' flag is set.",
        )
        .into());
    }
    Ok(Job {
        call,
        keys: args[3..split].to_vec(),
        args: args[split..].to_vec(),
        db,
        opts,
        track: client.tracking.borrow().for_script(client.info.borrow().id),
        acl: crate::commands::acl::ScriptAcl::of(client),
    })
}

/// The shebang or registration flags of what `call` runs.
fn call_flags(shard: &Shard, call: &Call) -> Option<scripting::ScriptFlags> {
    with_engine(shard, |e| match call {
        Call::Eval { sha, .. } => e.script_flags(sha.as_bytes()),
        Call::Fcall { name } => e.function_flags(name),
    })
}

/// Runs a job where its keys are (see the module comment).
async fn run(shard: &Rc<Shard>, job: Job, txn: Option<TxnId>) -> Reply {
    let mut keys: Vec<Bytes> = Vec::new();
    add_keys(&mut keys, job.keys.clone());
    let owner = {
        let mut owners = keys.iter().map(|k| shard.slots.owner_of_key(k));
        let first = owners.next().unwrap_or(shard.id);
        owners.all(|o| o == first).then_some(first)
    };
    let mut job = job;
    if let Some(owner) = owner {
        let boxed = Box::new(job);
        let work = Work::Keyed(
            txn,
            Box::new(move |s: &Rc<Shard>| Box::new(run_here(s, boxed)) as Answer),
        );
        let Some((outcome, returned)) = shard
            .call(owner, work)
            .await
            .into_answer::<(Outcome, Box<Job>)>()
        else {
            return CmdError::other("ERR shard did not answer").into();
        };
        match outcome {
            Outcome::Reply(r) => return r,
            Outcome::NeedKeys(more) => {
                job = *returned;
                add_keys(&mut keys, more);
            }
        }
    }
    if let Some(txn) = txn {
        // Inside EXEC the transaction already holds the shards of the declared keys
        // (and its own); it cannot take more without breaking the ascending order.
        let mut held = owners_of(shard, &keys);
        held.push(shard.id);
        return match gathered(shard, txn, &job, keys, &mut held, Access::Held).await {
            Gathered::Done(r) => r,
            Gathered::Restart(_) => CmdError::other(
                "ERR Script attempted to access a key on a shard this transaction does \
                 not hold; declare every key in KEYS",
            )
            .into(),
        };
    }
    loop {
        let mut locked = Vec::new();
        let txn = shard.new_txn();
        let outcome = gathered(shard, txn, &job, keys, &mut locked, Access::Lock).await;
        atomic::release(shard, txn, &locked);
        match outcome {
            Gathered::Done(r) => return r,
            Gathered::Restart(more) => keys = more,
        }
    }
}

/// The owning shards of `keys`, sorted, without repeats.
fn owners_of(shard: &Shard, keys: &[Bytes]) -> Vec<ShardId> {
    let mut owners: Vec<ShardId> = keys.iter().map(|k| shard.slots.owner_of_key(k)).collect();
    owners.sort_unstable();
    owners.dedup();
    owners
}

fn add_keys(keys: &mut Vec<Bytes>, more: Vec<Bytes>) {
    for k in more {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
}

enum Gathered {
    Done(Reply),
    /// The script needs keys of a shard at or below one already locked: release
    /// everything and start again with these keys.
    Restart(Vec<Bytes>),
}

/// How a gathered script reaches its keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Inside EXEC: the transaction holds the shards already.
    Held,
    /// Lock each key (and fetch it) in one message per shard, ascending.
    Lock,
}

/// Runs a job on copies of `keys` for `txn` and writes back what changed. With
/// `Access::Lock` the keys are locked on the way (their shards go into `shards`); a
/// script that asks for more keys runs again with them, locked too when their shards
/// all come after the ones locked so far (the ascending order), else the caller
/// releases and restarts. With `Access::Held` more keys must live on `shards`.
async fn gathered(
    shard: &Rc<Shard>,
    txn: TxnId,
    job: &Job,
    keys: Vec<Bytes>,
    shards: &mut Vec<ShardId>,
    access: Access,
) -> Gathered {
    let mut copies = match access {
        Access::Held => Copies::fetch(shard, Some(txn), job.db, keys).await,
        Access::Lock => Copies::fetch_locking(shard, txn, job.db, keys, shards).await,
    };
    for _ in 0..MAX_RERUNS {
        let outcome = {
            let mut host = ScratchHost {
                shard,
                acl: job.acl.as_ref(),
                ks: &mut copies.scratch,
                keys: &copies.keys,
                home_db: job.db,
                db: job.db,
                nshards: shard.nshards,
            };
            with_engine(shard, |e| run_engine(e, job, &mut host))
        };
        let more = match outcome {
            Outcome::Reply(r) => {
                copies.write_back(shard, Some(txn)).await;
                return Gathered::Done(r);
            }
            Outcome::NeedKeys(more) => more,
        };
        let owners = owners_of(shard, &more);
        let top = shards.iter().max().copied();
        let fits = match access {
            Access::Held => owners.iter().all(|s| shards.contains(s)),
            Access::Lock => owners.iter().all(|&s| top.is_none_or(|t| s > t)),
        };
        if !fits {
            let mut keys = copies.keys.clone();
            add_keys(&mut keys, more);
            return Gathered::Restart(keys);
        }
        let locked = (access == Access::Lock).then_some(&mut *shards);
        copies.add(shard, txn, more, locked).await;
    }
    Gathered::Done(
        CmdError::other("ERR Script keeps touching undeclared keys on other shards").into(),
    )
}
