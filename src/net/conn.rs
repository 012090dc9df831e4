//! One client connection: read whatever is there, take every complete command, route
//! the whole batch, write all its replies at once. A blocking command that finds no
//! data parks the connection here until it is served, times out, or the client leaves.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_lite::StreamExt;
use shards::{Reply, ShardId};

use crate::base::resp::{self, Limits};
use crate::coord::cross::attempt;
use crate::coord::spread::single_owner;
use crate::net::router::{Batch, Blocked, Flow};
use crate::net::transport::{Transport, OUTPUT_HIGH};
use crate::runtime::blocking::{found_nothing, BlockEvent, Waiter, WaiterId};
use crate::runtime::clients::{ClientHandle, PushReceiver, Pushed};
use crate::runtime::shard::Shard;
use crate::runtime::work::{Work, WorkDone};

const READ_CHUNK: usize = 16 * 1024;

/// Answers a client over `maxclients` and closes its connection.
pub async fn reject(mut t: Transport) {
    let mut msg = b"-ERR max number of clients reached\r\n".to_vec();
    t.write(&mut msg).await;
    t.close().await;
}

/// Protected mode's answer to a client from outside the loopback interface (Redis's
/// text, its typo included: clients compare it), then the connection closes.
pub async fn deny(mut t: Transport) {
    let mut msg = b"-DENIED Redis is running in protected mode because protected mode is \
        enabled and no password is set for the default user. In this mode connections are \
        only accepted from the loopback interface. If you want to connect from external \
        computers to Redis you may adopt one of the following solutions: 1) Just disable \
        protected mode sending the command 'CONFIG SET protected-mode no' from the loopback \
        interface by connecting to Redis from the same host the server is running, however \
        MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG \
        REWRITE to make this change permanent. 2) Alternatively you can just disable the \
        protected mode by editing the Redis configuration file, and setting the protected \
        mode option to 'no', and then restarting the server. 3) If you started the server \
        manually just for testing, restart it with the '--protected-mode no' option. 4) Setup \
        a an authentication password for the default user. NOTE: You only need to do one \
        of the above things in order for the server to start accepting connections from the \
        outside.\r\n"
        .to_vec();
    t.write(&mut msg).await;
    t.close().await;
}

/// `tcp-keepalive`: probes after `secs` idle seconds, then every third of that, three
/// times (as Redis sets its clients' sockets).
fn keepalive(fd: std::os::fd::RawFd, secs: u64) {
    if secs == 0 || fd < 0 {
        return;
    }
    let set = |level: libc::c_int, name: libc::c_int, value: libc::c_int| {
        // SAFETY: `fd` is this connection's open socket and `value` a live c_int whose
        // size is passed with it; a failure only leaves the option unset.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    };
    let idle = secs.min(i32::MAX as u64) as libc::c_int;
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (idle / 3).max(1));
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
}

/// A connection's buffers.
struct Io {
    t: Transport,
    input: BytesMut,
    out: Vec<u8>,
    /// Input arrived that has not been parsed yet (read while blocked).
    fresh: bool,
    /// Since when its unsent replies are over `client-output-buffer-limit normal`'s
    /// soft limit.
    over_soft_since: Option<Instant>,
}

/// A buffer left larger than this once its bytes are handled is given back (a big
/// command or reply must not keep its memory for the connection's life).
const KEEP_IDLE: usize = 64 * 1024;

impl Io {
    /// Gives back the query and reply buffers' memory when they are empty and grew
    /// large (Redis's query buffer shrinking).
    fn shrink_idle_buffers(&mut self) {
        if self.input.is_empty() && self.input.capacity() > KEEP_IDLE {
            self.input = BytesMut::with_capacity(READ_CHUNK);
        }
        if self.out.is_empty() && self.out.capacity() > KEEP_IDLE {
            self.out = Vec::with_capacity(READ_CHUNK);
        }
    }

    async fn read_more(&mut self) -> usize {
        let n = self.t.read(&mut self.input).await;
        self.fresh = n > 0;
        n
    }

