//! DUMP and RESTORE (and RESTORE-ASKING, the same command for cluster migrations):
//! values travel as RDB payloads (`crate::rdb`), with redis-server 7's options, checks
//! in the same order and the same error texts.

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::evict::access;
use crate::keyspace::Entry;
use crate::rdb;
use crate::reply::Reply;

pub fn dump(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    Ok(match ctx.ks.read(ctx.db, key, ctx.touch) {
        Some(e) => Reply::Bulk(rdb::dump_payload(e.value())),
        None => Reply::Nil,
    })
}

/// RESTORE's options.
#[derive(Debug, Default)]
struct RestoreOpts {
    replace: bool,
    absttl: bool,
    idle_secs: Option<i64>,
    freq: Option<u8>,
}

/// Options from argument 4 on. As in Redis, IDLETIME and FREQ exclude each other (the
/// second one is a syntax error); IDLETIME counts under an LRU policy, FREQ under LFU.
fn parse_restore_opts(args: &[Bytes]) -> CmdResult<RestoreOpts> {
    let mut o = RestoreOpts::default();
    let mut j = 4;
    while j < args.len() {
        let more = args.len() - j - 1;
        let a = &args[j];
        if eq_ic(a, "REPLACE") {
            o.replace = true;
        } else if eq_ic(a, "ABSTTL") {
            o.absttl = true;
        } else if eq_ic(a, "IDLETIME") && more >= 1 && o.freq.is_none() {
            let idle = parse_i64(&args[j + 1])?;
            if idle < 0 {
                return Err(CmdError::other("ERR Invalid IDLETIME value, must be >= 0"));
            }
            o.idle_secs = Some(idle);
            j += 1;
        } else if eq_ic(a, "FREQ") && more >= 1 && o.idle_secs.is_none() {
            let f = parse_i64(&args[j + 1])?;
            if !(0..=255).contains(&f) {
                return Err(CmdError::other(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            o.freq = Some(f as u8);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
pub fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let opts = parse_restore_opts(args)?;
    let key = arg(args, 1)?;
    let db = ctx.db;
    if !opts.replace && ctx.ks.lookup(db, key).is_some() {
        return Err(CmdError::other("BUSYKEY Target key name already exists."));
    }
    let ttl = parse_i64(arg(args, 2)?)?;
    if ttl < 0 {
        return Err(CmdError::other("ERR Invalid TTL value, must be >= 0"));
    }
    let payload = arg(args, 3)?;
    if !rdb::payload_ok(payload) {
        return Err(CmdError::other(
            "ERR DUMP payload version or checksum are wrong",
        ));
    }
    let value = rdb::load_payload(payload, &ctx.ks.config)
        .map_err(|_| CmdError::other("ERR Bad data format"))?;
    if opts.replace {
        ctx.ks.remove(db, key);
    }
    let now = ctx.ks.now();
    let expire_at = match ttl {
        0 => 0,
        t if opts.absttl => t as u64,
        t => now.saturating_add(t as u64),
    };
    // A deadline already past leaves the key deleted, as in Redis.
    if expire_at != 0 && expire_at <= ctx.ks.expiry_now() {
        return Ok(Reply::Ok);
    }
    let access = match (ctx.ks.lfu_if_selected(), opts.freq, opts.idle_secs) {
        (Some(_), Some(f), _) => access::lfu_word(f, now),
        (None, _, Some(idle)) => access::lru_idle_since(now, idle as u64),
        _ => ctx.ks.fresh_access(),
    };
    ctx.ks.put_entry(
        db,
        key,
        Entry {
            value,
            expire_at,
            access,
        },
    );
    Ok(Reply::Ok)
}

#[cfg(test)]
#[path = "tests/dump.rs"]
mod tests;
