//! One sandboxed Lua state: the protected globals, the `redis` table, the libraries,
//! the error handler and the timeout hook. The engine keeps two, as Redis does: one for
//! EVAL scripts and one for function libraries.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::os::raw::c_int;

use bytes::Bytes;
use mlua::{
    chunk::ChunkMode, ffi, Function, HookTriggers, LightUserData, Lua, LuaOptions, MultiValue,
    StdLib, Table, Value, VmState,
};
use shards::Reply;

use crate::control::ScriptControl;
use crate::libs;
use crate::rand48::Rand48;

/// Instructions between two checks of the clock and of kill requests.
const HOOK_EVERY: u32 = 10_000;

/// How often a busy run lets the server answer other clients (`RunCtx::while_busy`).
const BUSY_POLL_EVERY: Duration = Duration::from_millis(2);
/// How long a function library's top-level code may run (Redis's FUNCTION LOAD limit).
pub(crate) const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

pub const REDIS_VERSION: &str = "7.0.15";
pub const REDIS_VERSION_NUM: i64 = 0x0007_000f;

/// Levels of `redis.log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

pub type LogSink = Rc<dyn Fn(LogLevel, &str)>;

/// Why a run stopped early, whatever the script did after (user `pcall` cannot swallow
/// these: every later hook tick and `redis.call` raises again, and the engine reads
/// this, not the script's return value).
#[derive(Debug, Clone)]
pub(crate) enum Abort {
    Killed,
    NeedKeys(Vec<Bytes>),
    LoadTimeout,
}

impl Abort {
    pub(crate) fn message(&self) -> &'static str {
        match self {
            Abort::Killed => "ERR Script killed by user with SCRIPT KILL...",
            Abort::NeedKeys(_) => "ERR script needs keys this shard cannot reach",
            Abort::LoadTimeout => "ERR FUNCTION LOAD timeout",
        }
    }
}

/// State the hook and the static Lua callbacks share with the engine.
pub(crate) struct RunCtx {
    pub control: Arc<ScriptControl>,
    /// A script or function is running (not a library load).
    pub active: Cell<bool>,
    pub start: Cell<Instant>,
    /// Set while a function library's top-level code runs.
    pub load_deadline: Cell<Option<Instant>>,
    pub abort: RefCell<Option<Abort>>,
    /// The script's protocol (`redis.setresp`), 2 at the start of every run.
    pub resp: Cell<u8>,
    pub rand: Rand48,
    pub log: RefCell<LogSink>,
    /// Functions registered by the library being loaded.
    pub registered: RefCell<Vec<crate::functions::Registered>>,
    /// The run in progress, as `redis.call` / `redis.pcall` reach it (the engine's
    /// per-run call state, type-erased); `None` between runs. Only [`RunCtx::enter`]
    /// sets it, and its guard puts the previous value back, on unwinding too.
    pub current: Cell<Option<NonNull<()>>>,
    /// `redis.call` may take its raw-API path: the state has no memory cap, so
    /// pushing a reply cannot fail (see `engine::command_fn`).
    pub fast_calls: Cell<bool>,
    /// Called from the hook while the run is busy (past the threshold), at most every
    /// [`BUSY_POLL_EVERY`]: the server answers its other clients meanwhile.
    pub while_busy: RefCell<Option<Rc<dyn Fn()>>>,
    pub last_busy_poll: Cell<Instant>,
}

/// While alive, `rt.current` points at the run state it was made with.
pub(crate) struct Entered<'r, 'a> {
    rt: &'r RunCtx,
    prev: Option<NonNull<()>>,
    _run: PhantomData<&'a ()>,
}

impl Drop for Entered<'_, '_> {
    fn drop(&mut self) {
        self.rt.current.set(self.prev);
    }
}

impl RunCtx {
    /// Makes `run` the state `redis.call` reaches until the guard drops. The guard
    /// borrows `run`, so the pointer cannot outlive it.
    pub(crate) fn enter<'r, 'a, T>(&'r self, run: &'a T) -> Entered<'r, 'a> {
        let prev = self.current.replace(Some(NonNull::from(run).cast()));
        Entered {
            rt: self,
            prev,
            _run: PhantomData,
        }
    }

