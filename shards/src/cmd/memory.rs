//! MEMORY USAGE on the shard that owns the key (the server answers the other MEMORY
//! subcommands, which look at every shard).

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

/// MEMORY USAGE key [SAMPLES count]: the bytes the key and its value take. Redis
/// samples large collections (SAMPLES, default 5); corecache's figure is exact, so the
/// option is checked as Redis checks it and otherwise changes nothing.
pub fn usage(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 2)?;
    let mut i = 3;
    while i < args.len() {
        if eq_ic(&args[i], "SAMPLES") && i + 1 < args.len() {
            if parse_i64(&args[i + 1])? < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(ctx
        .ks
        .usage_of(ctx.db, key)
        .map_or(Reply::Nil, |b| Reply::Int(b as i64)))
}
