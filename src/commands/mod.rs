//! Commands the server answers itself: connection state (PING, HELLO, SELECT, AUTH,
//! CLIENT, RESET, QUIT), introspection (INFO, COMMAND, CONFIG, TIME, LASTSAVE, DEBUG)
//! and the cross-shard coordinators of SCAN and RANDOMKEY.

mod client;
pub mod cluster;
mod command;
mod config;
mod info;
pub mod migrate;
pub mod script;
pub mod table;
pub mod txn;

pub use table::ServerCmd;

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use shards::args::{eq_ic, parse_f64, parse_i64};
use shards::cmd::keys;
use shards::cmd::CommandSpec;
use shards::ops::ShardOp;
use shards::{CmdError, Reply};

use crate::runtime::clients::{ClientHandle, ReplyMode};
use crate::runtime::shard::Shard;
use crate::runtime::work::Work;

/// Version reported to clients (HELLO, INFO): the Redis version whose behaviour we follow.
pub const REDIS_VERSION: &str = "7.2.4";

/// What the connection does after a server command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    /// QUIT: close the connection once the reply is out.
    Close,
}

/// Runs a command the engine routes to the server (`Route::Server`).
pub async fn run(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
) -> (Reply, After) {
    let Some(cmd) = table::server_cmd(spec) else {
        return (
            CmdError::other("ERR command not routable").into(),
            After::Continue,
        );
    };
    let reply = match cmd {
        ServerCmd::Quit => return (Reply::Ok, After::Close),
        ServerCmd::Ping => ping(client, &args),
        ServerCmd::Echo => Ok(Reply::Bulk(args[1].to_vec())),
        ServerCmd::Select => select(shard, client, &args),
        ServerCmd::Auth => auth(shard, client, &args),
        ServerCmd::Hello => hello(shard, client, &args),
        ServerCmd::Reset => {
            client.multi.borrow_mut().take();
            txn::unwatch(shard, client).await;
            Ok(reset(shard, client))
        }
        ServerCmd::Client => client::run(shard, client, &args).await,
        ServerCmd::Info => info::run(shard, client, &args).await,
        ServerCmd::Config => config::run(shard, &args).await,
        ServerCmd::Command => command::run(&args),
        ServerCmd::Time => Ok(time()),
        ServerCmd::LastSave => Ok(Reply::Int((shard.started_ms / 1000) as i64)),
        ServerCmd::Debug => debug(shard, &args).await,
        ServerCmd::Scan => scan(shard, client, spec, args).await,
        ServerCmd::RandomKey => randomkey(shard, client, spec, args).await,
        ServerCmd::Multi => Ok(txn::multi(client)),
        ServerCmd::Exec => Ok(Box::pin(txn::exec(shard, client)).await),
        ServerCmd::Discard => Ok(txn::discard(shard, client).await),
        ServerCmd::Watch => Ok(txn::watch(shard, client, &args).await),
        ServerCmd::Unwatch => Ok(txn::unwatch(shard, client).await),
        ServerCmd::Cluster => crate::commands::cluster::cluster(shard, client, &args).await,
        ServerCmd::ReadOnly | ServerCmd::ReadWrite | ServerCmd::Asking => {
            crate::commands::cluster::connection_flag(client, cmd)
        }
        ServerCmd::Migrate => {
            crate::commands::migrate::run(shard, client, &args, crate::commands::cluster::enabled())
                .await
        }
        ServerCmd::Eval { .. } | ServerCmd::Fcall => {
            Ok(script::eval(shard, client, spec, cmd, args, None).await)
        }
        ServerCmd::Script => Ok(script::script(shard, args).await),
        ServerCmd::Function => Ok(script::function(shard, args).await),
    };
    (reply.unwrap_or_else(Reply::Error), After::Continue)
}

fn ping(client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    let _ = client;
    match args.len() {
        1 => Ok(Reply::Status("PONG".into())),
        2 => Ok(Reply::Bulk(args[1].to_vec())),
        _ => Err(CmdError::WrongArity("ping".into())),
    }
}

