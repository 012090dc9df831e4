//! CLIENT subcommands.

use std::rc::Rc;

use bytes::Bytes;
use shards::args::{eq_ic, parse_i64};
use shards::{CmdError, Reply};

use crate::runtime::clients::{ClientHandle, ClientKind, KillFilter, ReplyMode};
use crate::runtime::shard::Shard;

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "GETNAME",
    "    Return the name of the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <LIB-NAME|LIB-VER> <value>",
    "    Record the client library name or version.",
    "LIST [TYPE normal] [ID <id> [<id> ...]]",
    "    Return information about client connections.",
    "KILL <ip:port> | <filter> <value> ...",
    "    Kill connections: by address, or by ID, ADDR, LADDR, USER, TYPE, MAXAGE, SKIPME.",
    "NO-EVICT (ON|OFF)",
    "    Protect the current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Do not change the last access time of keys this client reads.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Hold every client's commands (WRITE: those that may write) for <timeout> ms.",
    "UNPAUSE",
    "    End a pause before its timeout.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    End a client's blocking command now, as if it timed out or with an error.",
    "HELP",
    "    Prints this help.",
];

fn arity(sub: &str) -> CmdError {
    CmdError::WrongArity(format!("client|{sub}"))
}

/// Client names may not contain spaces, newlines or other special characters.
pub fn validate_name(name: &[u8]) -> Result<(), CmdError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::other(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(arg, "ON") {
        Ok(true)
    } else if eq_ic(arg, "OFF") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

pub async fn run(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let n = args.len();
    match sub.as_str() {
        "id" if n == 2 => Ok(Reply::Int(client.info.borrow().id as i64)),
        "info" if n == 2 => {
            let line = client.line(shards::clock::system_ms());
            Ok(Reply::Verbatim(format!("{line}\n")))
        }
        "getname" if n == 2 => {
            let info = client.info.borrow();
            Ok(if info.name.is_empty() {
                Reply::Nil
            } else {
                Reply::Bulk(info.name.as_bytes().to_vec())
            })
        }
        "setname" if n == 3 => {
            validate_name(&args[2])?;
            client.info.borrow_mut().name = String::from_utf8_lossy(&args[2]).into_owned();
            Ok(Reply::Ok)
        }
        "setinfo" if n == 4 => {
            let value = String::from_utf8_lossy(&args[3]).into_owned();
            if value.contains(|c: char| !('!'..='~').contains(&c)) {
                return Err(CmdError::other(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    String::from_utf8_lossy(&args[2]).to_ascii_lowercase()
                )));
            }
            let mut info = client.info.borrow_mut();
            if eq_ic(&args[2], "LIB-NAME") {
                info.lib_name = value;
            } else if eq_ic(&args[2], "LIB-VER") {
                info.lib_ver = value;
            } else {
                return Err(CmdError::other(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(&args[2])
                )));
            }
            Ok(Reply::Ok)
        }
        "list" => list(shard, args).await,
        "tracking" if n >= 3 => super::tracking::tracking(shard, client, args).await,
        "caching" if n >= 3 => super::tracking::caching(client, args),
        "getredir" if n == 2 => Ok(super::tracking::getredir(client)),
        "trackinginfo" if n == 2 => Ok(super::tracking::trackinginfo(client)),
        "kill" if n >= 3 => kill(shard, client, args).await,
        "no-evict" if n == 3 => {
            client.info.borrow_mut().no_evict = on_off(&args[2])?;
            Ok(Reply::Ok)
        }
        "no-touch" if n == 3 => {
            client.info.borrow_mut().no_touch = on_off(&args[2])?;
            Ok(Reply::Ok)
        }
        "reply" if n == 3 => {
            let mode = if eq_ic(&args[2], "ON") {
                ReplyMode::On
            } else if eq_ic(&args[2], "OFF") {
                ReplyMode::Off
            } else if eq_ic(&args[2], "SKIP") {
                ReplyMode::SkipArmed
            } else {
                return Err(CmdError::Syntax);
            };
            // OFF and SKIP also silence this command's own reply (see Batch::push);
            // SKIP changes nothing while replies are off.
            let mut info = client.info.borrow_mut();
            if !(mode == ReplyMode::SkipArmed && info.reply == ReplyMode::Off) {
                info.reply = mode;
            }
            Ok(Reply::Ok)
        }
        "pause" if n == 3 || n == 4 => pause(args),
        "unpause" if n == 2 => {
            crate::runtime::pause::unpause();
            Ok(Reply::Ok)
        }
        "unblock" if n == 3 || n == 4 => unblock(shard, args).await,
        "help" if n == 2 => Ok(Reply::Array(
            HELP.iter().map(|l| Reply::Status(l.to_string())).collect(),
        )),
        "id" | "info" | "getname" | "setname" | "setinfo" | "no-evict" | "no-touch" | "reply"
        | "kill" | "help" | "tracking" | "caching" | "getredir" | "trackinginfo" | "pause"
        | "unpause" | "unblock" => Err(arity(&sub)),
        _ => Err(CmdError::UnknownSubcommand {
            sub: String::from_utf8_lossy(&args[1]).into_owned(),
            cmd: "client".into(),
        }),
    }
}