    pub(crate) fn abort_with(&self, a: Abort) -> mlua::Error {
        let msg = a.message();
        *self.abort.borrow_mut() = Some(a);
        mlua::Error::RuntimeError(msg.into())
    }
}

pub(crate) struct Vm {
    pub lua: Lua,
    pub rt: Rc<RunCtx>,
    /// The prelude's list of protected tables (nonempty after a run: scrub them).
    proxies: Table,
    /// The runtime globals behind the protected `_G`.
    pub backing: Table,
    /// Globals while a function library loads.
    pub load_backing: Option<Table>,
    pub reply_keys: crate::convert::ReplyKeys,
    /// Names the raw run path needs, as a sequence: the reply field names
    /// ([`crate::convert::REPLY_KEY_NAMES`]), then `KEYS` and `ARGV`.
    names: Table,
    handler: Function,
    scrub: Function,
    set_backing: Function,
}

/// The C side of sandboxed functions: calls upvalue 1 with the arguments, and raises
/// the error value when it answers with the sentinel (upvalue 2). Being C functions,
/// these keep the caller's frame on tail calls, so errors point at the user's line as
/// Redis's C helpers do.
unsafe extern "C-unwind" fn checked_call(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls this only as the closure `wrap_c` makes, passing its own
    // running state, with upvalue 1 the function to call. A C function starts with
    // LUA_MINSTACK free slots, so the one value pushed fits, and index 1 exists once it
    // is pushed. `finish_checked` then gets what it needs: the function at index 1 and
    // the `n` arguments above it, in a `wrap_c` closure's frame.
    unsafe {
        let n = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        finish_checked(state, n)
    }
}

unsafe fn finish_checked(state: *mut ffi::lua_State, nargs: c_int) -> c_int {
    // SAFETY: the only caller, `checked_call`, passes the running state of a `wrap_c`
    // closure (upvalue 2: the sentinel table) with the function at index 1 and `nargs`
    // arguments above it, as `lua_call` expects. `lua_call` and `lua_error` may raise
    // (longjmp out of this frame): no Rust value with a destructor lives here. The
    // results land from index 1, so indices 1 and 2 exist when `nres >= 2`, and the
    // copy pushed before raising fits: the results were moved down over the called
    // function's slot, into stack space Lua had already grown for the call.
    unsafe {
        ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
        let nres = ffi::lua_gettop(state);
        if nres >= 2 && ffi::lua_rawequal(state, 1, ffi::lua_upvalueindex(2)) != 0 {
            ffi::lua_pushvalue(state, 2);
            ffi::lua_error(state);
        }
        nres
    }
}

/// Wraps a raw Rust function (which returns the sentinel and an error value to raise)
/// into the C closure scripts call.
pub(crate) fn wrap_c(lua: &Lua, raw: Function, raise: &Table) -> mlua::Result<Function> {
    // SAFETY: `exec_raw` pushes `raw` and the sentinel table and runs the closure in a
    // protected call (a memory error in `lua_pushcclosure` becomes `Err`; the closure
    // owns nothing to drop). `lua_pushcclosure` pops exactly those two values as the
    // upvalues `checked_call` reads (1: the function, 2: the sentinel) and leaves the
    // one closure that `exec_raw` returns as the `Function`.
    unsafe {
        lua.exec_raw((raw, raise.clone()), |state| {
            ffi::lua_pushcclosure(state, checked_call, 2);
        })
    }
}

/// Lua's `luaL_where(L, 1)` for a Rust function called through [`wrap_c`]: the
/// caller's (level 2, above the C wrapper) `chunk:line: `; `None` when the caller is
/// a C function (pcall ...) or the sandbox's own code.
pub(crate) fn caller_position(lua: &Lua) -> Option<String> {
    let (what, source, short, line) = lua.inspect_stack(2, |d| {
        let src = d.source();
        (
            src.what,
            src.source.as_deref().unwrap_or("").to_string(),
            src.short_src.as_deref().unwrap_or("").to_string(),
            d.current_line(),
        )
    })?;
    if what == "C" || what == "tail" || source == "=corecache" {
        return None;
    }
    match line {
        Some(l) if l > 0 => Some(format!("{short}:{l}: ")),
        _ => Some(String::new()),
    }
}