    async fn flush(&mut self, shard: &Shard, client: &ClientHandle) -> bool {
        if self.out.is_empty() {
            return true;
        }
        shard.stats.borrow_mut().net_output_bytes += self.out.len() as u64;
        if self.t.sends_at_once() && crate::runtime::aof::on() {
            // The replies' writes are in the log first (with `always`, on disk).
            shard.aof.borrow_mut().flush();
        }
        let limit = shard.settings.borrow().output_limits.normal;
        if (limit.hard == 0 && limit.soft == 0)
            || client.kind() != crate::runtime::clients::ClientKind::Normal
        {
            return self.t.write(&mut self.out).await;
        }
        // `client-output-buffer-limit normal`: replies piling up for a client that does
        // not read them close it, at once past the hard limit, or after staying over
        // the soft one for its seconds. Until then the client is served as Redis serves
        // it (its replies may pile up past the 1 MiB at which an unlimited client
        // waits), so a limit above that is reached.
        let queued = (self.t.pending() + self.out.len()) as u64;
        let high = match (limit.hard, limit.soft) {
            (0, soft) => soft,
            (hard, _) => hard,
        };
        let high = (high as usize).saturating_add(1).max(OUTPUT_HIGH);
        let over_limit = || {
            crate::base::log::warning(&format!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output \
                 buffer limits.",
                client.info.borrow().id,
                client.info.borrow().addr
            ));
            false
        };
        if limit.hard > 0 && queued > limit.hard {
            return over_limit();
        }
        if limit.soft == 0 || queued <= limit.soft {
            self.over_soft_since = None;
            return self.t.write_up_to(&mut self.out, high).await;
        }
        let since = *self.over_soft_since.get_or_insert_with(Instant::now);
        let left = Duration::from_secs(limit.soft_secs).saturating_sub(since.elapsed());
        if left.is_zero() {
            return over_limit();
        }
        let expired = async {
            crate::runtime::sleep::sleep(left).await;
            None
        };
        let written = futures_lite::future::or(
            async { Some(self.t.write_up_to(&mut self.out, high).await) },
            expired,
        );
        match written.await {
            Some(ok) => ok,
            None => over_limit(),
        }
    }
}

/// Serves one client. `node_port`: accepted on the shard's cluster node port.
pub async fn serve(shard: Rc<Shard>, t: Transport, node_port: bool) {
    keepalive(t.fd(), shard.settings.borrow().tcp_keepalive);
    let now = shards::clock::system_ms();
    let client = shard
        .clients
        .borrow_mut()
        .register(t.fd(), t.peer_addr(), t.local_addr(), now);
    if node_port {
        client.cluster.set(crate::runtime::clients::ClusterFlags {
            node_port,
            ..Default::default()
        });
    }
    shard.stats.borrow_mut().connections += 1;
    let mut io = Io {
        t,
        input: BytesMut::with_capacity(READ_CHUNK),
        out: Vec::with_capacity(READ_CHUNK),
        fresh: false,
        over_soft_since: None,
    };
    run(&shard, &client, &mut io).await;
    crate::commands::pubsub::forget(&shard, &client);
    crate::commands::monitor::stop(&shard, &client);
    crate::runtime::replicas::forget(shard.id, client.info.borrow().id);
    crate::commands::txn::unwatch(&shard, &client).await;
    crate::commands::tracking::forget(&shard, &client).await;
    let id = client.info.borrow().id;
    shard.clients.borrow_mut().unregister(id);
    io.t.close().await;
}

