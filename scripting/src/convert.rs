//! Redis's conversion rules between command replies and Lua values, both ways.

use std::ffi::CStr;
use std::os::raw::c_int;

use mlua::{ffi, Lua, LuaString, Table, Value};
use shards::{CmdError, Reply};

use crate::vm::num;

/// Deepest Lua table nesting turned into a reply.
const MAX_DEPTH: usize = 200;

fn lstr(lua: &Lua, b: impl AsRef<[u8]>) -> mlua::Result<Value> {
    Ok(Value::String(lua.create_string(b)?))
}

fn single(lua: &Lua, key: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(key, v)?;
    Ok(Value::Table(t))
}

/// XREAD's RESP2 shape: an array of [key, value] arrays.
fn keyed_as_array(pairs: &[(Reply, Reply)]) -> Reply {
    Reply::Array(
        pairs
            .iter()
            .map(|(k, v)| Reply::Array(vec![k.clone(), v.clone()]))
            .collect(),
    )
}

/// A command's reply as the script sees it under protocol `resp` (2 or 3).
pub(crate) fn reply_to_lua(lua: &Lua, r: &Reply, resp: u8) -> mlua::Result<Value> {
    let resp3 = resp == 3;
    Ok(match r {
        Reply::Ok => single(lua, "ok", lstr(lua, "OK")?)?,
        Reply::Status(s) => single(lua, "ok", lstr(lua, s)?)?,
        Reply::Int(i) => Value::Number(*i as f64),
        Reply::Bulk(b) => lstr(lua, b)?,
        Reply::Nil | Reply::NilArray => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Array(items) | Reply::Push(items) | Reply::Frames(items) => {
            array(lua, items.iter(), resp)?
        }
        Reply::Set(items) => {
            if resp3 {
                let set = lua.create_table()?;
                for it in items {
                    set.raw_set(reply_to_lua(lua, it, resp)?, true)?;
                }
                single(lua, "set", Value::Table(set))?
            } else {
                array(lua, items.iter(), resp)?
            }
        }
        Reply::KeyedArrays(pairs) if !resp3 => reply_to_lua(lua, &keyed_as_array(pairs), resp)?,
        Reply::Map(pairs) | Reply::KeyedArrays(pairs) => {
            if resp3 {
                let map = lua.create_table()?;
                for (k, v) in pairs {
                    map.raw_set(reply_to_lua(lua, k, resp)?, reply_to_lua(lua, v, resp)?)?;
                }
                single(lua, "map", Value::Table(map))?
            } else {
                array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp)?
            }
        }
        Reply::Pairs(pairs) => {
            if resp3 {
                let t = lua.create_table()?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    let pair = lua.create_table()?;
                    pair.raw_set(1, reply_to_lua(lua, k, resp)?)?;
                    pair.raw_set(2, reply_to_lua(lua, v, resp)?)?;
                    t.raw_set(i + 1, pair)?;
                }
                Value::Table(t)
            } else {
                array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp)?
            }
        }
        Reply::Double(d) => {
            if resp3 {
                single(lua, "double", Value::Number(*d))?
            } else {
                lstr(lua, shards::args::format_double(*d))?
            }
        }
        Reply::DoubleText(s) => {
            if resp3 {
                single(lua, "double", Value::Number(s.parse().unwrap_or(0.0)))?
            } else {
                lstr(lua, s)?
            }
        }
        Reply::Bool(b) => {
            if resp3 {
                Value::Boolean(*b)
            } else {
                Value::Number(if *b { 1.0 } else { 0.0 })
            }
        }
        Reply::Verbatim(s) => {
            if resp3 {
                let v = lua.create_table()?;
                v.raw_set("format", "txt")?;
                v.raw_set("string", lua.create_string(s)?)?;
                single(lua, "verbatim_string", Value::Table(v))?
            } else {
                lstr(lua, s)?
            }
        }
        Reply::Error(e) => single(lua, "err", lstr(lua, e.to_string())?)?,
    })
}

fn array<'a>(lua: &Lua, items: impl Iterator<Item = &'a Reply>, resp: u8) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    for (i, it) in items.enumerate() {
        // A RESP3 null leaves a hole, as lua_settable with nil does in Redis.
        t.raw_set(i + 1, reply_to_lua(lua, it, resp)?)?;
    }
    Ok(Value::Table(t))
}