/// A Rust callback's result: values, or the sentinel and an error value that the Lua
/// side raises (mlua would raise its own userdata instead of a string or table).
pub(crate) fn raise(raise: &Table, err: Value) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![Value::Table(raise.clone()), err]))
}

/// Redis's `luaPushError`: an error table `{err = "CODE msg"}`; a text without a
/// leading `-` gets the `ERR` code.
pub(crate) fn error_table(lua: &Lua, text: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", normalize_error(text))?;
    Ok(Value::Table(t))
}

pub(crate) fn normalize_error(text: &str) -> String {
    let (code, msg) = match text.strip_prefix('-') {
        Some(rest) => match rest.split_once(' ') {
            Some((code, msg)) => (code.to_string(), msg.to_string()),
            None => ("ERR".to_string(), rest.to_string()),
        },
        None => ("ERR".to_string(), text.to_string()),
    };
    let msg = msg.trim_matches(|c| c == '\r' || c == '\n');
    format!("{code} {msg}")
}

pub(crate) fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// Lua's `lua_tolstring` on a string or number.
pub(crate) fn to_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(crate::numfmt::fmt_g(*n, 14).into_bytes()),
        _ => None,
    }
}

impl Vm {
    pub(crate) fn new(control: Arc<ScriptControl>, functions: bool, log: LogSink) -> Self {
        Self::build(control, functions, log).expect("the Lua sandbox builds")
    }

    fn build(control: Arc<ScriptControl>, functions: bool, log: LogSink) -> mlua::Result<Self> {
        // The debug library is loaded for the error handler only; user code never sees it.
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::OS | StdLib::DEBUG;
        // SAFETY: the unsafe part of `unsafe_new_with` is the `debug` library (no
        // `package`, so no C modules can be loaded). Only the prelude keeps references
        // to it (`debug.getinfo` for the error handler, `debug.getmetatable`); user code
        // runs with the protected globals installed below, which do not include it.
        let lua = unsafe { Lua::unsafe_new_with(libs, LuaOptions::new()) };
        let rt = Rc::new(RunCtx {
            control,
            active: Cell::new(false),
            start: Cell::new(Instant::now()),
            load_deadline: Cell::new(None),
            abort: RefCell::new(None),
            resp: Cell::new(2),
            rand: Rand48::new(),
            log: RefCell::new(log),
            registered: RefCell::new(Vec::new()),
            current: Cell::new(None),
            fast_calls: Cell::new(true),
            while_busy: RefCell::new(None),
            last_busy_poll: Cell::new(Instant::now()),
        });

        let raise_t = lua.create_table()?;
        let internal = lua.create_table()?;
        internal.raw_set("RAISE", raise_t.clone())?;

        lua.load(include_str!("prelude.lua"))
            .set_name("=corecache")
            .call::<()>(internal.clone())?;

        let real_g = lua.globals();
        let protect: Function = internal.raw_get("protect")?;
        let wrap_raise = raise_t.clone();
        let wrap = lua.create_function(move |lua, f: Function| wrap_c(lua, f, &wrap_raise))?;
        let builtins: Table = internal.raw_get("builtins")?;
        let null = Value::LightUserData(LightUserData(std::ptr::null_mut()));

        let backing = lua.create_table()?;
        for name in [
            "assert",
            "collectgarbage",
            "error",
            "gcinfo",
            "getmetatable",
            "ipairs",
            "rawequal",
            "select",
            "tonumber",
            "tostring",
            "type",
            "unpack",
            "xpcall",
            "_VERSION",
        ] {
            backing.raw_set(name, real_g.raw_get::<Value>(name)?)?;
        }
        for name in [
            "rawset",
            "rawget",
            "setmetatable",
            "next",
            "pairs",
            "loadstring",
            "load",
            "pcall",
        ] {
            backing.raw_set(name, builtins.raw_get::<Value>(name)?)?;
        }
        let protect_lib = |t: Table| -> mlua::Result<Table> { protect.call((t, Value::Nil)) };

        // Standard libraries, copied so that the originals stay with the prelude.
        for name in ["string", "table", "coroutine"] {
            let copy = shallow_copy(&lua, &real_g.raw_get::<Table>(name)?)?;
            let p = protect_lib(copy)?;
            backing.raw_set(name, p.clone())?;
            if name == "string" {
                let freeze: Function = internal.raw_get("freeze_string_metatable")?;
                freeze.call::<()>(p)?;
            }
        }
        let math = shallow_copy(&lua, &real_g.raw_get::<Table>("math")?)?;
        libs::install_random(&lua, &math, &rt, &raise_t, &wrap)?;
        backing.raw_set("math", protect_lib(math)?)?;
        let os = lua.create_table()?;
        os.raw_set(
            "clock",
            real_g.raw_get::<Table>("os")?.raw_get::<Value>("clock")?,
        )?;
        backing.raw_set("os", protect_lib(os)?)?;

        let real_of: Table = internal.raw_get("real_of")?;
        let ctx = libs::LibCtx {
            lua: &lua,
            raise: &raise_t,
            wrap: &wrap,
            null: &null,
            real_of: &real_of,
        };
        backing.raw_set("cjson", protect_lib(libs::cjson::table(&ctx)?)?)?;
        backing.raw_set("cmsgpack", protect_lib(libs::cmsgpack::table(&ctx)?)?)?;
        backing.raw_set("bit", protect_lib(libs::bit::table(&ctx)?)?)?;
        backing.raw_set("struct", protect_lib(libs::structlib::table(&ctx)?)?)?;

        let redis = crate::redis_api::runtime_table(&lua, &rt, &raise_t, &wrap)?;
        backing.raw_set("redis", protect_lib(redis)?)?;
        backing.raw_set(
            "__redis__err__handler",
            internal.raw_get::<Value>("handler")?,
        )?;
        let g: Table = internal.raw_get("G")?;
        backing.raw_set("_G", g.clone())?;

        let load_backing = if functions {
            let api = crate::redis_api::load_table(&lua, &rt, &raise_t, &wrap)?;
            let strict: Table = protect.call((api, true))?;
            let t = lua.create_table()?;
            t.raw_set("redis", strict)?;
            Some(t)
        } else {
            None
        };

        let set_backing: Function = internal.raw_get("set_backing")?;
        set_backing.call::<()>(backing.clone())?;
        lua.set_globals(g)?;

        let hook_rt = rt.clone();
        // Global: coroutines inherit the hook and it must fire in them too.
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_lua, _debug| hook(&hook_rt),
        )?;

