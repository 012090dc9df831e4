//! SCRIPT and FUNCTION: the script cache and the function libraries, the same on every
//! shard (a change is applied here first, its answer the reply, then on every other
//! shard), FUNCTION LIST/DUMP/STATS read from this shard's engine, and the changes
//! that go in the append-only file.

use std::rc::Rc;

use bytes::Bytes;
use scripting::RestorePolicy;
use shards::{CmdError, Reply};

use super::script_busy as busy;
use super::script_engine::with_engine;
use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Work};

/// Library and script changes applied on every shard.
pub enum Change {
    ScriptLoad(Bytes),
    ScriptFlush,
    FunctionLoad {
        code: Bytes,
        replace: bool,
    },
    FunctionDelete(Bytes),
    FunctionFlush,
    FunctionRestore {
        payload: Bytes,
        policy: RestorePolicy,
    },
}

/// Applies a change to this shard's engine (the answer of the first shard is the
/// command's reply).
pub fn apply_change(shard: &Shard, change: Change) -> Reply {
    with_engine(shard, |e| match change {
        Change::ScriptLoad(body) => match e.script_load(&body) {
            Ok(sha) => Reply::Bulk(sha.into_bytes()),
            Err(r) => r,
        },
        Change::ScriptFlush => {
            e.script_flush();
            Reply::Ok
        }
        Change::FunctionLoad { code, replace } => match e.function_load(&code, replace) {
            Ok(lib) => Reply::Bulk(lib.into_bytes()),
            Err(r) => r,
        },
        Change::FunctionDelete(lib) => e.function_delete(&lib),
        Change::FunctionFlush => {
            e.function_flush();
            Reply::Ok
        }
        Change::FunctionRestore { payload, policy } => e.function_restore(&payload, policy),
    })
}

/// The code of every function library of this shard (all shards hold the same).
pub fn library_codes(shard: &Shard) -> Vec<Vec<u8>> {
    with_engine(shard, |e| e.library_codes())
}

/// Loads libraries read from an RDB file into this shard's engine; the names of those
/// that failed, with why.
pub fn load_libraries(shard: &Shard, codes: &[Vec<u8>]) -> Vec<String> {
    let mut failed = Vec::new();
    for code in codes {
        let change = Change::FunctionLoad {
            code: Bytes::copy_from_slice(code),
            replace: false,
        };
        if let Reply::Error(e) = apply_change(shard, change) {
            failed.push(e.to_string());
        }
    }
    failed
}

/// Work that applies a change on a shard.
pub(super) fn change_work(change: Change) -> Work {
    Work::Admin(Box::new(move |s: &Rc<Shard>| {
        Box::new(apply_change(s, change)) as Answer
    }))
}

/// Applies a change on every shard, this one first; its answer is the reply.
async fn everywhere(shard: &Rc<Shard>, make: impl Fn() -> Change) -> Reply {
    let reply = apply_change(shard, make());
    if reply.is_error() {
        return reply;
    }
    let waiting: Vec<_> = (0..shard.nshards)
        .filter(|&s| s != shard.id)
        .map(|s| shard.send(s, change_work(make())))
        .collect();
    for w in waiting {
        let _ = w.await;
    }
    reply
}

/// Redis's error for a subcommand it does not know, or knows with the wrong arity.
fn sub_error(cmd: &str, known: &[&str], args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]);
    if known.iter().any(|k| sub.eq_ignore_ascii_case(k)) {
        return CmdError::WrongArity(format!(
            "{}|{}",
            cmd.to_ascii_lowercase(),
            sub.to_ascii_lowercase()
        ))
        .into();
    }
    CmdError::other(format!("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")).into()
}

/// SCRIPT LOAD | EXISTS | FLUSH | KILL | HELP.
pub async fn script(shard: &Rc<Shard>, args: Vec<Bytes>) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_uppercase();
    match (sub.as_str(), args.len()) {
        ("LOAD", 3) => {
            let body = args[2].clone();
            everywhere(shard, || Change::ScriptLoad(body.clone())).await
        }
        ("EXISTS", n) if n >= 3 => with_engine(shard, |e| {
            Reply::Array(
                args[2..]
                    .iter()
                    .map(|sha| {
                        let sha = sha.to_ascii_lowercase();
                        Reply::Int(e.script_exists(&sha) as i64)
                    })
                    .collect(),
            )
        }),
        ("FLUSH", 2) | ("FLUSH", 3) => {
            if let Some(mode) = args.get(2) {
                if !mode.eq_ignore_ascii_case(b"ASYNC") && !mode.eq_ignore_ascii_case(b"SYNC") {
                    return CmdError::other("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
                        .into();
                }
            }
            everywhere(shard, || Change::ScriptFlush).await
        }
        ("KILL", 2) => busy::kill(false),
        ("HELP", 2) => help(&[
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
            "HELP",
            "    Prints this help.",
        ]),
        _ => sub_error(
            "SCRIPT",
            &["load", "exists", "flush", "kill", "help", "debug"],
            &args,
        ),
    }
}

