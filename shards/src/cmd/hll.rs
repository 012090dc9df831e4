//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE).

use bytes::Bytes;

use super::Ctx;
use crate::error::CmdError;
use crate::reply::Reply;

pub fn pfadd(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn pfcount(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn pfmerge(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}