        let reply_keys = crate::convert::ReplyKeys::new(&lua)?;
        let names = lua.create_sequence_from(
            crate::convert::REPLY_KEY_NAMES
                .into_iter()
                .chain(["KEYS", "ARGV"]),
        )?;
        Ok(Vm {
            handler: internal.raw_get("handler")?,
            scrub: internal.raw_get("scrub")?,
            proxies: internal.raw_get("proxies")?,
            set_backing,
            lua,
            rt,
            backing,
            load_backing,
            reply_keys,
            names,
        })
    }

    /// Runs `f(keys, args)` under the error handler: `Ok(value)` or `Err(error table)`.
    pub(crate) fn run(
        &self,
        f: &Function,
        keys: Value,
        args: Value,
    ) -> mlua::Result<(bool, Value)> {
        // A protected call from C, as Redis makes it: the user function's caller is not
        // a Lua frame (`error(msg, 2)` carries no position) and the handler runs at the
        // point of error.
        let nargs: c_int = if matches!((&keys, &args), (Value::Nil, Value::Nil)) {
            0
        } else {
            2
        };
        let handler = self.handler.clone();
        // SAFETY: `exec_raw` pushes the four values at 1..4 of a fresh C frame (with
        // LUA_MINSTACK free slots) and runs the closure in a protected call; the closure
        // captures only `nargs`, so nothing is skipped if Lua raises. `base` is 1: the
        // handler; the function sits at `base + 1` with `nargs` arguments above it
        // (`keys`, `args` are dropped from the stack when both are nil), as `lua_pcall`
        // expects. `lua_pcall` catches errors and leaves one value at `base + 1`; the
        // boolean pushed then moved into `base` leaves (status, value) for `exec_raw`.
        unsafe {
            self.lua
                .exec_raw::<(bool, Value)>((handler, f.clone(), keys, args), |state| {
                    let base = ffi::lua_gettop(state) - 3;
                    if nargs == 0 {
                        ffi::lua_settop(state, base + 1);
                    }
                    let status = ffi::lua_pcall(state, nargs, 1, base);
                    ffi::lua_pushboolean(state, (status == 0) as c_int);
                    ffi::lua_replace(state, base);
                })
        }
    }

    /// Runs a script or function under the error handler in one trip into Lua:
    /// `keys` and `args` become the `KEYS` / `ARGV` globals for the run
    /// (`as_globals`, EVAL) or the function's two arguments (FCALL); then the
    /// protected tables are checked for raw writes and scrubbed only when one was
    /// made. `Ok(value)` or `Err(error table)`, as [`Vm::run`]; on success the reply
    /// too when the raw converter could make it (the value is nil then).
    pub(crate) fn run_script(
        &self,
        f: &Function,
        keys: &[Bytes],
        args: &[Bytes],
        as_globals: bool,
    ) -> mlua::Result<(bool, Value, Option<Reply>)> {
        let fast = self.rt.fast_calls.get();
        let rt = &*self.rt;
        let mut reply = None;
        let out = &mut reply;
        // SAFETY: only borrowed data is captured, and nothing that can raise runs while
        // the reply is being built: an error raised inside (out of memory, from
        // `push_array` or `lua_rawset` in a state with a memory cap) may skip this
        // closure's frame, and `exec_raw`'s protected call turns it into `Err`.
        // `exec_raw` pushes the five values at 1..5 of a fresh C frame (LUA_MINSTACK
        // free slots); before `lua_checkstack(12)` the closure keeps at most three more
        // (a name, a table and a string in `push_array`; a table, a key and a value in
        // the scan), and after it eight names and at most what `stack_to_reply` checks
        // for itself. Index 5 holds the function, its `nargs` arguments above it and the
        // handler at 4, as `lua_pcall` expects; `backing` (1) is a table for
        // `lua_rawset`, and `proxies` (2) holds only tables (the prelude's list, out of
        // user code's reach), so `lua_next` always gets a table, unchanged during the
        // scan. `stack_to_reply` gets an absolute index and, when the value is a table,
        // the names at 6..13 in `REPLY_KEY_NAMES` order, and it runs only without a
        // memory cap (`fast`), where it cannot raise.
        let (ok, value, dirty) = unsafe {
            self.lua.exec_raw::<(bool, Value, bool)>(
                (&self.backing, &self.proxies, &self.names, &self.handler, f),
                |state| {
                    // 1: backing globals, 2: proxies, 3: names,
                    // 4: handler, 5: the function.
                    let nargs = if as_globals {
                        ffi::lua_rawgeti_(state, 3, KEYS_NAME);
                        push_array(state, keys);
                        ffi::lua_rawset(state, 1);
                        ffi::lua_rawgeti_(state, 3, KEYS_NAME + 1);
                        push_array(state, args);
                        ffi::lua_rawset(state, 1);
                        0
                    } else {
                        push_array(state, keys);
                        push_array(state, args);
                        2
                    };
                    let status = ffi::lua_pcall(state, nargs, 1, 4);
                    // 5: the value or the error table.
                    if as_globals {
                        ffi::lua_rawgeti_(state, 3, KEYS_NAME);
                        ffi::lua_pushnil(state);
                        ffi::lua_rawset(state, 1);
                        ffi::lua_rawgeti_(state, 3, KEYS_NAME + 1);
                        ffi::lua_pushnil(state);
                        ffi::lua_rawset(state, 1);
                    }
                    let mut dirty = false;
                    let n = ffi::lua_objlen(state, 2) as c_int;
                    for i in 1..=n {
                        ffi::lua_rawgeti_(state, 2, i);
                        ffi::lua_pushnil(state);
                        if ffi::lua_next(state, -2) != 0 {
                            dirty = true;
                            ffi::lua_settop(state, 5);
                            break;
                        }
                        ffi::lua_settop(state, 5);
                    }
                    if status == 0 && fast && ffi::lua_checkstack(state, 12) != 0 {
                        if ffi::lua_type(state, 5) == ffi::LUA_TTABLE {
                            let names = crate::convert::REPLY_KEY_NAMES.len() as c_int;
                            for k in 1..=names {
                                ffi::lua_rawgeti_(state, 3, k);
                            }
                        }
                        *out = crate::convert::stack_to_reply(state, 5, rt.resp.get(), 6, 0);
                        ffi::lua_settop(state, 5);
                        if out.is_some() {
                            ffi::lua_pushnil(state);
                            ffi::lua_replace(state, 5);
                        }
                    }
                    ffi::lua_pushboolean(state, (status == 0) as c_int);
                    ffi::lua_replace(state, 1);
                    ffi::lua_replace(state, 2);
                    ffi::lua_pushboolean(state, dirty as c_int);
                    ffi::lua_replace(state, 3);
                    ffi::lua_settop(state, 3);
                },
            )?
        };
        if dirty {
            self.scrub();
        }
        Ok((ok, value, reply))
    }

    /// Caps the state's memory (0: no cap).
    pub(crate) fn set_memory_limit(&self, bytes: usize) {
        let _ = self.lua.set_memory_limit(bytes);
        self.rt.fast_calls.set(bytes == 0);
    }

    /// Removes whatever a run stored into the protected tables (see the prelude).
    pub(crate) fn scrub(&self) {
        let _ = self.scrub.call::<()>(());
    }

    pub(crate) fn use_load_globals(&self, on: bool) -> mlua::Result<()> {
        match (&self.load_backing, on) {
            (Some(t), true) => self.set_backing.call(t.clone()),
            _ => self.set_backing.call(self.backing.clone()),
        }
    }

    /// Compiles user code under `chunk` (`@user_script`, `@user_function`).
    pub(crate) fn compile(&self, code: &[u8], chunk: &str) -> Result<Function, String> {
        if code.first() == Some(&27) {
            return Err(format!("{}: binary chunks are not allowed", &chunk[1..]));
        }
        self.lua
            .load(code)
            .set_name(chunk)
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }
}

