//! Keyspace commands (DEL, EXPIRE, RENAME, SCAN ...).

use bytes::Bytes;

use super::Ctx;
use crate::error::CmdError;
use crate::reply::Reply;

pub fn del(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn exists(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn touch(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn type_(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn expire(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn pexpire(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn expireat(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn pexpireat(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn ttl(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn pttl(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn expiretime(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn pexpiretime(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn persist(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn rename(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn renamenx(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn copy(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn move_(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn keys(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn scan(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn randomkey(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn dbsize(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn flushdb(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn flushall(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn swapdb(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn object(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn parse_copy_options(
    _args: &[Bytes],
    db: usize,
    _dbs: usize,
) -> crate::error::CmdResult<(usize, bool)> {
    Ok((db, false))
}
