//! Connection state: PING, SELECT, AUTH, HELLO, RESET (ECHO and QUIT are one line in
//! the dispatcher), and TIME.

use bytes::Bytes;
use shards::args::{eq_ic, parse_i64};
use shards::{CmdError, Reply};

use super::{client, REDIS_VERSION};
use crate::runtime::clients::{ClientHandle, ReplyMode};
use crate::runtime::shard::Shard;

pub fn ping(client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    let _ = client;
    match args.len() {
        1 => Ok(Reply::Status("PONG".into())),
        2 => Ok(Reply::Bulk(args[1].to_vec())),
        _ => Err(CmdError::WrongArity("ping".into())),
    }
}

pub fn select(shard: &Shard, client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
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

pub fn auth(shard: &Shard, client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    let _ = shard;
    let (user, pass): (&[u8], &[u8]) = match args.len() {
        2 => (b"default", &args[1]),
        3 => (&args[1], &args[2]),
        _ => return Err(CmdError::Syntax),
    };
    let default_nopass = crate::runtime::acl::get("default").is_some_and(|d| d.nopass);
    if args.len() == 2 && default_nopass {
        return Err(CmdError::other(
            "ERR AUTH <password> called without any password configured for the default \
             user. Are you sure your configuration is correct?",
        ));
    }
    crate::commands::acl::login(client, user, pass)?;
    Ok(Reply::Ok)
}

pub fn hello(shard: &Shard, client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
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
            crate::commands::acl::login(client, &args[i + 1], &args[i + 2])?;
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
    let _ = shard;
    if !info.authenticated && !crate::runtime::acl::default_open() {
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

pub fn reset(shard: &Shard, client: &ClientHandle) -> Reply {
    let mut info = client.info.borrow_mut();
    info.db = 0;
    info.resp = 2;
    info.name.clear();
    info.no_evict = false;
    info.no_touch = false;
    info.reply = ReplyMode::On;
    let _ = shard;
    info.authenticated = crate::runtime::acl::default_open();
    drop(info);
    if let Some(d) = crate::runtime::acl::get("default") {
        let open = crate::runtime::acl::default_open();
        client.login(d);
        client.info.borrow_mut().authenticated = open;
    }
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
