//! corecache's Lua scripting engine: Redis 7.0's EVAL scripts and functions, as a
//! synchronous, socket-free engine. One [`Engine`] per shard thread; the server routes
//! EVAL/FCALL to it with a [`Host`] that runs the script's commands.
//!
//! # API
//!
//! - EVAL family: [`Engine::eval`] with [`ScriptRef::Body`] (EVAL, caches the body) or
//!   [`ScriptRef::Sha`] (EVALSHA); `RunOpts::read_only` for the `_RO` variants.
//!   SCRIPT LOAD / EXISTS / FLUSH: [`Engine::script_load`], [`Engine::script_exists`],
//!   [`Engine::script_flush`]; [`Engine::script_body`] and [`Engine::script_flags`]
//!   (shebang flags, for the server's pre-run checks and for broadcasting);
//!   [`Engine::cached_sha`] finds a cached body's SHA-1 without computing it.
//! - Functions: [`Engine::function_load`], [`Engine::function_delete`],
//!   [`Engine::function_flush`], [`Engine::function_list`], [`Engine::function_dump`],
//!   [`Engine::function_restore`] ([`RestorePolicy`]), [`Engine::function_stats`],
//!   [`Engine::function_flags`], [`Engine::fcall`].
//! - [`ScriptControl`] (shared through an `Arc`): other threads read
//!   [`ScriptControl::busy_error`] (`-BUSY` once a script runs past the threshold) and
//!   call [`ScriptControl::kill`] for SCRIPT KILL / FUNCTION KILL.
//! - [`split_numkeys`] parses the `numkeys key... arg...` tail of EVAL/FCALL with
//!   Redis's errors.
//!
//! A run returns [`Outcome::Reply`], or [`Outcome::NeedKeys`] when the script touched
//! a key that [`Host::reachable`] says is out of reach: the caller discards the run's
//! effects and runs it again with those keys available. User `pcall` cannot swallow
//! that, nor a kill.
//!
//! # What the engine checks before handing a command to the host
//!
//! In Redis's order, with Redis 7.0's error texts: at least one argument; arguments
//! are strings or numbers (numbers as `%.17g`); the command exists; arity; not
//! `noscript`; no write command in a read-only run (EVAL_RO, FCALL_RO, `no-writes`);
//! `denyoom` commands while [`RunOpts::oom`] and nothing written yet (unless
//! `allow-oom`); then keys. A script with flags (a shebang, or any function) that lacks
//! `allow-cross-slot-keys` may only touch keys in the hash slots of its declared keys
//! (or, declaring none, in the slot of the first key it touches): Redis cluster's rule,
//! "Script attempted to access keys that do not hash to the same slot". Legacy scripts
//! (no shebang) and `allow-cross-slot-keys` may touch any key. Finally every key must
//! be reachable, else the run ends with `NeedKeys` before the command runs.
//!
//! The host serves everything else: server-level commands a script may call (PING,
//! ECHO, TIME, SELECT for the script's own database ...), keyless whole-keyspace
//! commands across shards, and the pre-run checks that need server state
//! (`no-cluster`, `allow-stale`; see [`Engine::script_flags`]).
//!
//! # The script context
//!
//! `redis.call`, `pcall`, `error_reply`, `status_reply`, `sha1hex`, `log` (to a sink,
//! [`Engine::set_log_sink`]), `setresp`, `set_repl`, `replicate_commands`,
//! `breakpoint`, `debug`, `acl_check_cmd`, the `LOG_*`/`REPL_*` constants,
//! `REDIS_VERSION` and `REDIS_VERSION_NUM`; `KEYS`/`ARGV` for EVAL; the `cjson`,
//! `cmsgpack`, `bit` and `struct` libraries; `math.random` over Redis's `lrand48`
//! (one generator per Lua state, seeded with 0 when the state is made and continuing
//! from run to run, as in Redis 7.0); `os.clock` only. Lua's `pcall` is Redis 7's:
//! an error table raised by `redis.call` reaches the caller as its text. Globals and
//! library tables are read-only ("Attempt to modify a readonly table"), reading an
//! unknown global fails ("Script attempted to access nonexistent global variable"),
//! and nothing a script does survives into the next run. A count hook checks the
//! clock: past the busy threshold the run is marked busy and honours kill requests.
//!
//! Function libraries load in a Lua state of their own, with only `redis` (holding
//! `register_function`, `log` and the constants) visible to their top-level code, for
//! at most 500 ms.

