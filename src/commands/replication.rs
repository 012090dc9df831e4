//! Replication commands. A replica's side: REPLICAOF / SLAVEOF (the link itself is
//! `net/replica_link.rs`, its state `runtime/upstream.rs`), and ROLE and INFO as a
//! replica. The primary's side, in Redis 7's protocol: REPLCONF, PSYNC and SYNC
//! (full resync: `+FULLRESYNC <replid> <offset>`, the snapshot as an RDB payload, then
//! the stream; partial resync: `+CONTINUE <replid>` and the stream from the backlog),
//! WAIT, ROLE and INFO's replication fields.
//!
//! The stream is the append-only file's (`runtime/backlog.rs`): one ordered stream
//! for the whole process however many shards wrote it, with cross-shard transactions
//! and scripts as MULTI/EXEC blocks, so a redis-server replica applies it as it would
//! its own primary's. A full sync's snapshot and the stream's start are one instant
//! (every shard held, see `save::snapshot_for_replica`).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use shards::args::{eq_ic, parse_i64};
use shards::{CmdError, Reply};

use crate::runtime::backlog;
use crate::runtime::clients::{ClientHandle, ReplyMode};
use crate::runtime::replicas::{self, Replica, State};
use crate::runtime::shard::Shard;
use crate::runtime::upstream;

/// Starts a replica's link (`net::replica_link::run`, given by the server at start-up:
/// the network layer is above this one).
pub type LinkStarter = fn(Rc<Shard>, u64) -> Pin<Box<dyn Future<Output = ()>>>;

static LINK: OnceLock<LinkStarter> = OnceLock::new();

pub fn set_link_starter(f: LinkStarter) {
    let _ = LINK.set(f);
}

/// REPLICAOF host port | NO ONE (and SLAVEOF).
pub fn replicaof(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    if crate::commands::cluster::enabled() {
        return Err(CmdError::other(
            "ERR REPLICAOF not allowed in cluster mode.",
        ));
    }
    if crate::runtime::handover::running() {
        return Err(CmdError::other(
            "ERR REPLICAOF not allowed while failing over.",
        ));
    }
    if eq_ic(&args[1], "no") && eq_ic(&args[2], "one") {
        if let Some(up) = upstream::stop() {
            // A new id from here; the primary's stays valid up to here for its other
            // replicas (they resume from this server partially).
            backlog::shift_replid();
            crate::base::log::notice(&format!(
                "MASTER MODE enabled (user request from '{}'; was a replica of {}:{})",
                client.info.borrow().addr,
                up.host,
                up.port
            ));
        }
        return Ok(Reply::Ok);
    }
    let port = parse_i64(&args[2])
        .ok()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| CmdError::other("ERR Invalid master port"))?;
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if upstream::get().is_some_and(|u| u.host == host && u.port == port) {
        return Ok(Reply::status("OK Already connected to specified master"));
    }
    follow(shard, &host, port);
    crate::base::log::notice(&format!(
        "REPLICAOF {host}:{port} enabled (user request from '{}')",
        client.info.borrow().addr
    ));
    Ok(Reply::Ok)
}

/// Becomes a replica of `host:port` (REPLICAOF, `--replicaof`): the link starts on this
/// shard.
pub fn follow(shard: &Rc<Shard>, host: &str, port: u16) {
    let generation = upstream::follow(host, port);
    if let Some(start) = LINK.get() {
        crate::runtime::exec::spawn(start(shard.clone(), generation));
    }
}

