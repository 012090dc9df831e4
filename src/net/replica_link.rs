//! The link of a replica to its primary (REPLICAOF host port), Redis 7's replica side:
//! connect, PING, REPLCONF listening-port and capa psync2, then PSYNC with the primary's
//! replication id and offset when this server has them (a partial resync, `+CONTINUE`)
//! or `PSYNC ? -1` (`+FULLRESYNC <replid> <offset>`, then the snapshot as an RDB payload,
//! which replaces every database). Then the stream: its commands run through the router
//! as a client's would (a client without a socket, flagged as the primary's link so the
//! read-only rule lets it write), as the append-only file's replay runs them; REPLCONF
//! GETACK is answered with the offset, and REPLCONF ACK goes out every second. A link
//! that breaks or stays silent for `repl-timeout` (60 s) reconnects after a second and
//! asks for a partial resync.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::base::log;
use crate::base::resp;
use crate::net::router::{Batch, Flow};
use crate::runtime::backlog;
use crate::runtime::clients::ClientHandle;
use crate::runtime::peer::Peer;
use crate::runtime::shard::Shard;
use crate::runtime::upstream::{self, Link};

/// Between acknowledgements, and between connection attempts.
const SECOND: Duration = Duration::from_secs(1);

/// Runs the link of `generation` until a later REPLICAOF replaces it.
pub async fn run(shard: Rc<Shard>, generation: u64) {
    while upstream::current(generation) {
        let Some(up) = upstream::get() else {
            return;
        };
        upstream::update(generation, |u| u.link = Link::Connecting);
        match session(&shard, generation, &up.host, up.port).await {
            Ok(()) => {}
            Err(e) => {
                log::warning(&format!("Replication link to {}:{}: {e}", up.host, up.port));
                // A failover whose target cannot be reached ends: this server stays
                // the primary.
                crate::runtime::handover::finished(false, &e);
            }
        }
        upstream::update(generation, |u| u.link = Link::Connect);
        if upstream::current(generation) {
            crate::runtime::sleep::sleep(SECOND).await;
        }
    }
}

/// `run` boxed, as `commands::replication` starts it.
pub fn run_boxed(
    shard: Rc<Shard>,
    generation: u64,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    Box::pin(run(shard, generation))
}

async fn session(shard: &Rc<Shard>, generation: u64, host: &str, port: u16) -> Result<(), String> {
    log::notice(&format!("Connecting to MASTER {host}:{port}"));
    let mut conn = Peer::connect(
        host,
        port,
        Duration::from_secs(10),
        SECOND,
        upstream::repl_timeout(),
        crate::runtime::tls::replication_client(),
    )
    .await?;
    log::notice("MASTER <-> REPLICA sync started");
    let pong = conn.ask(&[b"PING"]).await?;
    if pong.starts_with('-') && !pong.starts_with("-NOAUTH") {
        return Err(format!("the primary answered PING with {pong}"));
    }
    let masterauth = shard.settings.borrow().masterauth.clone();
    if !masterauth.is_empty() {
        let r = conn.ask(&[b"AUTH", masterauth.as_bytes()]).await?;
        if r.starts_with('-') {
            return Err(format!("unable to AUTH to the primary: {r}"));
        }
    }
    let me = crate::base::config::public_port().to_string();
    conn.ask(&[b"REPLCONF", b"listening-port", me.as_bytes()])
        .await?;
    conn.ask(&[b"REPLCONF", b"capa", b"psync2"]).await?;
    // Its own stream's id and offset (a replica's are its primary's; a former primary
    // offers its own, which the new primary may know as its second id).
    let (replid, from) = if backlog::active() {
        (backlog::replid(), backlog::offset() as i64 + 1)
    } else {
        ("?".to_string(), -1)
    };
    let from = from.to_string();
    let mut psync: Vec<&[u8]> = vec![b"PSYNC", replid.as_bytes(), from.as_bytes()];
    // A primary failing over to this one asks it to take over.
    let failover = crate::runtime::handover::in_progress();
    if failover {
        psync.push(b"FAILOVER");
    }
    let reply = match conn.ask(&psync).await {
        Ok(r) => r,
        Err(e) => {
            if failover {
                crate::runtime::handover::finished(false, "Write error to failover target");
            }
            return Err(e);
        }
    };
    if failover {
        let ok = reply.starts_with("+CONTINUE") || reply.starts_with("+FULLRESYNC");
        crate::runtime::handover::finished(ok, "Failover target rejected psync request");
        if !ok {
            return Err(format!("the failover target answered {reply}"));
        }
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut parts = rest.split(' ');
        let id = parts.next().unwrap_or("?").to_string();
        let at: i64 = parts.next().and_then(|o| o.parse().ok()).unwrap_or(0);
        log::notice(&format!("Full resync from master: {id}:{at}"));
        upstream::update(generation, |u| u.link = Link::Sync);
        let rdb = snapshot(&mut conn).await?;
        log::notice(&format!(
            "MASTER <-> REPLICA sync: Loading DB in memory ({} bytes)",
            rdb.len()
        ));
        let now = shard.ks.borrow().now();
        crate::commands::save::replace_with_file(shard, &rdb, now, true).await?;
        backlog::reset_to(at.max(0) as u64);
        backlog::adopt_replid(&id, false);
        upstream::update(generation, |u| u.offset = at);
        log::notice("MASTER <-> REPLICA sync: Finished with success");
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let id = rest.trim();
        if !id.is_empty() {
            // A primary with a new id (after a failover): ours stays valid as the
            // second one up to here, for our own replicas.
            backlog::adopt_replid(id, true);
        }
        log::notice("Successful partial resynchronization with master.");
    } else {
        return Err(format!("the primary answered PSYNC with {reply}"));
    }
    upstream::update(generation, |u| {
        u.link = Link::Connected;
        u.last_io_ms = shards::clock::system_ms();
    });
    follow_stream(shard, generation, &mut conn).await
}

