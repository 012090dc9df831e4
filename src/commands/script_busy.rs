//! A busy script's side: the per-shard controls every thread shares (`-BUSY`, SCRIPT
//! KILL and FUNCTION KILL from any shard), and what the script's own shard answers from
//! inside the script's hook (`runtime/driver/busy.rs`): the kills, `-BUSY`, SHUTDOWN
//! NOSAVE.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use scripting::ScriptControl;
use shards::cmd::{flags, CommandSpec};
use shards::{CmdError, Reply};

use crate::commands::table::{server_cmd, ServerCmd};
use crate::runtime::shard::Shard;

thread_local! {
    /// Whether a new client must authenticate (noted at every use of the engine, for
    /// `serve_while_busy`, which must not touch the shard).
    static PASSWORD_REQUIRED: Cell<bool> = const { Cell::new(false) };
}

pub(super) fn note_password(required: bool) {
    PASSWORD_REQUIRED.set(required);
}

/// One control per shard, shared by every thread (for -BUSY and SCRIPT KILL).
static CONTROLS: OnceLock<Vec<Arc<ScriptControl>>> = OnceLock::new();

/// `busy-reply-threshold` (alias `lua-time-limit`) in milliseconds.
static BUSY_THRESHOLD_MS: AtomicU64 = AtomicU64::new(scripting::DEFAULT_BUSY_THRESHOLD_MS);

pub(super) fn controls(nshards: usize) -> &'static [Arc<ScriptControl>] {
    CONTROLS.get_or_init(|| {
        let ms = BUSY_THRESHOLD_MS.load(Ordering::Relaxed);
        (0..nshards)
            .map(|_| Arc::new(ScriptControl::new(ms)))
            .collect()
    })
}

/// The `-BUSY` error when a script on some shard runs past the threshold.
pub fn busy_error(shard: &Shard) -> Option<Reply> {
    controls(shard.nshards).iter().find_map(|c| c.busy_error())
}

/// Whether a command may run while a script is busy (SCRIPT KILL, FUNCTION KILL ...).
pub fn allowed_while_busy(spec: &CommandSpec, args: &[Bytes]) -> bool {
    if spec.has(flags::ALLOW_BUSY) {
        return true;
    }
    matches!(
        server_cmd(spec),
        Some(ServerCmd::Script | ServerCmd::Function)
    ) && args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"KILL"))
}

/// `CONFIG SET busy-reply-threshold` / `lua-time-limit`.
pub fn set_busy_threshold(ms: u64) {
    BUSY_THRESHOLD_MS.store(ms, Ordering::Relaxed);
    for c in CONTROLS.get().into_iter().flatten() {
        c.set_busy_threshold_ms(ms);
    }
}

pub fn busy_threshold() -> u64 {
    BUSY_THRESHOLD_MS.load(Ordering::Relaxed)
}

/// The control of a running script, a busy one first.
fn running() -> Option<&'static Arc<ScriptControl>> {
    let all = CONTROLS.get()?;
    all.iter()
        .find(|c| c.is_busy())
        .or_else(|| all.iter().find(|c| c.is_running()))
}

/// SCRIPT KILL / FUNCTION KILL, from any shard's thread (the control is shared).
pub(super) fn kill(function: bool) -> Reply {
    match running() {
        Some(c) => c.kill(function),
        None => CmdError::other("NOTBUSY No scripts in execution right now.").into(),
    }
}

/// SHUTDOWN NOSAVE sent to a shard busy in a script, answered from the script's hook
/// (which must not wait for anything): the log synced, then exit.
fn exit_nosave() -> ! {
    crate::base::log::notice("User requested shutdown...");
    if crate::runtime::aof::file_on() {
        crate::runtime::aof::sync_now();
    }
    crate::base::log::notice("Redis is now ready to exit, bye bye...");
    std::process::exit(0);
}

/// SHUTDOWN NOSAVE [NOW] [FORCE], in any order.
fn shutdown_nosave(args: &[Bytes]) -> bool {
    let is = |a: &Bytes, w: &[u8]| a.eq_ignore_ascii_case(w);
    args[1..].iter().any(|a| is(a, b"nosave"))
        && args[1..]
            .iter()
            .all(|a| is(a, b"nosave") || is(a, b"now") || is(a, b"force"))
}

/// Called by the engine's hook while this shard's script is busy: answers this shard's
/// idle clients through the network driver (`runtime/driver/busy.rs`): SCRIPT KILL and
/// FUNCTION KILL act at once, SHUTDOWN NOSAVE exits, other commands get `-BUSY` as
/// from redis-server. What
/// changes a connection's state (AUTH, MULTI ...), a wrong arity, an unknown command
/// and FUNCTION STATS wait for the script's end. With `--io-engine glommio` there is no
/// driver: only clients of other shards are answered meanwhile.
pub(super) fn serve_while_busy() {
    let Some(driver) = crate::runtime::driver::current() else {
        return;
    };
    let limits = crate::base::resp::Limits {
        proto_max_bulk_len: 512 << 20,
        authenticated: true,
    };
    driver.serve_while_busy(limits, !PASSWORD_REQUIRED.get(), &mut |args: &[Bytes]| {
        let spec = shards::cmd::lookup(&args[0])?;
        if shards::cmd::subcommands::arity_error(spec, args).is_some() {
            return None;
        }
        let reply = if allowed_while_busy(spec, args) {
            let kill_of = match server_cmd(spec) {
                Some(ServerCmd::Script) => false,
                Some(ServerCmd::Function) => true,
                Some(ServerCmd::Shutdown) if shutdown_nosave(args) => exit_nosave(),
                // Saving needs the busy shard: refused, as redis-server does.
                Some(ServerCmd::Shutdown) => return busy_reply(),
                _ => return None,
            };
            if args.len() != 2 || !args[1].eq_ignore_ascii_case(b"KILL") {
                return None;
            }
            kill(kill_of)
        } else {
            return busy_reply();
        };
        Some(encoded(&reply))
    });
}

fn busy_reply() -> Option<Vec<u8>> {
    Some(encoded(&running()?.busy_error()?))
}

/// A reply as bytes: the hook's replies (errors and +OK) read the same in RESP2 and 3.
fn encoded(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    crate::base::resp::encode(&mut out, reply, 2);
    out
}
