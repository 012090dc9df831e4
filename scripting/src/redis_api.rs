//! The `redis` table: `call`/`pcall` (through the engine's per-run command callback),
//! replies helpers, logging, protocol and replication switches, constants.

use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value};

use crate::libs::values;
use crate::vm::{error_table, num, raise, to_bytes, LogLevel, RunCtx};
use crate::vm::{REDIS_VERSION, REDIS_VERSION_NUM};

/// A `redis.*` helper: values, or an error text raised as Redis's error table.
type ApiResult = mlua::Result<Result<MultiValue, String>>;

fn api_fn<F>(lua: &Lua, raise_t: &Table, wrap: &Function, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, Vec<Value>) -> ApiResult + 'static,
{
    let raise_t = raise_t.clone();
    let raw = lua.create_function(move |lua, args: MultiValue| {
        match f(lua, args.into_iter().collect())? {
            Ok(v) => Ok(v),
            Err(text) => raise(&raise_t, error_table(lua, &text)?),
        }
    })?;
    wrap.call(raw)
}

fn add_constants(t: &Table) -> mlua::Result<()> {
    t.raw_set("LOG_DEBUG", LogLevel::Debug as i64)?;
    t.raw_set("LOG_VERBOSE", LogLevel::Verbose as i64)?;
    t.raw_set("LOG_NOTICE", LogLevel::Notice as i64)?;
    t.raw_set("LOG_WARNING", LogLevel::Warning as i64)?;
    t.raw_set("REDIS_VERSION", REDIS_VERSION)?;
    t.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
    Ok(())
}

fn log_fn(lua: &Lua, rt: &Rc<RunCtx>, raise_t: &Table, wrap: &Function) -> mlua::Result<Function> {
    let rt = rt.clone();
    api_fn(lua, raise_t, wrap, move |_, args| {
        if args.len() < 2 {
            return Ok(Err("redis.log() requires two arguments or more.".into()));
        }
        let Some(level) = num(&args[0]).or_else(|| match &args[0] {
            Value::String(s) => crate::libs::lua_str2number(&s.as_bytes()),
            _ => None,
        }) else {
            return Ok(Err("First argument must be a number (log level).".into()));
        };
        let level = match level as i64 {
            0 => LogLevel::Debug,
            1 => LogLevel::Verbose,
            2 => LogLevel::Notice,
            3 => LogLevel::Warning,
            _ => return Ok(Err("Invalid debug level.".into())),
        };
        let mut line = Vec::new();
        for (i, a) in args[1..].iter().enumerate() {
            if let Some(b) = to_bytes(a) {
                if i > 0 {
                    line.push(b' ');
                }
                line.extend_from_slice(&b);
            }
        }
        let sink = rt.log.borrow().clone();
        sink(level, &String::from_utf8_lossy(&line));
        Ok(Ok(values(vec![])))
    })
}

/// The runtime `redis` table (before protection).
pub(crate) fn runtime_table(
    lua: &Lua,
    rt: &Rc<RunCtx>,
    raise_t: &Table,
    wrap: &Function,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add_constants(&t)?;
    t.raw_set("REPL_NONE", 0)?;
    t.raw_set("REPL_AOF", 1)?;
    t.raw_set("REPL_SLAVE", 2)?;
    t.raw_set("REPL_REPLICA", 2)?;
    t.raw_set("REPL_ALL", 3)?;

    t.raw_set(
        "call",
        crate::engine::command_fn(lua, rt, raise_t, wrap, false)?,
    )?;
    t.raw_set(
        "pcall",
        crate::engine::command_fn(lua, rt, raise_t, wrap, true)?,
    )?;

    let f = lua.create_function(|lua, args: MultiValue| {
        let args: Vec<Value> = args.into_iter().collect();
        match args.as_slice() {
            [Value::String(s)] => {
                let s = s.as_bytes();
                let text = if s.first() == Some(&b'-') {
                    String::from_utf8_lossy(&s).into_owned()
                } else {
                    format!("-{}", String::from_utf8_lossy(&s))
                };
                error_table(lua, &text)
            }
            _ => error_table(lua, "wrong number or type of arguments"),
        }
    })?;
    t.raw_set("error_reply", f)?;
    let f = lua.create_function(|lua, args: MultiValue| {
        let args: Vec<Value> = args.into_iter().collect();
        match args.as_slice() {
            [Value::String(s)] => {
                let r = lua.create_table()?;
                r.raw_set("ok", s.clone())?;
                Ok(Value::Table(r))
            }
            _ => error_table(lua, "wrong number or type of arguments"),
        }
    })?;
    t.raw_set("status_reply", f)?;

    t.raw_set(
        "sha1hex",
        api_fn(lua, raise_t, wrap, |lua, args| {
            if args.len() != 1 {
                return Ok(Err("wrong number of arguments".into()));
            }
            let data = to_bytes(&args[0]).unwrap_or_default();
            let hex = crate::sha1_hex(&data);
            Ok(Ok(values(vec![Value::String(lua.create_string(hex)?)])))
        })?,
    )?;
    t.raw_set("log", log_fn(lua, rt, raise_t, wrap)?)?;
    let r = rt.clone();
    t.raw_set(
        "setresp",
        api_fn(lua, raise_t, wrap, move |_, args| {
            if args.len() != 1 {
                return Ok(Err("redis.setresp() requires one argument.".into()));
            }
            match num(&args[0]) {
                Some(v) if v == 2.0 || v == 3.0 => {
                    r.resp.set(v as u8);
                    Ok(Ok(values(vec![])))
                }
                _ => Ok(Err("RESP version must be 2 or 3.".into())),
            }
        })?,
    )?;
    t.raw_set(
        "set_repl",
        api_fn(lua, raise_t, wrap, |_, args| {
            if args.len() != 1 {
                return Ok(Err("redis.set_repl() requires two arguments.".into()));
            }
            match num(&args[0]) {
                Some(v) if v.fract() == 0.0 && (0.0..=3.0).contains(&v) => Ok(Ok(values(vec![]))),
                _ => Ok(Err(
                    "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
                        .into(),
                )),
            }
        })?,
    )?;
    t.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    t.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    t.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    t.raw_set(
        "acl_check_cmd",
        api_fn(lua, raise_t, wrap, |_, args| {
            let Some(name) = args.first() else {
                return Ok(Err(
                    "Please specify at least one argument for this redis lib call".into(),
                ));
            };
            let known = to_bytes(name).and_then(|n| shards::lookup(&n)).is_some();
            if !known {
                return Ok(Err("Invalid command passed to redis.acl_check_cmd()".into()));
            }
            Ok(Ok(values(vec![Value::Boolean(true)])))
        })?,
    )?;
    Ok(t)
}

/// The `redis` table a function library sees while its top-level code runs.
pub(crate) fn load_table(
    lua: &Lua,
    rt: &Rc<RunCtx>,
    raise_t: &Table,
    wrap: &Function,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add_constants(&t)?;
    t.raw_set("log", log_fn(lua, rt, raise_t, wrap)?)?;
    let r = rt.clone();
    t.raw_set(
        "register_function",
        api_fn(lua, raise_t, wrap, move |_, args| {
            crate::functions::register_function(&r, args).map(|res| res.map(|()| values(vec![])))
        })?,
    )?;
    Ok(t)
}