/// Status and error lines cannot hold CR or LF.
fn one_line(s: &[u8]) -> String {
    String::from_utf8_lossy(s)
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// The field names that mark a table as a special reply, made once per Lua state
/// (looking a table up by a Rust `&str` interns the string again every time).
pub(crate) struct ReplyKeys {
    err: LuaString,
    ok: LuaString,
    double: LuaString,
    big_number: LuaString,
    map: LuaString,
    set: LuaString,
    verbatim_string: LuaString,
    string: LuaString,
}

impl ReplyKeys {
    pub(crate) fn new(lua: &Lua) -> mlua::Result<Self> {
        Ok(ReplyKeys {
            err: lua.create_string("err")?,
            ok: lua.create_string("ok")?,
            double: lua.create_string("double")?,
            big_number: lua.create_string("big_number")?,
            map: lua.create_string("map")?,
            set: lua.create_string("set")?,
            verbatim_string: lua.create_string("verbatim_string")?,
            string: lua.create_string("string")?,
        })
    }
}

fn field(t: &Table, name: &LuaString) -> Value {
    t.raw_get(name).unwrap_or(Value::Nil)
}

/// A script's return value as a reply. `resp` is the script's protocol at the end of
/// the run (booleans and nil differ).
pub(crate) fn lua_to_reply(v: &Value, resp: u8, keys: &ReplyKeys) -> Reply {
    to_reply(v, resp, 0, keys)
}

fn to_reply(v: &Value, resp: u8, depth: usize, keys: &ReplyKeys) -> Reply {
    match v {
        Value::String(s) => Reply::Bulk(s.as_bytes().to_vec()),
        Value::Boolean(b) => {
            if resp == 3 {
                Reply::Bool(*b)
            } else if *b {
                Reply::Int(1)
            } else {
                Reply::Nil
            }
        }
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(n) => Reply::Int(c_cast_i64(*n)),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                return Reply::Error(CmdError::other("ERR reached lua stack limit"));
            }
            table_to_reply(t, resp, depth + 1, keys)
        }
        _ => Reply::Nil,
    }
}