/// Where `KEYS` (then `ARGV`) sits in [`Vm`]'s `names`.
const KEYS_NAME: c_int = crate::convert::REPLY_KEY_NAMES.len() as c_int + 1;

/// Pushes a new table holding `items` as strings at 1..n. Raises only on memory
/// errors (nothing to drop here).
unsafe fn push_array(state: *mut ffi::lua_State, items: &[Bytes]) {
    // SAFETY: the caller (`Vm::run_script`) passes a valid state in a protected call
    // with room for two more values: the table and one string at a time, which
    // `lua_rawseti_` pops into the table at -2. `lua_pushlstring` copies `it.len()`
    // bytes from a live slice. A raise (memory error) skips no destructor here.
    unsafe {
        ffi::lua_createtable(state, items.len() as c_int, 0);
        for (i, it) in items.iter().enumerate() {
            ffi::lua_pushlstring(state, it.as_ptr().cast(), it.len());
            ffi::lua_rawseti_(state, -2, i as c_int + 1);
        }
    }
}

fn hook(rt: &RunCtx) -> mlua::Result<VmState> {
    if let Some(a) = rt.abort.borrow().as_ref() {
        return Err(mlua::Error::RuntimeError(a.message().into()));
    }
    if rt.active.get() {
        let control = &rt.control;
        if !control.is_busy()
            && rt.start.get().elapsed() >= Duration::from_millis(control.busy_threshold_ms())
        {
            control.mark_busy();
        }
        if control.is_busy() {
            poll_while_busy(rt);
            if control.kill_requested() {
                return Err(rt.abort_with(Abort::Killed));
            }
        }
    } else if let Some(deadline) = rt.load_deadline.get() {
        if Instant::now() >= deadline {
            return Err(rt.abort_with(Abort::LoadTimeout));
        }
    }
    Ok(VmState::Continue)
}

fn poll_while_busy(rt: &RunCtx) {
    let now = Instant::now();
    if now.duration_since(rt.last_busy_poll.get()) < BUSY_POLL_EVERY {
        return;
    }
    rt.last_busy_poll.set(now);
    let poll = rt.while_busy.borrow().clone();
    if let Some(poll) = poll {
        poll();
    }
}

fn shallow_copy(lua: &Lua, t: &Table) -> mlua::Result<Table> {
    let copy = lua.create_table()?;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        copy.raw_set(k, v)?;
    }
    Ok(copy)
}