fn select(shard: &Shard, client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    let db = parse_i64(&args[1])?;
    if crate::commands::cluster::enabled() && db != 0 {
        return Err(CmdError::NotAllowedWithSelect);
    }
    let dbs = shard.ks.borrow().db_count() as i64;
    if !(0..dbs).contains(&db) {
        return Err(CmdError::DbIndexOutOfRange);
    }
    client.info.borrow_mut().db = db as usize;
    Ok(Reply::Ok)
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Checks a username/password pair against `requirepass` (only user `default` exists).
fn check_password(shard: &Shard, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    let required = shard.settings.borrow().requirepass.clone();
    if user == b"default" && (required.is_empty() || required.as_bytes() == pass) {
        Ok(())
    } else {
        Err(CmdError::other(WRONGPASS))
    }
}

fn auth(shard: &Shard, client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (user, pass): (&[u8], &[u8]) = match args.len() {
        2 => (b"default", &args[1]),
        3 => (&args[1], &args[2]),
        _ => return Err(CmdError::Syntax),
    };
    if args.len() == 2 && shard.settings.borrow().requirepass.is_empty() {
        return Err(CmdError::other(
            "ERR AUTH <password> called without any password configured for the default \
             user. Are you sure your configuration is correct?",
        ));
    }
    check_password(shard, user, pass)?;
    client.info.borrow_mut().authenticated = true;
    Ok(Reply::Ok)
}

fn hello(shard: &Shard, client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    let mut proto = None;
    let mut i = 1;
    if args.len() > 1 {
        let v = parse_i64(&args[1]).map_err(|_| {
            CmdError::other("ERR Protocol version is not an integer or out of range")
        })?;
        if v != 2 && v != 3 {
            return Err(CmdError::other("NOPROTO unsupported protocol version"));
        }
        proto = Some(v as u8);
        i = 2;
    }
    let mut name = None;
    let mut authed = false;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "AUTH") && more >= 2 {
            check_password(shard, &args[i + 1], &args[i + 2])?;
            authed = true;
            i += 3;
        } else if eq_ic(&args[i], "SETNAME") && more >= 1 {
            client::validate_name(&args[i + 1])?;
            name = Some(String::from_utf8_lossy(&args[i + 1]).into_owned());
            i += 2;
        } else {
            return Err(CmdError::other(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    let mut info = client.info.borrow_mut();
    if authed {
        info.authenticated = true;
    }
    if !info.authenticated && !shard.settings.borrow().requirepass.is_empty() {
        return Err(CmdError::other(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
             select the RESP protocol version at the same time",
        ));
    }
    if let Some(p) = proto {
        info.resp = p;
    }
    if let Some(n) = name {
        info.name = n;
    }
    let s = |v: &str| Reply::Bulk(v.as_bytes().to_vec());
    Ok(Reply::Map(vec![
        (s("server"), s("redis")),
        (s("version"), s(REDIS_VERSION)),
        (s("proto"), Reply::Int(info.resp as i64)),
        (s("id"), Reply::Int(info.id as i64)),
        (
            s("mode"),
            s(if crate::commands::cluster::enabled() {
                "cluster"
            } else {
                "standalone"
            }),
        ),
        (s("role"), s("master")),
        (s("modules"), Reply::Array(Vec::new())),
    ]))
}

fn reset(shard: &Shard, client: &ClientHandle) -> Reply {
    let mut info = client.info.borrow_mut();
    info.db = 0;
    info.resp = 2;
    info.name.clear();
    info.no_evict = false;
    info.no_touch = false;
    info.reply = ReplyMode::On;
    info.authenticated = shard.settings.borrow().requirepass.is_empty();
    Reply::Status("RESET".into())
}

pub fn time() -> Reply {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Reply::Array(vec![
        Reply::Bulk(now.as_secs().to_string().into_bytes()),
        Reply::Bulk(now.subsec_micros().to_string().into_bytes()),
    ])
}

async fn debug(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = &args[1];
    if eq_ic(sub, "SLEEP") && args.len() == 3 {
        let secs = parse_f64(&args[2])?;
        if secs > 0.0 {
            crate::runtime::exec::sleep(Duration::from_secs_f64(secs.min(3600.0))).await;
        }
        return Ok(Reply::Ok);
    }
    if eq_ic(sub, "SET-ACTIVE-EXPIRE") && args.len() == 3 {
        let on = parse_i64(&args[2])? != 0;
        shard
            .run_everywhere(|| move |s: &Rc<Shard>| s.settings.borrow_mut().active_expire = on)
            .await;
        return Ok(Reply::Ok);
    }
    if eq_ic(sub, "HELP") {
        return Ok(Reply::Array(
            [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "SLEEP <seconds>",
                "    Stop the connection for <seconds> (decimals allowed).",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Switch active expiry of keys off or on.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Status(l.to_string()))
            .collect(),
        ));
    }
    Err(CmdError::UnknownSubcommand {
        sub: String::from_utf8_lossy(sub).into_owned(),
        cmd: "debug".into(),
    })
}

/// SCAN over all shards: the global cursor is `local_cursor * nshards + shard`. A call
/// walks the shard the cursor names and goes on to the next shards while it has found
/// fewer keys than COUNT, so an empty database answers cursor 0 at once.
async fn scan(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    mut args: Vec<Bytes>,
) -> Result<Reply, CmdError> {
    let cursor =
        keys::parse_cursor(&args[1]).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let count = scan_count(&args);
    let n = shard.nshards as u64;
    let (mut target, mut local) = ((cursor % n) as usize, cursor / n);
    let (db, touch) = client.db_touch();
    let mut found = Vec::new();
    // Bounded: at most one full pass over the shards plus the steps of one shard.
    for _ in 0..(shard.nshards + 64) {
        args[1] = Bytes::from(local.to_string());
        let op = ShardOp::Cmd {
            spec,
            db,
            touch,
            args: args.clone(),
        };
        let reply = shard.call(target, Work::Ops(vec![op])).await.into_reply();
        let Reply::Array(mut parts) = reply else {
            return Ok(reply);
        };
        if let Some(Reply::Array(keys)) = parts.pop() {
            found.extend(keys);
        }
        local = match parts.first() {
            Some(Reply::Bulk(b)) => keys::parse_cursor(b).unwrap_or(0),
            _ => 0,
        };
        if local == 0 {
            target += 1;
            if target == shard.nshards {
                return Ok(scan_reply(0, found));
            }
        }
        if found.len() >= count {
            break;
        }
    }
    Ok(scan_reply(local * n + target as u64, found))
}

/// The COUNT a SCAN asks for (10 when absent or unparsable; shards report bad values).
fn scan_count(args: &[Bytes]) -> usize {
    let mut i = 2;
    while i + 1 < args.len() {
        if eq_ic(&args[i], "COUNT") {
            return parse_i64(&args[i + 1]).map_or(10, |c| c.clamp(1, 1 << 20) as usize);
        }
        i += 2;
    }
    10
}

fn scan_reply(cursor: u64, keys: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(cursor.to_string().into_bytes()),
        Reply::Array(keys),
    ])
}

/// RANDOMKEY: asks shards, starting at a random one, until one has a key.
async fn randomkey(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
) -> Result<Reply, CmdError> {
    let n = shard.nshards;
    let start = (shard.ks.borrow_mut().rand() % n as u64) as usize;
    let db = client.info.borrow().db;
    for i in 0..n {
        let op = ShardOp::Cmd {
            spec,
            db,
            touch: false,
            args: args.clone(),
        };
        match shard
            .call((start + i) % n, Work::Ops(vec![op]))
            .await
            .into_reply()
        {
            Reply::Nil => continue,
            r => return Ok(r),
        }
    }
    Ok(Reply::Nil)
}