/// REPLCONF listening-port | ip-address | capa | ack | getack | rdb-only ...
pub fn replconf(shard: &Shard, client: &ClientHandle, args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let id = client.info.borrow().id;
    for pair in args[1..].chunks(2) {
        let (opt, value) = (&pair[0], &pair[1]);
        if eq_ic(opt, "ack") {
            // The replica's acknowledgement gets no reply.
            let offset = parse_i64(value)?.max(0) as u64;
            replicas::ack(shard.id, id, offset);
            client.info.borrow_mut().reply = ReplyMode::Skip;
            return Ok(Reply::Ok);
        } else if eq_ic(opt, "getack") {
            // Only a replica answers it; a primary has nothing to say.
            client.info.borrow_mut().reply = ReplyMode::Skip;
            return Ok(Reply::Ok);
        } else if eq_ic(opt, "listening-port") {
            let port = parse_i64(value)?;
            client.repl_port.set(u16::try_from(port).unwrap_or(0));
        } else if eq_ic(opt, "rdb-only") {
            client.repl_rdb_only.set(parse_i64(value)? == 1);
        } else if eq_ic(opt, "ip-address") || eq_ic(opt, "capa") || eq_ic(opt, "rdb-filter-only") {
            // Accepted as Redis does; the stream is the same for every capability.
        } else {
            return Err(CmdError::other(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    Ok(Reply::Ok)
}

/// PSYNC <replid> <offset>, or SYNC (`psync` false): the stream from the backlog when
/// the replica's offset is still there, else a full resync. Everything goes out on the
/// client's push queue, in order; the command's own reply is silent.
pub async fn psync(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let is_psync = eq_ic(&args[0], "psync");
    if replicas::is_replica(shard.id, client.info.borrow().id) {
        return Ok(Reply::Ok);
    }
    // PSYNC <replid> <offset> FAILOVER: our primary hands over (FAILOVER on it).
    if is_psync && args.len() > 3 && eq_ic(&args[3], "failover") {
        if !upstream::is_replica() {
            return Err(CmdError::other(
                "ERR PSYNC FAILOVER can't be sent to a master.",
            ));
        }
        if args[1] != backlog::replid().as_bytes() {
            return Err(CmdError::other(
                "ERR PSYNC FAILOVER replid must match my replid.",
            ));
        }
        upstream::stop();
        backlog::shift_replid();
        crate::base::log::notice(&format!(
            "MASTER MODE enabled (failover request from '{}')",
            client.info.borrow().addr
        ));
    }
    if crate::runtime::handover::running() {
        return Err(CmdError::other(
            "NOMASTERLINK Can't SYNC while failing over",
        ));
    }
    // A replica passes on only a stream it is receiving.
    if upstream::get().is_some_and(|u| u.link != upstream::Link::Connected) {
        return Err(CmdError::other(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    client.ensure_push_queue();
    client.replica.set(true);
    client.info.borrow_mut().reply = ReplyMode::Skip;
    let (ip, id) = {
        let info = client.info.borrow();
        let ip = info
            .addr
            .rsplit_once(':')
            .map_or(info.addr.clone(), |(ip, _)| ip.to_string());
        (ip, info.id)
    };
    let port = client.repl_port.get();
    let limit = shard.settings.borrow().output_limits.replica;
    if is_psync {
        let asked = String::from_utf8_lossy(&args[1]).into_owned();
        let from = parse_i64(&args[2]).unwrap_or(-1);
        if from > 0 && backlog::may_resume(&asked, from as u64 - 1) {
            let start = from as u64 - 1;
            let mut r = Replica::new(shard.id, id, ip, port, start);
            r.state = State::Online;
            replicas::add(r);
            let line = format!("+CONTINUE {}\r\n", backlog::replid());
            replicas::send(client, Bytes::from(line), &limit);
            replicas::count_sync(replicas::Sync::PartialOk);
            crate::base::log::notice(&format!(
                "Partial resynchronization request from {} accepted. Sending {} bytes of \
                 backlog starting from offset {from}.",
                client.info.borrow().addr,
                backlog::offset() - start
            ));
            replicas::pump(shard);
            return Ok(Reply::Ok);
        }
        if asked != "?" {
            replicas::count_sync(replicas::Sync::PartialErr);
        }
    }
    replicas::count_sync(replicas::Sync::Full);
    crate::base::log::notice(&format!(
        "Replica {ip}:{port} asks for synchronization; starting a full resync"
    ));
    // On a task of its own: the connection must go on sending while the snapshot
    // streams through its queue.
    crate::runtime::exec::spawn(full_sync(
        shard.clone(),
        client.clone(),
        (ip, port),
        is_psync,
    ));
    Ok(Reply::Ok)
}

/// A full sync: the snapshot at one instant (the replica registered there, so the
/// stream after it is kept for it), `+FULLRESYNC` (for PSYNC), the payload, then the
/// stream.
async fn full_sync(
    shard: Rc<Shard>,
    client: Rc<ClientHandle>,
    (ip, port): (String, u16),
    is_psync: bool,
) {
    let shard = &shard;
    let client = &client;
    let id = client.info.borrow().id;
    let sh = shard.clone();
    let snapshot = crate::commands::save::snapshot_for_replica(shard, move || {
        let offset = backlog::activate();
        // Registered at the snapshot's instant: the stream after it is kept for it.
        replicas::add(Replica::new(sh.id, id, ip, port, offset));
        offset
    })
    .await;
    let (pieces, checksum, offset) = match snapshot {
        Ok(x) => x,
        Err(e) => {
            crate::base::log::warning(&format!("Replication snapshot failed: {e}"));
            replicas::forget(shard.id, id);
            client.kill();
            return;
        }
    };
    if is_psync {
        let line = format!("+FULLRESYNC {} {offset}\r\n", backlog::replid());
        replicas::send(client, Bytes::from(line), &replicas::UNLIMITED);
    }
    // Straight to the socket, paced by what the connection sent (no file, never whole
    // in memory); not held against the output limit (as in Redis).
    let sent = crate::commands::snapshot::stream_payload(
        pieces,
        checksum,
        || client.push_bytes.get(),
        |chunk| replicas::send(client, Bytes::from(chunk), &replicas::UNLIMITED),
    )
    .await;
    if let Err(e) = sent {
        crate::base::log::warning(&format!("Replication snapshot not sent: {e}"));
        replicas::forget(shard.id, id);
        client.kill();
        return;
    }
    crate::base::log::notice(&format!(
        "Synchronization with replica {}:{} succeeded",
        client.info.borrow().addr,
        port
    ));
    if client.repl_rdb_only.get() {
        replicas::forget(shard.id, id);
    } else {
        replicas::online(shard, client);
    }
}

/// WAIT numreplicas timeout: asks the replicas for their offsets (REPLCONF GETACK in
/// the stream) and waits until `numreplicas` acknowledged every write so far, or the
/// timeout (ms, 0: forever). The number that did.
pub async fn wait(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let want = parse_i64(&args[1])?;
    let timeout = parse_i64(&args[2])
        .map_err(|_| CmdError::other("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::other("ERR timeout is negative"));
    }
    let target = backlog::offset();
    let done = replicas::acked_at_least(target);
    if want <= 0 || done as i64 >= want || replicas::count() == 0 {
        return Ok(Reply::Int(done as i64));
    }
    backlog::feed(&getack());
    replicas::wake(shard);
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    // Acknowledgements land on the replicas' shards: looked at after 50 µs, then at
    // doubling intervals up to 2 ms (an acknowledgement on loopback takes a few
    // hundred µs; a long WAIT costs a check every 2 ms).
    let mut pause = Duration::from_micros(50);
    loop {
        let done = replicas::acked_at_least(target);
        if done as i64 >= want || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Reply::Int(done as i64));
        }
        crate::runtime::sleep::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

/// `REPLCONF GETACK *` as stream bytes.
fn getack() -> Vec<u8> {
    let mut out = Vec::new();
    crate::base::resp::encode_command(&mut out, &[&b"REPLCONF"[..], b"GETACK", b"*"]);
    out
}

/// Replicas online that acknowledged nothing for `repl-timeout` are disconnected, as
/// Redis does (their home shard closes them).
async fn drop_silent_replicas(shard: &Rc<Shard>) {
    let limit = upstream::repl_timeout().as_millis() as u64;
    let now = shards::clock::system_ms();
    let silent: Vec<replicas::Replica> = replicas::list()
        .into_iter()
        .filter(|r| r.state == State::Online && now.saturating_sub(r.acked_ms) > limit)
        .collect();
    for r in silent {
        crate::base::log::warning(&format!(
            "Disconnecting timedout replica (streaming sync): {}:{}",
            r.ip, r.port
        ));
        replicas::forget(r.home, r.client);
        let id = r.client;
        shard
            .run_on(r.home, move |s: &Rc<Shard>| {
                if let Some(c) = s.clients.borrow().get(id) {
                    c.kill();
                }
            })
            .await;
    }
}

/// Once a second on shard 0: the good replicas counted (`min-replicas-to-write`), and
/// every `repl-ping-replica-period` seconds (Redis's 10) a PING in the stream, so
/// replicas see the link alive.
pub async fn ping_loop(shard: Rc<Shard>) {
    let mut tick = 0u64;
    loop {
        crate::runtime::sleep::sleep(Duration::from_secs(1)).await;
        replicas::refresh_good();
        drop_silent_replicas(&shard).await;
        tick += 1;
        if replicas::count() > 0 && tick.is_multiple_of(10) {
            let mut out = Vec::new();
            crate::base::resp::encode_command(&mut out, &[b"PING"]);
            backlog::feed(&out);
            replicas::wake(&shard);
        }
    }
}

/// ROLE: `master`, the offset, and each replica's ip, port and acknowledged offset; or
/// `slave`, the primary's host and port, the link's state and the offset.
pub fn role() -> Reply {
    if let Some(up) = upstream::get() {
        return Reply::Array(vec![
            Reply::Bulk(b"slave".to_vec()),
            Reply::Bulk(up.host.into_bytes()),
            Reply::Int(i64::from(up.port)),
            Reply::Bulk(up.link.name().as_bytes().to_vec()),
            Reply::Int(up.offset),
        ]);
    }
    let replicas = replicas::list()
        .into_iter()
        .filter(|r| r.state == State::Online)
        .map(|r| {
            Reply::Array(vec![
                Reply::Bulk(r.ip.into_bytes()),
                Reply::Bulk(r.port.to_string().into_bytes()),
                Reply::Bulk(r.acked.to_string().into_bytes()),
            ])
        })
        .collect();
    Reply::Array(vec![
        Reply::Bulk(b"master".to_vec()),
        Reply::Int(backlog::offset() as i64),
        Reply::Array(replicas),
    ])
}

/// INFO replication, Redis 7's fields for a primary.
pub fn info_fields(out: &mut String) {
    use std::fmt::Write;
    let list = replicas::list();
    let now = shards::clock::system_ms();
    let up = upstream::get();
    match &up {
        None => {
            let _ = write!(out, "role:master\r\n");
        }
        Some(u) => {
            let up_now = u.link == upstream::Link::Connected;
            let _ = write!(
                out,
                "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n\
                 master_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\n",
                u.host,
                u.port,
                if up_now { "up" } else { "down" },
                if up_now {
                    (now.saturating_sub(u.last_io_ms) / 1000) as i64
                } else {
                    -1
                },
                u8::from(u.link == upstream::Link::Sync),
            );
            if !up_now {
                let _ = write!(
                    out,
                    "master_link_down_since_seconds:{}\r\n",
                    now.saturating_sub(u.last_io_ms) / 1000
                );
            }
            let _ = write!(
                out,
                "slave_read_repl_offset:{0}\r\nslave_repl_offset:{0}\r\nslave_priority:100\r\n\
                 slave_read_only:1\r\nreplica_announced:1\r\n",
                u.offset.max(0)
            );
        }
    }
    let _ = write!(out, "connected_slaves:{}\r\n", list.len());
    for (i, r) in list.iter().enumerate() {
        let _ = write!(
            out,
            "slave{i}:ip={},port={},state={},offset={},lag={}\r\n",
            r.ip,
            r.port,
            r.state.name(),
            r.acked,
            now.saturating_sub(r.acked_ms) / 1000
        );
    }
    let (active, size, first, held) = backlog::figures();
    // A replica's ids and offset are its primary's stream's (its backlog holds it).
    let ids = backlog::ids();
    let _ = write!(
        out,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\n\
         master_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\n\
         repl_backlog_size:{size}\r\nrepl_backlog_first_byte_offset:{}\r\n\
         repl_backlog_histlen:{held}\r\n",
        crate::runtime::handover::state_name(),
        ids.replid,
        ids.replid2,
        backlog::offset(),
        ids.second_offset,
        u8::from(active),
        if active { first } else { 0 },
    );
}