/// C's `(long long)` on x86-64: out of range and NaN give `i64::MIN`.
pub(crate) fn c_cast_i64(n: f64) -> i64 {
    if n.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn table_to_reply(t: &Table, resp: u8, depth: usize, keys: &ReplyKeys) -> Reply {
    if let Value::String(s) = field(t, &keys.err) {
        return Reply::Error(CmdError::other(one_line(&s.as_bytes())));
    }
    if let Value::String(s) = field(t, &keys.ok) {
        let line = one_line(&s.as_bytes());
        return if line == "OK" {
            Reply::Ok
        } else {
            Reply::Status(line)
        };
    }
    if let Some(d) = num(&field(t, &keys.double)) {
        return Reply::Double(d);
    }
    if let Value::String(s) = field(t, &keys.big_number) {
        // No big-number reply type: sent as the bulk string RESP2 would carry.
        return Reply::Bulk(s.as_bytes().to_vec());
    }
    if let Value::Table(m) = field(t, &keys.map) {
        let mut pairs = Vec::new();
        for pair in m.pairs::<Value, Value>() {
            let Ok((k, v)) = pair else { break };
            pairs.push((
                to_reply(&k, resp, depth, keys),
                to_reply(&v, resp, depth, keys),
            ));
        }
        return Reply::Map(pairs);
    }
    if let Value::Table(s) = field(t, &keys.set) {
        let mut items = Vec::new();
        for pair in s.pairs::<Value, Value>() {
            let Ok((k, _)) = pair else { break };
            items.push(to_reply(&k, resp, depth, keys));
        }
        return Reply::Set(items);
    }
    if let Value::Table(v) = field(t, &keys.verbatim_string) {
        if let Value::String(s) = field(&v, &keys.string) {
            return Reply::Verbatim(String::from_utf8_lossy(&s.as_bytes()).into_owned());
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
        if matches!(v, Value::Nil) {
            break;
        }
        items.push(to_reply(&v, resp, depth, keys));
    }
    Reply::Array(items)
}

/// [`reply_to_lua`] under RESP2, straight onto `state`'s stack (the fast
/// `redis.call`). Only for a state without a memory cap: nothing here may raise (no
/// allocation can fail, and every key is a constant string). False when the stack
/// cannot grow (nothing usable is pushed then).
///
/// # Safety
///
/// `state` must be a valid Lua state, running on this thread, without a memory cap:
/// the pushes here must not raise, since the caller's frames hold Rust values with
/// destructors (allocation failure aborts the process instead, in mlua's allocator).
pub(crate) unsafe fn push_reply_resp2(state: *mut ffi::lua_State, r: &Reply) -> bool {
    // SAFETY: a valid state (our caller's contract); `lua_checkstack` does not raise
    // without a memory cap.
    if unsafe { ffi::lua_checkstack(state, 4) } == 0 {
        return false;
    }
    // SAFETY: the stack has room for the four values checked above; each arm pushes
    // one value (`push_single` needs three slots at once, `push_seq` one for its
    // table plus what each nested call checks for itself). The pushed strings are
    // copied from live slices and NUL-terminated literals. With no memory cap
    // (our caller's contract) none of these pushes raises.
    unsafe {
        match r {
            Reply::Ok => push_single(state, c"ok", b"OK"),
            Reply::Status(s) => push_single(state, c"ok", s.as_bytes()),
            Reply::Int(i) => ffi::lua_pushnumber(state, *i as f64),
            Reply::Bulk(b) => push_bytes(state, b),
            Reply::Nil | Reply::NilArray => ffi::lua_pushboolean(state, 0),
            Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Frames(items) => {
                return push_seq(state, items.len(), items.iter())
            }
            Reply::KeyedArrays(pairs) => return push_reply_resp2(state, &keyed_as_array(pairs)),
            Reply::Map(pairs) | Reply::Pairs(pairs) => {
                return push_seq(
                    state,
                    pairs.len() * 2,
                    pairs.iter().flat_map(|(k, v)| [k, v]),
                )
            }
            Reply::Double(d) => push_bytes(state, shards::args::format_double(*d).as_bytes()),
            Reply::DoubleText(s) | Reply::Verbatim(s) => push_bytes(state, s.as_bytes()),
            Reply::Bool(b) => ffi::lua_pushnumber(state, if *b { 1.0 } else { 0.0 }),
            Reply::Error(e) => push_single(state, c"err", e.to_string().as_bytes()),
        }
    }
    true
}

unsafe fn push_bytes(state: *mut ffi::lua_State, b: &[u8]) {
    // SAFETY: callers pass a valid state with a free slot; the string is copied from
    // `b.len()` readable bytes.
    unsafe { ffi::lua_pushlstring(state, b.as_ptr().cast(), b.len()) };
}

/// `{[key] = value}`.
///
/// # Safety
///
/// `state` must be a valid Lua state, running on this thread, with three free stack
/// slots. With a memory cap the pushes may raise a memory error, which longjmps over
/// the caller's frames: a caller holding Rust values with destructors must run in a
/// state without a memory cap.
pub(crate) unsafe fn push_single(state: *mut ffi::lua_State, key: &CStr, value: &[u8]) {
    // SAFETY: the caller guarantees the state and the three slots used here (table,
    // key, value; `lua_rawset` pops the last two into the table at -3). `key` is a
    // valid NUL-terminated string and `value` a live slice, both copied by Lua.
    unsafe {
        ffi::lua_createtable(state, 0, 1);
        ffi::lua_pushstring(state, key.as_ptr());
        push_bytes(state, value);
        ffi::lua_rawset(state, -3);
    }
}

unsafe fn push_seq<'a>(
    state: *mut ffi::lua_State,
    len: usize,
    items: impl Iterator<Item = &'a Reply>,
) -> bool {
    // SAFETY: only called from `push_reply_resp2`, under its contract (valid state,
    // no memory cap) and after its `lua_checkstack`, so the table fits; each nested
    // `push_reply_resp2` checks room for its own values and pushes exactly one value
    // on success (popped into the table at -2 by `lua_rawseti_`), nothing on failure
    // (then the table is popped too).
    unsafe {
        ffi::lua_createtable(state, len.min(1 << 20) as c_int, 0);
        for (i, it) in items.enumerate() {
            if !push_reply_resp2(state, it) {
                ffi::lua_pop(state, 1);
                return false;
            }
            ffi::lua_rawseti_(state, -2, i as c_int + 1);
        }
    }
    true
}

/// Stack slots [`stack_to_reply`] expects the field names in, from `base`: the order
/// of [`REPLY_KEY_NAMES`].
pub(crate) const REPLY_KEY_NAMES: [&str; 8] = [
    "err",
    "ok",
    "double",
    "big_number",
    "map",
    "set",
    "verbatim_string",
    "string",
];
const K_ERR: c_int = 0;
const K_OK: c_int = 1;
const K_DOUBLE: c_int = 2;
const K_BIG_NUMBER: c_int = 3;
const K_MAP: c_int = 4;
const K_SET: c_int = 5;
const K_VERBATIM: c_int = 6;

/// [`lua_to_reply`] on the value at absolute index `idx`, with the raw API, for a
/// state without a memory cap (nothing here allocates in Lua, so nothing raises).
/// The field names sit at `keys..keys + 8`. `None` for what it leaves to
/// [`lua_to_reply`]: RESP3 map, set and verbatim tables (read through mlua's `pairs`).
///
/// # Safety
///
/// `state` must be a valid Lua state, running on this thread, without a memory cap
/// (so that nothing here raises over the Rust values being built); `idx` must be a
/// valid absolute index; when the value there is a table, `keys..keys + 8` must hold
/// the strings of [`REPLY_KEY_NAMES`] in order.
pub(crate) unsafe fn stack_to_reply(
    state: *mut ffi::lua_State,
    idx: c_int,
    resp: u8,
    keys: c_int,
    depth: usize,
) -> Option<Reply> {
    // SAFETY: `idx` is a valid index of a valid state (our caller's contract).
    // `stack_bytes` is only reached for a string; `lua_checkstack` guarantees the
    // three slots `stack_table_to_reply` uses at once, and that one gets a table at an
    // absolute index with the names at `keys`. Without a memory cap nothing raises.
    unsafe {
        Some(match ffi::lua_type(state, idx) {
            ffi::LUA_TSTRING => Reply::Bulk(stack_bytes(state, idx).to_vec()),
            ffi::LUA_TBOOLEAN => {
                let b = ffi::lua_toboolean(state, idx) != 0;
                if resp == 3 {
                    Reply::Bool(b)
                } else if b {
                    Reply::Int(1)
                } else {
                    Reply::Nil
                }
            }
            ffi::LUA_TNUMBER => Reply::Int(c_cast_i64(ffi::lua_tonumber(state, idx))),
            ffi::LUA_TTABLE => {
                if depth >= MAX_DEPTH {
                    return Some(Reply::Error(CmdError::other("ERR reached lua stack limit")));
                }
                if ffi::lua_checkstack(state, 3) == 0 {
                    return None;
                }
                return stack_table_to_reply(state, idx, resp, keys, depth + 1);
            }
            _ => Reply::Nil,
        })
    }
}

/// The bytes of the string at `idx`; callers check the value is a string (on a number
/// `lua_tolstring` would convert it in place, on other types return null) and use the
/// slice before that value leaves the stack.
unsafe fn stack_bytes<'a>(state: *mut ffi::lua_State, idx: c_int) -> &'a [u8] {
    // SAFETY: for a string at a valid `idx` (the callers' contract) `lua_tolstring`
    // allocates nothing and returns a non-null pointer to its `len` bytes, owned by
    // the Lua string, which stays alive while it is on the stack; callers copy the
    // bytes before popping it.
    unsafe {
        let mut len = 0usize;
        let p = ffi::lua_tolstring(state, idx, &mut len);
        std::slice::from_raw_parts(p.cast::<u8>(), len)
    }
}

/// Pushes `t[keys[k]]` (raw) and returns its type.
unsafe fn raw_field(state: *mut ffi::lua_State, t: c_int, keys: c_int, k: c_int) -> c_int {
    // SAFETY: callers pass a table at the absolute index `t`, the names at `keys..`
    // (`k` < 8) and one free slot: the key pushed is replaced by the value
    // `lua_rawget` finds, which neither allocates nor calls metamethods.
    unsafe {
        ffi::lua_pushvalue(state, keys + k);
        ffi::lua_rawget(state, t);
        ffi::lua_type(state, -1)
    }
}

unsafe fn stack_table_to_reply(
    state: *mut ffi::lua_State,
    t: c_int,
    resp: u8,
    keys: c_int,
    depth: usize,
) -> Option<Reply> {
    // SAFETY: only called from `stack_to_reply`, under its contract (a valid state
    // without a memory cap, so nothing raises; the names at `keys`), with a table at
    // the absolute index `t` and three free slots (its `lua_checkstack`): the scan in
    // `small_without_string_keys` uses two, `special_reply` and `lua_rawgeti_` one,
    // and each goes back to `top`. `lua_rawgeti_` neither allocates nor calls
    // metamethods; `top + 1` is the absolute index of the element it pushed, handed
    // to `stack_to_reply` with the same state and names.
    unsafe {
        let top = ffi::lua_gettop(state);
        // The special fields are string keys: a small table without one (the usual
        // array reply) skips their seven lookups.
        let reply = if !small_without_string_keys(state, t) {
            special_reply(state, t, keys)?
        } else {
            None
        };
        ffi::lua_settop(state, top);
        if reply.is_some() {
            return reply;
        }
        let mut items = Vec::new();
        for i in 1.. {
            ffi::lua_rawgeti_(state, t, i);
            if ffi::lua_type(state, -1) == ffi::LUA_TNIL {
                ffi::lua_settop(state, top);
                break;
            }
            let item = stack_to_reply(state, top + 1, resp, keys, depth);
            ffi::lua_settop(state, top);
            items.push(item?);
        }
        Some(Reply::Array(items))
    }
}

/// Whether table `t` has at most 8 entries, none with a string key.
unsafe fn small_without_string_keys(state: *mut ffi::lua_State, t: c_int) -> bool {
    // SAFETY: the caller (`stack_table_to_reply`) passes a table at the absolute index
    // `t` and two free slots: the nil, then the key and value `lua_next` pushes in its
    // place. The table is not changed during the traversal, so each key handed back
    // to `lua_next` is one it gave (it cannot raise "invalid key"); nothing here
    // allocates. The stack goes back to `top`.
    unsafe {
        let top = ffi::lua_gettop(state);
        let mut seen = 0;
        let mut small = true;
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            seen += 1;
            if seen > 8 || ffi::lua_type(state, -2) == ffi::LUA_TSTRING {
                small = false;
                break;
            }
            ffi::lua_settop(state, -2);
        }
        ffi::lua_settop(state, top);
        small
    }
}