async fn run(shard: &Rc<Shard>, client: &Rc<ClientHandle>, io: &mut Io) {
    // Pub/Sub messages for this client, once it subscribed.
    let mut pushes: Option<PushReceiver> = None;
    loop {
        // Whatever is buffered has been parsed, unless it arrived while blocked.
        if !io.fresh {
            if pushes.is_none() {
                pushes = client.push_rx.borrow_mut().take();
            }
            let n = match pushes.as_mut() {
                Some(rx) => match read_or_push(shard, client, io, rx).await {
                    Some(n) => n,
                    None => return,
                },
                None => {
                    let idle = io.input.is_empty() && answerable_while_busy(shard, client);
                    io.t.set_idle(idle);
                    let timeout = shard.settings.borrow().timeout;
                    let n = if timeout == 0 {
                        io.read_more().await
                    } else {
                        // `timeout`: a client idle that long is closed (Pub/Sub
                        // clients, which wait above, and blocked ones are not).
                        let limit = Duration::from_secs(timeout);
                        let expired = async {
                            crate::runtime::sleep::sleep(limit).await;
                            None
                        };
                        match futures_lite::future::or(
                            async { Some(io.read_more().await) },
                            expired,
                        )
                        .await
                        {
                            Some(n) => n,
                            None => {
                                crate::base::log::verbose("Closing idle client");
                                return;
                            }
                        }
                    };
                    io.t.set_idle(false);
                    n
                }
            };
            if n == 0 || client.killed.get() {
                return;
            }
            shard.stats.borrow_mut().net_input_bytes += n as u64;
        }
        io.fresh = false;
        let (limits, query_limit) = limits(shard, client);
        let (mut cmds, err) = resp::take_commands(&mut io.input, limits);
        let mut close = err.is_some();
        while !cmds.is_empty() {
            match Batch::new(shard, client).run(cmds, &mut io.out).await {
                Flow::Continue => break,
                Flow::Pause(rest) => {
                    if !io.flush(shard, client).await {
                        return;
                    }
                    cmds = rest;
                }
                Flow::Close => {
                    close = true;
                    break;
                }
                Flow::Block(blocked) => {
                    if !io.flush(shard, client).await {
                        return;
                    }
                    let Some(reply) = wait_blocked(shard, client, io, &blocked).await else {
                        return;
                    };
                    if !blocked.silent {
                        resp::encode(&mut io.out, &reply, blocked.proto);
                    }
                    cmds = blocked.rest;
                }
            }
        }
        if let Some(e) = err {
            resp::encode_error_line(&mut io.out, &e.message());
        }
        if io.input.len() > query_limit {
            crate::base::log::warning(&format!(
                "closing client id={}: query buffer over client-query-buffer-limit",
                client.info.borrow().id
            ));
            close = true;
        }
        io.shrink_idle_buffers();
        {
            let mut info = client.info.borrow_mut();
            info.qbuf = io.input.len();
            info.qbuf_cap = io.input.capacity();
        }
        if !io.flush(shard, client).await || close || client.killed.get() {
            return;
        }
    }
}

/// Whether a shard busy in a script may answer this client's commands for it (only
/// SCRIPT KILL, FUNCTION KILL and `-BUSY`): one whose state those replies cannot miss.
fn answerable_while_busy(shard: &Shard, client: &ClientHandle) -> bool {
    let info = client.info.borrow();
    let _ = shard;
    (info.authenticated || crate::runtime::acl::default_open())
        && info.reply == crate::runtime::clients::ReplyMode::On
        && client.multi.borrow().is_none()
        && !client.monitor.get()
}

enum Next {
    Read(usize),
    Push(Option<Pushed>),
}

/// Waits for input while sending this client's Pub/Sub messages as they come; the
/// bytes read, or None when the connection is done.
async fn read_or_push(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    io: &mut Io,
    rx: &mut PushReceiver,
) -> Option<usize> {
    loop {
        let push = async { Next::Push(rx.next().await) };
        let read = async { Next::Read(io.read_more().await) };
        match futures_lite::future::or(push, read).await {
            Next::Read(n) => return Some(n),
            Next::Push(None) => return Some(io.read_more().await),
            Next::Push(Some(first)) => {
                let proto = client.info.borrow().resp;
                let mut next = Some(first);
                while let Some(push) = next {
                    io.out.extend_from_slice(push.bytes(proto));
                    client
                        .push_bytes
                        .set(client.push_bytes.get().saturating_sub(push.size()));
                    next = rx.try_recv().ok();
                }
                if !io.flush(shard, client).await || client.killed.get() {
                    return None;
                }
            }
        }
    }
}

fn limits(shard: &Shard, client: &ClientHandle) -> (Limits, usize) {
    let s = shard.settings.borrow();
    let authenticated = client.info.borrow().authenticated || crate::runtime::acl::default_open();
    (
        Limits {
            proto_max_bulk_len: s.proto_max_bulk_len,
            authenticated,
        },
        s.client_query_buffer_limit,
    )
}

enum Wake {
    Event(Option<BlockEvent>),
    Timeout,
    Read(usize),
    /// CLIENT UNBLOCK (`true`: with an error).
    Unblock(bool),
}

