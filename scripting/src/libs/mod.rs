//! The libraries Redis embeds next to Lua's own, written in Rust: `cjson`, `cmsgpack`,
//! `bit`, `struct`, and Redis's deterministic `math.random`.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod structlib;

use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value};

use crate::vm::{caller_position, raise, RunCtx};

/// What a library needs to build its functions.
pub(crate) struct LibCtx<'a> {
    pub lua: &'a Lua,
    pub raise: &'a Table,
    pub wrap: &'a Function,
    pub null: &'a Value,
    /// Proxy -> protected table, so encoders see library tables' contents.
    pub real_of: &'a Table,
}

/// The table behind `t` when `t` is a read-only proxy, else `t`.
pub(crate) fn see_through(real_of: Option<&Table>, t: &Table) -> Table {
    real_of
        .and_then(|r| r.raw_get::<Option<Table>>(t.clone()).ok().flatten())
        .unwrap_or_else(|| t.clone())
}

/// Raised by a library function: a string error with the caller's position, as
/// `luaL_error` makes it.
pub(crate) struct LibError(pub String);

impl<T: Into<String>> From<T> for LibError {
    fn from(s: T) -> Self {
        LibError(s.into())
    }
}

pub(crate) type LibResult<T> = Result<T, LibError>;

impl LibCtx<'_> {
    /// A sandboxed function: `f` returns values or a [`LibError`] that is raised as a
    /// string error with the caller's position.
    pub(crate) fn func<F>(&self, f: F) -> mlua::Result<Function>
    where
        F: Fn(&Lua, MultiValue) -> mlua::Result<LibResult<MultiValue>> + 'static,
    {
        let raise_t = self.raise.clone();
        let raw = self
            .lua
            .create_function(move |lua, args: MultiValue| match f(lua, args)? {
                Ok(v) => Ok(v),
                Err(LibError(msg)) => {
                    // Called from C (pcall), luaL_argerror cannot name the function.
                    let (pos, msg) = match caller_position(lua) {
                        Some(pos) => (pos, msg),
                        None => (String::new(), unname(&msg)),
                    };
                    let text = format!("{pos}{msg}");
                    raise(&raise_t, Value::String(lua.create_string(text)?))
                }
            })?;
        self.wrap.call(raw)
    }
}

/// `bad argument #n to 'name' (...)` as Lua words it for an unnamed function.
fn unname(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("bad argument #") {
        if let (Some(open), Some(close)) = (rest.find(" to '"), rest.find("' (")) {
            if open < close {
                return format!(
                    "bad argument #{} to '?'{}",
                    &rest[..open],
                    &rest[close + 1..]
                );
            }
        }
    }
    msg.to_string()
}

/// `luaL_checknumber`: a number, or a string that converts to one.
pub(crate) fn check_number(args: &[Value], i: usize, fname: &str) -> LibResult<f64> {
    let v = args.get(i).unwrap_or(&Value::Nil);
    if let Some(n) = crate::vm::num(v) {
        return Ok(n);
    }
    if let Value::String(s) = v {
        if let Some(n) = lua_str2number(&s.as_bytes()) {
            return Ok(n);
        }
    }
    Err(type_error(i + 1, fname, "number", v))
}

/// `luaL_checkint`: a number truncated to a C int.
pub(crate) fn check_int(args: &[Value], i: usize, fname: &str) -> LibResult<i32> {
    Ok(check_number(args, i, fname)? as i64 as i32)
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

pub(crate) fn type_error(arg: usize, fname: &str, expected: &str, got: &Value) -> LibError {
    let got = if matches!(got, Value::Nil) {
        "no value"
    } else {
        type_name(got)
    };
    LibError(format!(
        "bad argument #{arg} to '{fname}' ({expected} expected, got {got})"
    ))
}

pub(crate) fn arg_error(arg: usize, fname: &str, msg: &str) -> LibError {
    LibError(format!("bad argument #{arg} to '{fname}' ({msg})"))
}

/// Lua 5.1's `luaO_str2d`: `strtod` (hex allowed) with surrounding spaces.
pub(crate) fn lua_str2number(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s)
        .ok()?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return None;
    }
    let (neg, body) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    if body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None; // "inf", "nan" are not Lua numerals
    }
    t.parse::<f64>().ok()
}

pub(crate) fn values(v: Vec<Value>) -> MultiValue {
    MultiValue::from_vec(v)
}

/// Replaces `math.random` / `math.randomseed` with Redis's versions over `lrand48`.
pub(crate) fn install_random(
    lua: &Lua,
    math: &Table,
    rt: &Rc<RunCtx>,
    raise: &Table,
    wrap: &Function,
) -> mlua::Result<()> {
    let null = Value::Nil;
    let real_of = lua.create_table()?;
    let ctx = LibCtx {
        lua,
        raise,
        wrap,
        null: &null,
        real_of: &real_of,
    };
    let r = rt.clone();
    let random = ctx.func(move |_, args| {
        let args: Vec<Value> = args.into_iter().collect();
        const MAX: i64 = i32::MAX as i64;
        let x = (r.rand.next() as i64 % MAX) as f64 / MAX as f64;
        let v = match args.len() {
            0 => x,
            1 => {
                let u = match check_int(&args, 0, "random") {
                    Ok(u) => u,
                    Err(e) => return Ok(Err(e)),
                };
                if u < 1 {
                    return Ok(Err(arg_error(1, "random", "interval is empty")));
                }
                (x * u as f64).floor() + 1.0
            }
            2 => {
                let l = match check_int(&args, 0, "random") {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                let u = match check_int(&args, 1, "random") {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                if l > u {
                    return Ok(Err(arg_error(2, "random", "interval is empty")));
                }
                (x * (u as f64 - l as f64 + 1.0)).floor() + l as f64
            }
            _ => return Ok(Err("wrong number of arguments".into())),
        };
        Ok(Ok(values(vec![Value::Number(v)])))
    })?;
    math.raw_set("random", random)?;
    let r = rt.clone();
    let seed = ctx.func(move |_, args| {
        let args: Vec<Value> = args.into_iter().collect();
        match check_int(&args, 0, "randomseed") {
            Ok(s) => {
                r.rand.seed(s);
                Ok(Ok(values(vec![])))
            }
            Err(e) => Ok(Err(e)),
        }
    })?;
    math.raw_set("randomseed", seed)?;
    Ok(())
}
