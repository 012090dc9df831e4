//! Redis's conversion rules between command replies and Lua values, both ways.

use mlua::{Lua, LuaString, Table, Value};
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
        Reply::Array(items) => array(lua, items.iter(), resp)?,
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
        Reply::Map(pairs) => {
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