/// Waits for a blocked command's data. Returns its reply, or `None` when the client
/// went away (its waiters are withdrawn first).
async fn wait_blocked(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    io: &mut Io,
    b: &Blocked,
) -> Option<Reply> {
    // The waiter (INFO's blocked_clients) and the unblocker (CLIENT LIST's `b` flag)
    // appear together, before the registration's first await.
    let (who, mut events) = shard.new_waiter();
    let (unblock_tx, mut unblocked) = futures_channel::oneshot::channel::<bool>();
    *client.unblocker.borrow_mut() = Some(unblock_tx);
    let owners = register(shard, who, b).await;
    let deadline = b
        .timeout_ms
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    let touch = !client.info.borrow().no_touch;
    let result = loop {
        let timer = async {
            match deadline {
                Some(d) => {
                    crate::runtime::sleep::sleep(d.saturating_duration_since(Instant::now())).await;
                    Wake::Timeout
                }
                None => std::future::pending().await,
            }
        };
        let event = async {
            futures_lite::future::or(async { Wake::Event(events.next().await) }, async {
                match (&mut unblocked).await {
                    Ok(error) => Wake::Unblock(error),
                    // The sender is gone only once the wait ends.
                    Err(_) => std::future::pending().await,
                }
            })
            .await
        };
        let read = async {
            // Commands sent meanwhile wait in the buffer, as in Redis.
            Wake::Read(io.read_more().await)
        };
        let wake = futures_lite::future::or(event, futures_lite::future::or(timer, read)).await;
        match wake {
            Wake::Event(Some(BlockEvent::Served(reply))) => break Some(reply),
            Wake::Event(Some(BlockEvent::Retry)) => {
                let reply = attempt(shard, b.spec, b.db, touch, b.args.clone()).await;
                if !found_nothing(&reply) {
                    unregister(shard, who, &owners).await;
                    break Some(reply);
                }
            }
            Wake::Event(None) => break None,
            Wake::Timeout | Wake::Unblock(_) => {
                // A shard that already served us says so: then its reply is on its way.
                if unregister(shard, who, &owners).await {
                    break Some(match wake {
                        Wake::Unblock(true) => {
                            shards::CmdError::other("UNBLOCKED client unblocked via CLIENT UNBLOCK")
                                .into()
                        }
                        _ => b.nil.clone(),
                    });
                }
                let served = loop {
                    match events.next().await {
                        Some(BlockEvent::Served(reply)) => break Some(reply),
                        Some(BlockEvent::Retry) => continue,
                        None => break None,
                    }
                };
                break served;
            }
            Wake::Read(0) => {
                unregister(shard, who, &owners).await;
                break None;
            }
            Wake::Read(_) => {
                if client.killed.get() {
                    unregister(shard, who, &owners).await;
                    break None;
                }
            }
        }
    };
    client.unblocker.borrow_mut().take();
    shard.drop_waiter(who);
    result
}

/// Registers a waiter on the shard of each key; returns those shards.
async fn register(shard: &Rc<Shard>, who: WaiterId, b: &Blocked) -> Vec<ShardId> {
    let local = single_owner(shard, b.spec, &b.args).is_some();
    let mut by_shard: Vec<(ShardId, Vec<Bytes>)> = Vec::new();
    for pos in b.spec.key_positions(&b.args) {
        let key = b.args[pos].clone();
        let owner = shard.slots.owner_of_key(&key);
        match by_shard.iter_mut().find(|(s, _)| *s == owner) {
            Some((_, keys)) => keys.push(key),
            None => by_shard.push((owner, vec![key])),
        }
    }
    let mut acks = Vec::new();
    for (owner, keys) in &by_shard {
        let waiter = Waiter {
            who,
            db: b.db,
            spec: b.spec,
            args: b.args.clone(),
            local,
            keys: keys.clone(),
        };
        acks.push(shard.send_or_run(*owner, Work::Block(waiter)));
    }
    for ack in acks {
        ack.await;
    }
    by_shard.into_iter().map(|(s, _)| s).collect()
}

/// Withdraws a waiter everywhere; false if some shard had already served it.
async fn unregister(shard: &Rc<Shard>, who: WaiterId, owners: &[ShardId]) -> bool {
    let mut acks = Vec::new();
    for &owner in owners {
        acks.push(shard.send_or_run(owner, Work::Unblock(who)));
    }
    let mut all_registered = true;
    for ack in acks {
        if let WorkDone::Count(0) = ack.await {
            all_registered = false;
        }
    }
    all_registered
}
