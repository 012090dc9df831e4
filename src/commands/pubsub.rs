//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.
//!
//! A client subscribes on its own shard (`runtime/pubsub.rs`); PUBLISH visits every
//! shard (one message per peer, batched with whatever else goes there in the same
//! loop), each hands the message to its subscribers, and the counts add up to the
//! reply. Messages from one publisher arrive in order: the mailbox to each shard is
//! first in, first out. Confirmations and messages are pushes: arrays in RESP2, `>`
//! in RESP3. In RESP2 a subscribed client may only (un)subscribe, PING, QUIT and RESET.

use std::collections::BTreeSet;
use std::rc::Rc;

use bytes::Bytes;
use shards::glob::glob_match;
use shards::{CmdError, CommandSpec, Reply};

use crate::commands::table::ServerCmd;
use crate::runtime::clients::ClientHandle;
use crate::runtime::pubsub::Kind;
use crate::runtime::shard::Shard;
use crate::runtime::work::WorkDone;
use futures_channel::oneshot;

/// Whether a RESP2 client in subscribed mode may run `spec`; else Redis's error.
pub fn allowed_when_subscribed(client: &ClientHandle, spec: &CommandSpec) -> Result<(), CmdError> {
    // Every command passes here: the common case (not subscribed) is one check.
    if !client.subs.borrow().any() || client.info.borrow().resp >= 3 {
        return Ok(());
    }
    const ALLOWED: &[&str] = &[
        "subscribe",
        "psubscribe",
        "ssubscribe",
        "unsubscribe",
        "punsubscribe",
        "sunsubscribe",
        "ping",
        "quit",
        "reset",
    ];
    if ALLOWED.contains(&spec.name) {
        return Ok(());
    }
    Err(CmdError::other(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        spec.name
    )))
}

/// PING in RESP2 subscribed mode answers `pong` and the message (or "").
pub fn subscribed_ping(client: &ClientHandle, args: &[Bytes]) -> Option<Reply> {
    if client.info.borrow().resp >= 3 || !client.subs.borrow().any() {
        return None;
    }
    let msg = args.get(1).map(|a| a.to_vec()).unwrap_or_default();
    Some(Reply::Array(vec![Reply::bulk(b"pong"), Reply::Bulk(msg)]))
}

pub async fn run(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    cmd: ServerCmd,
    args: Vec<Bytes>,
) -> Result<Reply, CmdError> {
    match cmd {
        ServerCmd::Subscribe => Ok(subscribe(shard, client, Kind::Channel, &args[1..])),
        ServerCmd::PSubscribe => Ok(subscribe(shard, client, Kind::Pattern, &args[1..])),
        ServerCmd::SSubscribe => Ok(subscribe(shard, client, Kind::Shard, &args[1..])),
        ServerCmd::Unsubscribe => Ok(unsubscribe(shard, client, Kind::Channel, &args[1..])),
        ServerCmd::PUnsubscribe => Ok(unsubscribe(shard, client, Kind::Pattern, &args[1..])),
        ServerCmd::SUnsubscribe => Ok(unsubscribe(shard, client, Kind::Shard, &args[1..])),
        ServerCmd::Publish => Ok(Reply::Int(publish(shard, false, &args[1], &args[2]).await)),
        ServerCmd::SPublish => Ok(Reply::Int(publish(shard, true, &args[1], &args[2]).await)),
        _ => pubsub(shard, &args).await,
    }
}

fn verbs(kind: Kind) -> (&'static [u8], &'static [u8]) {
    match kind {
        Kind::Channel => (b"subscribe", b"unsubscribe"),
        Kind::Pattern => (b"psubscribe", b"punsubscribe"),
        Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
    }
}

/// The count a confirmation carries: channels and patterns, or sharded channels.
fn count(client: &ClientHandle, kind: Kind) -> i64 {
    let s = client.subs.borrow();
    match kind {
        Kind::Shard => s.shard.len() as i64,
        _ => (s.channels.len() + s.patterns.len()) as i64,
    }
}

fn set_of(s: &mut crate::runtime::clients::Subscriptions, kind: Kind) -> &mut BTreeSet<Bytes> {
    match kind {
        Kind::Channel => &mut s.channels,
        Kind::Pattern => &mut s.patterns,
        Kind::Shard => &mut s.shard,
    }
}

fn subscribe(shard: &Rc<Shard>, client: &Rc<ClientHandle>, kind: Kind, names: &[Bytes]) -> Reply {
    client.ensure_push_queue();
    let (verb, _) = verbs(kind);
    let mut frames = Vec::with_capacity(names.len());
    for name in names {
        if set_of(&mut client.subs.borrow_mut(), kind).insert(name.clone()) {
            shard.pubsub.borrow_mut().add(kind, name.clone(), client);
        }
        frames.push(Reply::Push(vec![
            Reply::bulk(verb),
            Reply::bulk(name),
            Reply::Int(count(client, kind)),
        ]));
    }
    Reply::Frames(frames)
}