/// The snapshot after +FULLRESYNC: `$<len>\r\n` and that many bytes.
async fn snapshot(conn: &mut Peer) -> Result<Vec<u8>, String> {
    let header = conn.line(Instant::now() + upstream::repl_timeout()).await?;
    let len: usize = header
        .strip_prefix('$')
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| format!("bad snapshot header {header:?}"))?;
    conn.payload(len, upstream::repl_timeout()).await
}

/// Applies the stream until the link breaks or a later REPLICAOF replaces it.
async fn follow_stream(shard: &Rc<Shard>, generation: u64, conn: &mut Peer) -> Result<(), String> {
    let now = shard.ks.borrow().now();
    let client = shard.clients.borrow_mut().register(-1, None, None, now);
    client.info.borrow_mut().authenticated = true;
    client.master_link.set(true);
    client.trusted.set(true);
    let out = apply(shard, generation, conn, &client).await;
    shard
        .clients
        .borrow_mut()
        .unregister(client.info.borrow().id);
    out
}

async fn apply(
    shard: &Rc<Shard>,
    generation: u64,
    conn: &mut Peer,
    client: &Rc<ClientHandle>,
) -> Result<(), String> {
    let limits = resp::Limits {
        // Whatever the primary accepted (its own limit was checked there).
        proto_max_bulk_len: i64::MAX as usize,
        authenticated: true,
    };
    let mut last_io = Instant::now();
    let mut last_ack = Instant::now();
    while upstream::current(generation) {
        // What is buffered first (the stream may have come with the snapshot).
        let (cmds, err) = resp::take_commands(&mut conn.buf, limits);
        if let Some(e) = err {
            return Err(format!("protocol error from the primary: {}", e.message()));
        }
        if cmds.is_empty() {
            // Everything received is applied: the acknowledgement is current. (Sent
            // before applying what just arrived, it would always lag a primary that
            // PINGs every second, as a failing-over redis-server does.)
            if last_ack.elapsed() >= SECOND {
                let o = backlog::offset().to_string();
                conn.send(&[b"REPLCONF", b"ACK", o.as_bytes()]).await?;
                last_ack = Instant::now();
            }
            if conn.fill().await? {
                last_io = Instant::now();
            } else if last_io.elapsed() > upstream::repl_timeout() {
                return Err("timeout: no data from the primary".into());
            }
            continue;
        }
        // Every byte of the stream goes into this server's backlog verbatim once
        // applied (the offsets stay the primary's; replicas of this one get it as is),
        // and no snapshot cuts in between (`upstream::stream_gate`).
        let gate = upstream::stream_gate().await;
        let mut batch: Vec<Vec<Bytes>> = Vec::new();
        let mut raw: Vec<u8> = Vec::new();
        for cmd in cmds {
            let getack = cmd.len() >= 2
                && cmd[0].eq_ignore_ascii_case(b"replconf")
                && cmd[1].eq_ignore_ascii_case(b"getack");
            if getack {
                // What came before it is applied first; the ack leaves its own bytes out.
                run_batch(shard, client, std::mem::take(&mut batch)).await;
                backlog::feed(&std::mem::take(&mut raw));
                let o = backlog::offset().to_string();
                conn.send(&[b"REPLCONF", b"ACK", o.as_bytes()]).await?;
                last_ack = Instant::now();
                resp::encode_command(&mut raw, &cmd);
            } else {
                resp::encode_command(&mut raw, &cmd);
                if !cmd[0].eq_ignore_ascii_case(b"ping") {
                    batch.push(cmd);
                }
            }
        }
        run_batch(shard, client, batch).await;
        backlog::feed(&raw);
        drop(gate);
        let offset = backlog::offset() as i64;
        upstream::update(generation, |u| {
            u.offset = offset;
            u.last_io_ms = shards::clock::system_ms();
        });
    }
    Ok(())
}

/// Runs commands of the stream as the link's client.
async fn run_batch(shard: &Rc<Shard>, client: &Rc<ClientHandle>, mut batch: Vec<Vec<Bytes>>) {
    while !batch.is_empty() {
        let mut out = Vec::new();
        match Batch::new(shard, client).run(batch, &mut out).await {
            Flow::Pause(more) if !more.is_empty() => batch = more,
            Flow::Block(b) if !b.rest.is_empty() => batch = b.rest,
            _ => break,
        }
    }
}
