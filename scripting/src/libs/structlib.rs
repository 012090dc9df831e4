use mlua::Table;

use super::LibCtx;

pub(crate) fn table(ctx: &LibCtx) -> mlua::Result<Table> {
    ctx.lua.create_table()
}
