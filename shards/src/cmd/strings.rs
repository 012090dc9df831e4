//! String commands (GET, SET and friends).

use bytes::Bytes;

use super::Ctx;
use crate::error::CmdError;
use crate::reply::Reply;

pub fn get(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn set(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn setnx(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn setex(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn psetex(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn getset(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn getdel(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn getex(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn mget(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn mset(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn msetnx(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn incr(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn decr(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn incrby(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn decrby(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn incrbyfloat(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn append(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn strlen(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn getrange(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn setrange(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn lcs(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn lcs_reply(_a: &[u8], _b: &[u8], _args: &[Bytes]) -> Reply {
    Reply::Nil
}
