//! Bitmap commands (SETBIT, BITCOUNT, BITOP, BITFIELD ...).

use bytes::Bytes;

use super::Ctx;
use crate::error::CmdError;
use crate::reply::Reply;

pub fn setbit(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn getbit(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn bitcount(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn bitpos(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn bitop(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn bitfield(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}

pub fn bitfield_ro(_ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Error(CmdError::other("ERR not implemented yet"))
}