/// The reply a table's special field makes (`Some(None)`: none; `None`: one left to
/// the mlua converter).
unsafe fn special_reply(
    state: *mut ffi::lua_State,
    t: c_int,
    keys: c_int,
) -> Option<Option<Reply>> {
    // SAFETY: only called from `stack_table_to_reply`, under its contract: a valid
    // state without a memory cap, a table at the absolute index `t`, the names at
    // `keys..keys + 8` and a free slot for the one value `raw_field` pushes, popped
    // back to `top` after each lookup. `stack_bytes` is only called on a value just
    // checked to be a string, and its bytes are copied before the value is popped.
    unsafe {
        let top = ffi::lua_gettop(state);
        let reply = 'special: {
            if raw_field(state, t, keys, K_ERR) == ffi::LUA_TSTRING {
                break 'special Some(Reply::Error(CmdError::other(one_line(stack_bytes(
                    state, -1,
                )))));
            }
            ffi::lua_settop(state, top);
            if raw_field(state, t, keys, K_OK) == ffi::LUA_TSTRING {
                let line = one_line(stack_bytes(state, -1));
                break 'special Some(if line == "OK" {
                    Reply::Ok
                } else {
                    Reply::Status(line)
                });
            }
            ffi::lua_settop(state, top);
            if raw_field(state, t, keys, K_DOUBLE) == ffi::LUA_TNUMBER {
                break 'special Some(Reply::Double(ffi::lua_tonumber(state, -1)));
            }
            ffi::lua_settop(state, top);
            if raw_field(state, t, keys, K_BIG_NUMBER) == ffi::LUA_TSTRING {
                break 'special Some(Reply::Bulk(stack_bytes(state, -1).to_vec()));
            }
            ffi::lua_settop(state, top);
            for k in [K_MAP, K_SET, K_VERBATIM] {
                if raw_field(state, t, keys, k) == ffi::LUA_TTABLE {
                    ffi::lua_settop(state, top);
                    return None;
                }
                ffi::lua_settop(state, top);
            }
            None
        };
        ffi::lua_settop(state, top);
        Some(reply)
    }
}
