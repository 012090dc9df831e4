//! Set commands (SADD, SINTER, SMOVE ...).

use bytes::Bytes;

use super::Ctx;
use crate::error::CmdError;
use crate::reply::Reply;

pub fn sadd(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn srem(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn scard(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sismember(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn smismember(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn smembers(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn spop(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn srandmember(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn smove(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sinter(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sintercard(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sinterstore(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sunion(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sunionstore(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sdiff(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sdiffstore(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn sscan(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}