/// FUNCTION LOAD | DELETE | FLUSH | LIST | DUMP | RESTORE | STATS | KILL | HELP.
pub async fn function(shard: &Rc<Shard>, args: Vec<Bytes>) -> Reply {
    let logged = crate::runtime::aof::on()
        && [&b"load"[..], b"delete", b"flush", b"restore"]
            .iter()
            .any(|s| args[1].eq_ignore_ascii_case(s));
    let kept = logged.then(|| args.clone());
    let reply = function_run(shard, args).await;
    if let (Some(args), false) = (kept, reply.is_error()) {
        log_function_change(shard, args);
    }
    reply
}

/// A change of the libraries goes in the append-only file: LOAD, DELETE and FLUSH as
/// they were sent; RESTORE (its payload is corecache's own) as a FLUSH and a LOAD of
/// every library now loaded, which redis-server replays too.
fn log_function_change(shard: &Rc<Shard>, args: Vec<Bytes>) {
    let cmds = if args[1].eq_ignore_ascii_case(b"restore") {
        let mut cmds = vec![vec![
            Bytes::from_static(b"FUNCTION"),
            Bytes::from_static(b"FLUSH"),
        ]];
        for code in library_codes(shard) {
            cmds.push(vec![
                Bytes::from_static(b"FUNCTION"),
                Bytes::from_static(b"LOAD"),
                Bytes::from_static(b"REPLACE"),
                Bytes::from(code),
            ]);
        }
        cmds
    } else {
        vec![args]
    };
    shard.aof.borrow_mut().record(0, cmds);
}

async fn function_run(shard: &Rc<Shard>, args: Vec<Bytes>) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_uppercase();
    let n = args.len();
    match sub.as_str() {
        "LOAD" if n == 3 || n == 4 => {
            let replace = n == 4;
            if replace && !args[2].eq_ignore_ascii_case(b"REPLACE") {
                return CmdError::other(format!(
                    "ERR Unknown option given: {}",
                    String::from_utf8_lossy(&args[2])
                ))
                .into();
            }
            let code = args[n - 1].clone();
            everywhere(shard, || Change::FunctionLoad {
                code: code.clone(),
                replace,
            })
            .await
        }
        "DELETE" if n == 3 => {
            let lib = args[2].clone();
            everywhere(shard, || Change::FunctionDelete(lib.clone())).await
        }
        "FLUSH" if n <= 3 => {
            if let Some(mode) = args.get(2) {
                if !mode.eq_ignore_ascii_case(b"ASYNC") && !mode.eq_ignore_ascii_case(b"SYNC") {
                    return CmdError::other(
                        "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
                    )
                    .into();
                }
            }
            everywhere(shard, || Change::FunctionFlush).await
        }
        "LIST" => {
            let mut pattern = None;
            let mut with_code = false;
            let mut i = 2;
            while i < n {
                if args[i].eq_ignore_ascii_case(b"WITHCODE") && !with_code {
                    with_code = true;
                    i += 1;
                } else if args[i].eq_ignore_ascii_case(b"LIBRARYNAME")
                    && pattern.is_none()
                    && i + 1 < n
                {
                    pattern = Some(args[i + 1].clone());
                    i += 2;
                } else {
                    return CmdError::other(format!(
                        "ERR Unknown argument {}",
                        String::from_utf8_lossy(&args[i])
                    ))
                    .into();
                }
            }
            with_engine(shard, |e| e.function_list(pattern.as_deref(), with_code))
        }
        "DUMP" if n == 2 => Reply::Bulk(with_engine(shard, |e| e.function_dump())),
        "RESTORE" if n == 3 || n == 4 => {
            let payload = args[2].clone();
            let policy = match args.get(3).map(|p| p.to_ascii_uppercase()) {
                None => RestorePolicy::Append,
                Some(p) if p == b"APPEND" => RestorePolicy::Append,
                Some(p) if p == b"REPLACE" => RestorePolicy::Replace,
                Some(p) if p == b"FLUSH" => RestorePolicy::Flush,
                Some(_) => {
                    return CmdError::other("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.").into()
                }
            };
            everywhere(shard, || Change::FunctionRestore {
                payload: payload.clone(),
                policy,
            })
            .await
        }
        "STATS" if n == 2 => with_engine(shard, |e| e.function_stats()),
        "KILL" if n == 2 => busy::kill(true),
        "HELP" if n == 2 => help(&[
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that REPLACE is not allowed when the payload contains",
            "      functions with the same name as existing functions in the library).",
            "HELP",
            "    Prints this help.",
        ]),
        _ => sub_error(
            "FUNCTION",
            &["load", "delete", "flush", "list", "dump", "restore", "stats", "kill", "help"],
            &args,
        ),
    }
}

fn help(lines: &[&str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::Status((*l).into())).collect())
}