#![deny(unsafe_op_in_unsafe_fn)]

mod control;
mod convert;
mod engine;
mod flags;
mod functions;
pub mod libs;
mod numfmt;
mod rand48;
mod redis_api;
mod vm;

#[cfg(test)]
mod tests;

use bytes::Bytes;
use shards::{CmdError, CommandSpec, Reply};

pub use control::{ScriptControl, DEFAULT_BUSY_THRESHOLD_MS};
pub use engine::{Engine, ScriptRef};
pub use flags::ScriptFlags;
pub use functions::RestorePolicy;
pub use numfmt::fmt_g;
pub use vm::{LogLevel, REDIS_VERSION, REDIS_VERSION_NUM};

/// What runs a script's commands: the shard's keyspace, or the lead's coordinator.
pub trait Host {
    /// Runs one command for the script (`args[0]` is the name as the script wrote
    /// it). The engine has already checked the command exists, its arity, `noscript`,
    /// writes in read-only runs, and the declared-keys rule. Returns the reply or an
    /// error reply.
    fn call(&mut self, spec: &'static CommandSpec, args: Vec<Bytes>) -> Reply;

    /// Whether this host can reach `key`. False ends the run with
    /// [`Outcome::NeedKeys`].
    fn reachable(&self, key: &[u8]) -> bool {
        let _ = key;
        true
    }

    /// Keys the command reads beyond its key positions (SORT's BY and GET patterns
    /// name keys from the sorted key's elements). Each must be reachable too.
    fn implied_keys(&self, spec: &'static CommandSpec, args: &[Bytes]) -> Vec<Bytes> {
        let _ = (spec, args);
        Vec::new()
    }
}

/// How a client asked for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOpts {
    /// EVAL_RO, EVALSHA_RO, FCALL_RO.
    pub read_only: bool,
    /// The client's protocol (2 or 3). Replies are protocol-neutral [`Reply`] values
    /// the server encodes; this is informational.
    pub resp: u8,
    /// The server was over `maxmemory` when the command arrived: scripts with flags
    /// that may write and lack `allow-oom` are refused, and until a run has written,
    /// its `denyoom` commands are refused (as Redis does).
    pub oom: bool,
}

impl Default for RunOpts {
    fn default() -> Self {
        RunOpts {
            read_only: false,
            resp: 2,
            oom: false,
        }
    }
}

const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Refusals before a run starts, from the script's flags and the client's request.
pub(crate) fn pre_run_check(flags: ScriptFlags, opts: &RunOpts) -> Option<Reply> {
    if opts.read_only && !flags.legacy && !flags.no_writes {
        return Some(Reply::Error(CmdError::other(
            "ERR Can not execute a script with write flag using *_ro command.",
        )));
    }
    if opts.oom && !flags.legacy && !flags.no_writes && !flags.allow_oom {
        return Some(Reply::Error(CmdError::other(OOM_ERROR)));
    }
    None
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The script's reply (an error reply when it failed).
    Reply(Reply),
    /// The script touched keys the host cannot reach. Discard the run's effects and
    /// run it again with these keys (and the earlier ones) reachable.
    NeedKeys(Vec<Bytes>),
}

/// SHA-1 of `data` in lower-case hex (`redis.sha1hex`, script ids).
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// Splits EVAL/FCALL's `numkeys key... arg...` (the arguments after the script or
/// function name) into keys and arguments, with Redis's errors.
pub fn split_numkeys(rest: &[Bytes]) -> Result<(Vec<Bytes>, Vec<Bytes>), Reply> {
    let Some(n) = rest.first() else {
        return Err(Reply::Error(CmdError::WrongArity("eval".into())));
    };
    let n = shards::args::parse_i64_opt(n).ok_or(Reply::Error(CmdError::NotInteger))?;
    if n < 0 {
        return Err(Reply::Error(CmdError::other(
            "ERR Number of keys can't be negative",
        )));
    }
    let tail = &rest[1..];
    if n as u64 > tail.len() as u64 {
        return Err(Reply::Error(CmdError::other(
            "ERR Number of keys can't be greater than number of args",
        )));
    }
    let (k, a) = tail.split_at(n as usize);
    Ok((k.to_vec(), a.to_vec()))
}