/// An optional last argument naming one of `choices` (case-insensitively).
fn choice<T: Copy>(
    arg: Option<&Bytes>,
    default: T,
    choices: &[(&str, T)],
    error: &str,
) -> Result<T, CmdError> {
    let Some(arg) = arg else {
        return Ok(default);
    };
    choices
        .iter()
        .find(|(name, _)| eq_ic(arg, name))
        .map(|(_, v)| *v)
        .ok_or_else(|| CmdError::other(error))
}

/// CLIENT PAUSE timeout [WRITE|ALL].
fn pause(args: &[Bytes]) -> Result<Reply, CmdError> {
    use crate::runtime::pause::{ALL, WRITE};
    let modes = [("WRITE", WRITE), ("ALL", ALL)];
    let mode = choice(
        args.get(3),
        ALL,
        &modes,
        "ERR CLIENT PAUSE mode must be WRITE or ALL",
    )?;
    let ms = shards::args::parse_i64_opt(&args[2])
        .ok_or_else(|| CmdError::other("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::other("ERR timeout is negative"));
    }
    crate::runtime::pause::pause(mode, ms as u64);
    Ok(Reply::Ok)
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if that client was in a blocking command.
async fn unblock(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let id = parse_i64(&args[2])?;
    let reasons = [("TIMEOUT", false), ("ERROR", true)];
    let error = choice(
        args.get(3),
        false,
        &reasons,
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
    )?;
    let done = shard
        .run_everywhere(|| {
            move |s: &Rc<Shard>| {
                let client = s.clients.borrow().get(id as u64);
                client.is_some_and(|c| c.unblock(error))
            }
        })
        .await;
    Ok(Reply::Int(done.into_iter().filter(|d| *d).count() as i64))
}

async fn list(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut ids: Option<Vec<u64>> = None;
    let mut kind = None;
    let mut i = 2;
    while i < args.len() {
        if eq_ic(&args[i], "TYPE") && i + 1 < args.len() {
            let t = String::from_utf8_lossy(&args[i + 1]).into_owned();
            kind = Some(
                ClientKind::parse(&t)
                    .ok_or_else(|| CmdError::other(format!("ERR Unknown client type '{t}'")))?,
            );
            i += 2;
        } else if eq_ic(&args[i], "ID") && i + 1 < args.len() {
            let mut list = Vec::new();
            for a in &args[i + 1..] {
                let id = parse_i64(a)
                    .ok()
                    .filter(|&v| v > 0)
                    .ok_or_else(|| CmdError::other("ERR Invalid client ID"))?;
                list.push(id as u64);
            }
            ids = Some(list);
            i = args.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut lines = Vec::new();
    let now = shards::clock::system_ms();
    let per_shard = shard
        .run_everywhere(|| {
            let ids = ids.clone();
            move |s: &Rc<Shard>| s.clients.borrow().list_lines(ids.as_deref(), kind, now)
        })
        .await;
    for l in per_shard {
        lines.extend(l);
    }
    lines.sort_by_key(|l| {
        l.split_whitespace()
            .next()
            .and_then(|f| f.strip_prefix("id="))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let mut text = String::new();
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    Ok(Reply::Verbatim(text))
}

async fn kill(shard: &Rc<Shard>, client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    let me = client.info.borrow().id;
    if args.len() == 3 {
        // Old form: CLIENT KILL addr:port.
        let filter = KillFilter {
            addr: Some(String::from_utf8_lossy(&args[2]).into_owned()),
            ..Default::default()
        };
        let n = kill_everywhere(shard, filter).await;
        return if n > 0 {
            Ok(Reply::Ok)
        } else {
            Err(CmdError::other("ERR No such client"))
        };
    }
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut f = KillFilter {
        skip_id: Some(me),
        ..Default::default()
    };
    for pair in args[2..].chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        let text = String::from_utf8_lossy(v).into_owned();
        if eq_ic(k, "ID") {
            let id = parse_i64(v).ok().filter(|&i| i > 0);
            f.id = Some(
                id.ok_or_else(|| CmdError::other("ERR client-id should be greater than 0"))? as u64,
            );
        } else if eq_ic(k, "ADDR") {
            f.addr = Some(text);
        } else if eq_ic(k, "LADDR") {
            f.laddr = Some(text);
        } else if eq_ic(k, "USER") {
            if crate::runtime::acl::get(&text).is_none() {
                return Err(CmdError::other(format!("ERR No such user '{text}'")));
            }
            f.user = Some(text);
        } else if eq_ic(k, "MAXAGE") {
            let age = parse_i64(v).map_err(|_| CmdError::Syntax)?;
            f.max_age_secs = Some(age.max(0) as u64);
        } else if eq_ic(k, "TYPE") {
            f.kind = Some(
                ClientKind::parse(&text)
                    .ok_or_else(|| CmdError::other(format!("ERR Unknown client type '{text}'")))?,
            );
        } else if eq_ic(k, "SKIPME") {
            let skip = [("YES", true), ("NO", false)];
            f.skip_id = match choice(Some(v), true, &skip, "ERR syntax error")? {
                true => Some(me),
                false => None,
            };
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(Reply::Int(kill_everywhere(shard, f).await as i64))
}

async fn kill_everywhere(shard: &Rc<Shard>, f: KillFilter) -> usize {
    shard
        .run_everywhere(|| {
            let f = f.clone();
            move |s: &Rc<Shard>| s.clients.borrow_mut().kill(&f)
        })
        .await
        .into_iter()
        .sum()
}
