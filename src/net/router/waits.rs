//! The router's commands that wait, or take a path of their own: a blocking command's
//! attempt (and XREAD's `$`), CLIENT PAUSE, keys locked by a transaction, SORT whose
//! patterns name keys on any shard.

use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use shards::cmd::CommandSpec;
use shards::Reply;

use super::{Batch, Blocked, Flow};
use crate::commands::table::{server_cmd, ServerCmd};
use crate::coord::atomic;
use crate::coord::cross::{self, attempt};
use crate::runtime::shard::Shard;
use crate::runtime::{blocking, pause};

/// A blocking XREAD / XREADGROUP's arguments for its attempt and its re-runs: `$`
/// becomes each stream's last ID now (read before the attempt, so an entry added in
/// between is found by the attempt rather than missed), and a read without COUNT gets
/// Redis's 1000 (see `streams::block_args`).
async fn stream_block_args(shard: &Rc<Shard>, db: usize, args: Vec<Bytes>) -> Vec<Bytes> {
    let Ok(r) = shards::cmd::streams::parse_read_args(&args) else {
        return args;
    };
    let xinfo = shards::lookup(b"xinfo").expect("XINFO is in the table");
    let mut last_ids = Vec::with_capacity(r.streams);
    for i in 0..r.streams {
        let mut last = shards::types::stream::StreamId::MIN;
        if r.id_arg(&args, i) == b"$" {
            let key = Bytes::copy_from_slice(r.key(&args, i));
            let ask = vec![
                Bytes::from_static(b"XINFO"),
                Bytes::from_static(b"STREAM"),
                key,
            ];
            if let Reply::Map(fields) = attempt(shard, xinfo, db, false, ask).await {
                let id = fields.iter().find_map(|(k, v)| match (k, v) {
                    (Reply::Bulk(k), Reply::Bulk(v)) if k == b"last-generated-id" => {
                        shards::types::stream::StreamId::parse(v, 0)
                    }
                    _ => None,
                });
                last = id.unwrap_or(last);
            }
        }
        last_ids.push(last);
    }
    shards::cmd::streams::block_args(&args, &last_ids)
}

impl Batch<'_> {
    /// SORT with BY/GET patterns naming keys, which may live on any shard: every shard
    /// is held while it runs on copies (`cross::sort_with_patterns`).
    pub(super) async fn sort_with_patterns(
        &mut self,
        spec: &'static CommandSpec,
        args: Vec<Bytes>,
    ) {
        self.flush().await;
        let (db, touch) = self.db_touch();
        let shard = self.shard;
        let all = (0..shard.nshards).collect();
        let r = atomic::isolated(shard, all, |txn| {
            cross::sort_with_patterns(shard, txn, spec, db, touch, args)
        })
        .await;
        self.reply(r);
    }

    /// CLIENT PAUSE: a command it holds waits (what is queued for other shards is
    /// sent first); the wait does not count as the command's time.
    pub(super) async fn wait_while_paused(&mut self, spec: &'static CommandSpec) {
        let writes = if server_cmd(spec) == Some(ServerCmd::Exec) {
            self.client
                .multi
                .borrow()
                .as_ref()
                .is_some_and(|m| m.queued.iter().any(|(s, _)| pause::may_write(s)))
        } else {
            pause::may_write(spec)
        };
        if pause::holds(writes) {
            self.flush().await;
            pause::wait(writes).await;
            self.measure.restart(Instant::now());
        }
    }

    /// A shard held by a transaction runs nothing else until it is released, and keys a
    /// transaction locked are not touched until then: wait (after sending what is
    /// queued, which may be what the transaction waits for).
    pub(super) async fn wait_for_locks(&mut self, spec: &'static CommandSpec, args: &[Bytes]) {
        let db = self.client.info.borrow().db;
        if self.shard.must_wait(spec, db, args) {
            self.shard.stats.borrow_mut().lock_waits += 1;
            self.flush().await;
            self.shard.wait_turn(spec, db, args).await;
        }
    }

    /// A blocking command: try once; with no data, hand the wait to the connection.
    pub(super) async fn blocking(&mut self, spec: &'static CommandSpec, args: Vec<Bytes>) -> Flow {
        let timeout_ms = match blocking::timeout_of(spec, &args) {
            Ok(t) => t,
            Err(e) => {
                self.reply(e.into());
                return Flow::Continue;
            }
        };
        self.flush().await;
        let (db, touch) = self.db_touch();
        let args = if blocking::is_stream_read(spec) {
            stream_block_args(self.shard, db, args).await
        } else {
            args
        };
        let reply = attempt(self.shard, spec, db, touch, args.clone()).await;
        if !blocking::found_nothing(&reply) {
            self.reply(reply);
            return Flow::Continue;
        }
        let (proto, silent) = self.reply_mode();
        Flow::Block(Box::new(Blocked {
            spec,
            args,
            db,
            timeout_ms,
            // Redis 7.0 answers a timed-out BLMOVE/BRPOPLPUSH with a null array too.
            nil: Reply::NilArray,
            proto,
            silent,
            rest: Vec::new(),
        }))
    }
}