fn unsubscribe(shard: &Rc<Shard>, client: &Rc<ClientHandle>, kind: Kind, names: &[Bytes]) -> Reply {
    let (_, verb) = verbs(kind);
    let names: Vec<Bytes> = if names.is_empty() {
        set_of(&mut client.subs.borrow_mut(), kind)
            .iter()
            .cloned()
            .collect()
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        return Reply::Push(vec![
            Reply::bulk(verb),
            Reply::Nil,
            Reply::Int(count(client, kind)),
        ]);
    }
    let id = client.info.borrow().id;
    let mut frames = Vec::with_capacity(names.len());
    for name in names {
        if set_of(&mut client.subs.borrow_mut(), kind).remove(&name) {
            shard.pubsub.borrow_mut().remove(kind, &name, id);
        }
        frames.push(Reply::Push(vec![
            Reply::bulk(verb),
            Reply::bulk(&name),
            Reply::Int(count(client, kind)),
        ]));
    }
    Reply::Frames(frames)
}

/// Drops every subscription of a client (it left, or RESET).
pub fn forget(shard: &Shard, client: &ClientHandle) {
    let id = client.info.borrow().id;
    let subs = std::mem::take(&mut *client.subs.borrow_mut());
    let mut reg = shard.pubsub.borrow_mut();
    for (kind, set) in [
        (Kind::Channel, subs.channels),
        (Kind::Pattern, subs.patterns),
        (Kind::Shard, subs.shard),
    ] {
        for name in set {
            reg.remove(kind, &name, id);
        }
    }
}

/// Delivers a message on every shard; how many clients received it.
async fn publish(shard: &Rc<Shard>, sharded: bool, channel: &Bytes, message: &Bytes) -> i64 {
    let (local, remote) = shard.publish(sharded, channel, message);
    publish_count(local, remote).await
}

/// PUBLISH's reply: the receivers here and on every other shard.
pub async fn publish_count(local: usize, remote: Vec<oneshot::Receiver<WorkDone>>) -> i64 {
    let mut n = local;
    for rx in remote {
        if let Ok(done) = rx.await {
            n += done.into_answer::<usize>().unwrap_or(0);
        }
    }
    n as i64
}

/// PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB / HELP.
async fn pubsub(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let n = args.len();
    match sub.as_str() {
        "channels" | "shardchannels" if n <= 3 => {
            let kind = if sub == "channels" { Kind::Channel } else { Kind::Shard };
            let pattern = args.get(2).cloned();
            let mut names: Vec<Bytes> = subscribed(shard, kind).await.into_iter().map(|(n, _)| n).collect();
            if let Some(p) = pattern {
                names.retain(|c| glob_match(&p, c));
            }
            Ok(Reply::Array(names.iter().map(Reply::bulk).collect()))
        }
        "numsub" | "shardnumsub" => {
            let kind = if sub == "numsub" { Kind::Channel } else { Kind::Shard };
            let all = subscribed(shard, kind).await;
            let mut out = Vec::with_capacity((n - 2) * 2);
            for ch in &args[2..] {
                let count = all.iter().find(|(c, _)| c == ch).map_or(0, |(_, k)| *k);
                out.push(Reply::bulk(ch));
                out.push(Reply::Int(count as i64));
            }
            Ok(Reply::Array(out))
        }
        "numpat" if n == 2 => Ok(Reply::Int(subscribed(shard, Kind::Pattern).await.len() as i64)),
        "help" if n == 2 => Ok(Reply::Array(
            [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|l| Reply::Status(l.to_string()))
            .collect(),
        )),
        "channels" | "shardchannels" => Err(CmdError::SubcommandSyntax {
            sub: String::from_utf8_lossy(&args[1]).into_owned(),
            cmd: "pubsub".into(),
        }),
        "numpat" | "help" => Err(CmdError::WrongArity(format!("pubsub|{sub}"))),
        _ => Err(CmdError::UnknownSubcommand {
            sub: String::from_utf8_lossy(&args[1]).into_owned(),
            cmd: "pubsub".into(),
        }),
    }
}

/// Every name of `kind` with subscribers on any shard, with their number, sorted.
pub async fn subscribed(shard: &Rc<Shard>, kind: Kind) -> Vec<(Bytes, usize)> {
    let per_shard = shard
        .run_everywhere(|| {
            move |sh: &Rc<Shard>| {
                sh.pubsub
                    .borrow()
                    .names(kind)
                    .map(|(n, k)| (n.clone(), k))
                    .collect::<Vec<_>>()
            }
        })
        .await;
    let mut all: std::collections::BTreeMap<Bytes, usize> = Default::default();
    for (name, k) in per_shard.into_iter().flatten() {
        *all.entry(name).or_default() += k;
    }
    all.into_iter().collect()
}
