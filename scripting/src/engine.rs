//! The engine: the script cache, EVAL/EVALSHA runs, and the machinery every run shares
//! (the `redis.call` path with its checks, the timeout, the reply conversion).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ffi::c_void;
use std::os::raw::c_int;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use mlua::{ffi, Function, LightUserData, Lua, MultiValue, Table, Value};
use shards::cmd::flags::{DENYOOM, NOSCRIPT, WRITE};
use shards::{CmdError, CommandSpec, Reply};

use crate::control::ScriptControl;
use crate::convert::{lua_to_reply, reply_to_lua};
use crate::flags::{parse_eval_shebang, ScriptFlags};
use crate::functions::Library;
use crate::vm::{error_table, raise, Abort, LogLevel, LogSink, RunCtx, Vm};
use crate::{sha1_hex, Host, Outcome, RunOpts};

/// Which script an EVAL-family call runs.
#[derive(Debug, Clone, Copy)]
pub enum ScriptRef<'a> {
    /// EVAL / EVAL_RO: the body (cached as SCRIPT LOAD would).
    Body(&'a [u8]),
    /// EVALSHA / EVALSHA_RO: a SHA-1 in hex, either case.
    Sha(&'a [u8]),
}

pub(crate) struct CachedScript {
    pub body: Vec<u8>,
    pub flags: ScriptFlags,
    pub func: Function,
}

/// One per shard thread. Not `Send`: it owns Lua states.
pub struct Engine {
    pub(crate) control: Arc<ScriptControl>,
    pub(crate) eval_vm: Vm,
    pub(crate) func_vm: Vm,
    pub(crate) scripts: HashMap<String, CachedScript>,
    /// A hash of each cached script's body -> its SHA-1, so that EVAL of a cached
    /// body compares bytes instead of computing SHA-1 again (a hit is confirmed
    /// against the cached body).
    by_body: HashMap<u64, String>,
    pub(crate) libraries: BTreeMap<String, Library>,
    /// Function name -> library name.
    /// Each function's library, by the function's lower-case name.
    pub(crate) functions: HashMap<String, String>,
    pub(crate) log: LogSink,
    pub(crate) memory_limit: usize,
}

/// What one run is and may do.
pub(crate) struct RunSpec<'a> {
    /// SHA-1 of the script or the function's name (for errors and SCRIPT KILL).
    pub name: &'a str,
    pub is_function: bool,
    pub flags: ScriptFlags,
    pub read_only: bool,
    /// The server is over maxmemory (see [`RunOpts::oom`]).
    pub oom: bool,
    pub keys: &'a [Bytes],
}

fn default_log() -> LogSink {
    Rc::new(|level: LogLevel, msg: &str| eprintln!("lua [{level:?}]: {msg}"))
}

/// An error reply; CR and LF become spaces (they cannot travel in an error line).
fn err(msg: impl Into<String>) -> Reply {
    let msg: String = msg
        .into()
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    Reply::Error(CmdError::other(msg))
}

impl Engine {
    pub fn new(control: Arc<ScriptControl>) -> Self {
        let log = default_log();
        Engine {
            eval_vm: Vm::new(control.clone(), false, log.clone()),
            func_vm: Vm::new(control.clone(), true, log.clone()),
            log,
            memory_limit: 0,
            control,
            scripts: HashMap::new(),
            by_body: HashMap::new(),
            libraries: BTreeMap::new(),
            functions: HashMap::new(),
        }
    }

    /// Bytes the EVAL Lua state and the functions Lua state use (INFO's
    /// `used_memory_lua` / `used_memory_vm_functions`).
    pub fn memory_usage(&self) -> (usize, usize) {
        (
            self.eval_vm.lua.used_memory(),
            self.func_vm.lua.used_memory(),
        )
    }

    /// Caps each Lua state's memory (0: no cap, Redis's behaviour). A script that
    /// needs more fails with "not enough memory" instead of growing the process.
    pub fn set_memory_limit(&mut self, bytes: usize) {
        self.memory_limit = bytes;
        self.eval_vm.set_memory_limit(bytes);
        self.func_vm.set_memory_limit(bytes);
    }

    /// The control this engine reports to.
    pub fn control(&self) -> &Arc<ScriptControl> {
        &self.control
    }

    /// What the hook calls every few milliseconds while a run is past the busy
    /// threshold (the server answers its other clients there: SCRIPT KILL, `-BUSY`).
    pub fn set_while_busy(&mut self, poll: impl Fn() + 'static) {
        let poll: Rc<dyn Fn()> = Rc::new(poll);
        *self.eval_vm.rt.while_busy.borrow_mut() = Some(poll.clone());
        *self.func_vm.rt.while_busy.borrow_mut() = Some(poll);
    }

    /// Where `redis.log` lines go (default: standard error).
    pub fn set_log_sink(&mut self, sink: impl Fn(LogLevel, &str) + 'static) {
        let sink: LogSink = Rc::new(sink);
        *self.eval_vm.rt.log.borrow_mut() = sink.clone();
        *self.func_vm.rt.log.borrow_mut() = sink.clone();
        self.log = sink;
    }

    // ----- EVAL family -------------------------------------------------------------

    /// SCRIPT LOAD: compiles and caches `body`; its SHA-1 in lower-case hex.
    pub fn script_load(&mut self, body: &[u8]) -> Result<String, Reply> {
        if let Some(sha) = self.cached_sha(body) {
            return Ok(sha.to_string());
        }
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, shebang_len) = parse_eval_shebang(body)?;
        let func = self
            .eval_vm
            .compile(&body[shebang_len..], "@user_script")
            .map_err(|e| err(format!("ERR Error compiling script (new function): {e}")))?;
        self.by_body.insert(body_hash(body), sha.clone());
        self.scripts.insert(
            sha.clone(),
            CachedScript {
                body: body.to_vec(),
                flags,
                func,
            },
        );
        Ok(sha)
    }

    /// SCRIPT EXISTS for one SHA-1 (either case).
    pub fn script_exists(&self, sha: &[u8]) -> bool {
        self.scripts.contains_key(sha_key(sha).as_ref())
    }

    /// SCRIPT FLUSH: forgets every cached script and starts a fresh Lua state, as
    /// Redis does.
    pub fn script_flush(&mut self) {
        self.scripts.clear();
        self.by_body.clear();
        self.eval_vm = Vm::new(self.control.clone(), false, self.log.clone());
        self.eval_vm.set_memory_limit(self.memory_limit);
    }

    /// A cached script's body.
    pub fn script_body(&self, sha: &[u8]) -> Option<Vec<u8>> {
        self.scripts.get(&lower_sha(sha)).map(|s| s.body.clone())
    }

    /// A cached script's flags (from its shebang; `legacy` without one).
    pub fn script_flags(&self, sha: &[u8]) -> Option<ScriptFlags> {
        self.scripts.get(&lower_sha(sha)).map(|s| s.flags)
    }

    /// Number of cached scripts.
    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    /// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO.
    pub fn eval(
        &mut self,
        script: ScriptRef<'_>,
        keys: &[Bytes],
        args: &[Bytes],
        opts: RunOpts,
        host: &mut dyn Host,
    ) -> Outcome {
        let loaded: String;
        let lowered: Cow<'_, str>;
        let sha: &str = match script {
            ScriptRef::Body(body) => match self.cached_sha(body) {
                Some(sha) => sha,
                None => match self.script_load(body) {
                    Ok(sha) => {
                        loaded = sha;
                        &loaded
                    }
                    Err(e) => return Outcome::Reply(e),
                },
            },
            ScriptRef::Sha(sha) => {
                lowered = sha_key(sha);
                &lowered
            }
        };
        let Some((sha, script)) = self.scripts.get_key_value(sha) else {
            return Outcome::Reply(err("NOSCRIPT No matching script. Please use EVAL."));
        };
        let flags = script.flags;
        if let Some(refused) = crate::pre_run_check(flags, &opts) {
            return Outcome::Reply(refused);
        }
        let spec = RunSpec {
            name: sha,
            is_function: false,
            flags,
            read_only: opts.read_only || flags.no_writes,
            oom: opts.oom,
            keys,
        };
        run(&self.eval_vm, &script.func, args, true, &spec, host)
    }
}

impl Engine {
    /// The SHA-1 of `body` if it is a cached script's body, found without computing
    /// SHA-1 (a hash of the body, confirmed by comparing it with the cached body).
    pub fn cached_sha(&self, body: &[u8]) -> Option<&str> {
        let sha = self.by_body.get(&body_hash(body))?;
        let cached = self.scripts.get(sha)?;
        (cached.body == body).then_some(sha.as_str())
    }
}

fn body_hash(body: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    h.finish()
}

/// A SHA-1 as the script cache's key: lower-case, borrowed when it already is (the
/// usual case).
fn sha_key(sha: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(sha) {
        Ok(s) if !s.bytes().any(|b| b.is_ascii_uppercase()) => Cow::Borrowed(s),
        _ => Cow::Owned(lower_sha(sha)),
    }
}

pub(crate) fn lower_sha(sha: &[u8]) -> String {
    String::from_utf8_lossy(sha).to_ascii_lowercase()
}

/// Why `redis.call` did not run a command.
enum CallError {
    /// A check of the script context failed (`luaPushError` text, no code).
    Script(String),
    /// The run must stop (its effects are the caller's to discard).
    Abort(Abort),
}

/// Per-run state of the `redis.call` path.
struct CallCtx<'a> {
    spec: &'a RunSpec<'a>,
    control: &'a ScriptControl,
    /// Slots the script may touch under the same-slot rule (declared keys' slots, or
    /// the first key touched when none were declared); `None`: no rule.
    slots: Option<Vec<u16>>,
}

/// The run in progress, as the state's `redis.call` / `redis.pcall` reach it through
/// [`RunCtx::current`] (set by [`run`] for the length of the run only).
struct Active<'a> {
    ctx: CallCtx<'a>,
    host: &'a mut dyn Host,
}

/// `redis.call` (`pcall == false`) or `redis.pcall`, made once per Lua state: the
/// per-run context comes from [`RunCtx::current`].
///
/// A C function ([`fast_command`]) reading its arguments and pushing the reply with
/// the raw API; in a state with a memory cap (where a push may fail) or after
/// `redis.setresp(3)` it hands the call to the mlua callback [`command`], which
/// also keeps the `RunCtx` alive as long as the C function's upvalues.
pub(crate) fn command_fn(
    lua: &Lua,
    rt: &Rc<RunCtx>,
    raise_t: &Table,
    wrap: &Function,
    pcall: bool,
) -> mlua::Result<Function> {
    let slow_rt = rt.clone();
    let raise_t = raise_t.clone();
    let raw = lua.create_function(move |lua, args: MultiValue| {
        command(lua, &slow_rt, &raise_t, &args, pcall)
    })?;
    let slow: Function = wrap.call(raw)?;
    let rt_ptr = LightUserData(Rc::as_ptr(rt) as *mut c_void);
    // SAFETY: `exec_raw` pushes the three values and runs the closure in a protected
    // call (the closure owns nothing to drop). `lua_pushcclosure` pops exactly those
    // three as the upvalues `fast_command` reads (1: the `RunCtx` pointer, 2: `pcall`,
    // 3: `slow`) and leaves the one closure `exec_raw` returns. The pointer stays valid
    // as long as the closure can run: `slow` (upvalue 3) owns, through `raw`, a clone
    // of the `Rc` it points into.
    unsafe {
        lua.exec_raw((rt_ptr, pcall, slow), |state| {
            ffi::lua_pushcclosure(state, fast_command, 3);
        })
    }
}

/// What [`fast_command`] does once every Rust value of the call is dropped.
enum Exit {
    /// Return the value on top of the stack.
    Return,
    /// Raise the value on top of the stack.
    Raise,
}

/// Upvalues: 1 the `RunCtx` (light userdata, kept alive by 3), 2 whether this is
/// `pcall`, 3 the mlua-callback version of the same function.
unsafe extern "C-unwind" fn fast_command(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls this only as the closure `command_fn` makes, passing its own
    // running state; upvalue 1 is a light userdata pointing at the `RunCtx`, kept
    // alive by upvalue 3 (see `command_fn`), and the closure only runs on the thread
    // that owns the state. The reference is shared and `RunCtx` is only changed
    // through `Cell`s and `RefCell`s.
    let rt = unsafe { &*(ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)) as *const RunCtx) };
    if !rt.fast_calls.get() || rt.resp.get() != 2 {
        // SAFETY: a C function starts with LUA_MINSTACK free slots, so pushing
        // upvalue 3 (the mlua callback) fits, and inserting it at 1 puts it below the
        // `n` arguments as `lua_call` expects. `lua_call` may raise through this frame,
        // which holds nothing with a destructor.
        unsafe {
            let n = ffi::lua_gettop(state);
            ffi::lua_pushvalue(state, ffi::lua_upvalueindex(3));
            ffi::lua_insert(state, 1);
            ffi::lua_call(state, n, ffi::LUA_MULTRET);
            return ffi::lua_gettop(state);
        }
    }
    // SAFETY: upvalue 2 exists (see `command_fn`); reading it pushes nothing.
    let pcall = unsafe { ffi::lua_toboolean(state, ffi::lua_upvalueindex(2)) } != 0;
    // No Rust value with a destructor lives in this frame past this point: raising
    // unwinds it with longjmp.
    let exit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `state` is the running state of a `command_fn` closure, in a C frame
        // of its own, and `rt` is its live `RunCtx`, as `fast_command_body` requires.
        unsafe { fast_command_body(state, rt, pcall) }
    }))
    .unwrap_or_else(|_| {
        // SAFETY: emptying the frame's stack and pushing one constant C string (a
        // valid NUL-terminated literal) needs one slot of the LUA_MINSTACK this C
        // function got; with no memory cap (the only case this path runs in) the
        // push cannot raise.
        unsafe {
            ffi::lua_settop(state, 0);
            ffi::lua_pushstring(state, c"ERR the command panicked".as_ptr());
        }
        Exit::Raise
    });
    match exit {
        Exit::Return => 1,
        // SAFETY: the error value is on top of the stack; `lua_error` longjmps out of
        // this frame, where nothing with a destructor is left (`exit` is plain data).
        Exit::Raise => unsafe { ffi::lua_error(state) },
    }
}

unsafe fn fast_command_body(state: *mut ffi::lua_State, rt: &RunCtx, pcall: bool) -> Exit {
    let raise_text = |text: &str| {
        // SAFETY: `state` is the running state of `fast_command`'s C frame (our
        // caller's contract); after emptying it, one string fits in its LUA_MINSTACK
        // slots, copied from a live `&str`. No memory cap (checked by
        // `fast_command`), so the push cannot raise.
        unsafe {
            ffi::lua_settop(state, 0);
            ffi::lua_pushlstring(state, text.as_ptr().cast(), text.len());
        }
        Exit::Raise
    };
    if let Some(a) = rt.abort.borrow().as_ref() {
        return raise_text(a.message());
    }
    let Some(current) = rt.current.get() else {
        return raise_text(NOT_IN_RUN);
    };
    // SAFETY: as in `command`: only `RunCtx::enter` (in `run`) sets `current`, to a
    // `RefCell<Active>` that outlives the guard which puts the previous value back.
    let active = unsafe { current.cast::<RefCell<Active<'_>>>().as_ref() };
    let outcome = {
        let Ok(mut guard) = active.try_borrow_mut() else {
            return raise_text(REENTERED);
        };
        let Active { ctx, host } = &mut *guard;
        // SAFETY: `state` is the running state of `fast_command`'s frame, whose stack
        // holds only the call's arguments.
        match unsafe { stack_args(state) } {
            Ok(argv) => ctx.check_and_run(&mut **host, argv),
            Err(e) => Err(e),
        }
    };
    // SAFETY: emptying the running frame's stack (this function ends by leaving at
    // most the one value it returns or raises there).
    unsafe { ffi::lua_settop(state, 0) };
    match outcome {
        Ok(reply) => {
            // SAFETY: `state` is a valid state in a running C frame without a memory
            // cap (`fast_command` checked `fast_calls`), as `push_reply_resp2` needs.
            if !unsafe { crate::convert::push_reply_resp2(state, &reply) } {
                return raise_text("ERR reply too deeply nested for the Lua stack");
            }
            if reply.is_error() && !pcall {
                Exit::Raise
            } else {
                Exit::Return
            }
        }
        Err(CallError::Script(text)) => {
            let msg = crate::vm::normalize_error(&text);
            // SAFETY: the stack was emptied above, so the three slots `push_single`
            // uses fit in the frame's LUA_MINSTACK; no memory cap, so nothing raises
            // while `msg` is alive.
            unsafe { crate::convert::push_single(state, c"err", msg.as_bytes()) };
            if pcall {
                Exit::Return
            } else {
                Exit::Raise
            }
        }
        Err(CallError::Abort(a)) => {
            let msg = a.message();
            let _ = rt.abort_with(a);
            raise_text(msg)
        }
    }
}

/// The call's arguments as command arguments (strings, numbers as `%.17g`).
unsafe fn stack_args(state: *mut ffi::lua_State) -> Result<Vec<Bytes>, CallError> {
    // SAFETY: the caller passes a valid state whose stack holds the call's arguments.
    let n = unsafe { ffi::lua_gettop(state) };
    if n == 0 {
        return Err(no_args());
    }
    let mut argv = Vec::with_capacity(n as usize);
    for i in 1..=n {
        // SAFETY: `i` is in 1..=top, a valid index; none of these calls allocate or
        // raise (`lua_tolstring` is only used on strings, where it converts nothing),
        // so `argv` is never skipped by a longjmp. For a string `lua_tolstring`
        // returns a non-null pointer to its `len` bytes, owned by the string, which
        // stays on the stack while they are copied.
        let b = unsafe {
            match ffi::lua_type(state, i) {
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(state, i, &mut len);
                    Bytes::copy_from_slice(std::slice::from_raw_parts(p.cast::<u8>(), len))
                }
                ffi::LUA_TNUMBER => {
                    Bytes::from(shards::args::format_double(ffi::lua_tonumber(state, i)))
                }
                _ => return Err(bad_arg()),
            }
        };
        argv.push(b);
    }
    Ok(argv)
}

fn no_args() -> CallError {
    CallError::Script("Please specify at least one argument for this redis lib call".into())
}

fn bad_arg() -> CallError {
    CallError::Script("Lua redis lib command arguments must be strings or integers".into())
}

const NOT_IN_RUN: &str = "redis.call is only available while a script runs";
const REENTERED: &str = "redis.call cannot be re-entered";

fn command(
    lua: &Lua,
    rt: &RunCtx,
    raise_t: &Table,
    args: &MultiValue,
    pcall: bool,
) -> mlua::Result<MultiValue> {
    if let Some(a) = rt.abort.borrow().as_ref() {
        return Err(mlua::Error::RuntimeError(a.message().into()));
    }
    let Some(current) = rt.current.get() else {
        return Err(mlua::Error::RuntimeError(NOT_IN_RUN.into()));
    };
    // SAFETY: only `RunCtx::enter` (in `run`) sets `current`, to a
    // `RefCell<Active>` that outlives the guard which puts the previous value back.
    let active = unsafe { current.cast::<RefCell<Active<'_>>>().as_ref() };
    let outcome = {
        let Ok(mut guard) = active.try_borrow_mut() else {
            return Err(mlua::Error::RuntimeError(REENTERED.into()));
        };
        let Active { ctx, host } = &mut *guard;
        match value_args(args) {
            Ok(argv) => ctx.check_and_run(&mut **host, argv),
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(reply) => {
            let is_err = reply.is_error();
            let v = reply_to_lua(lua, &reply, rt.resp.get())?;
            if is_err && !pcall {
                raise(raise_t, v)
            } else {
                Ok(MultiValue::from_vec(vec![v]))
            }
        }
        Err(CallError::Script(text)) => {
            let v = error_table(lua, &text)?;
            if pcall {
                Ok(MultiValue::from_vec(vec![v]))
            } else {
                raise(raise_t, v)
            }
        }
        Err(CallError::Abort(a)) => Err(rt.abort_with(a)),
    }
}

impl CallCtx<'_> {
    fn check_and_run(&mut self, host: &mut dyn Host, argv: Vec<Bytes>) -> Result<Reply, CallError> {
        let Some(cmd) = shards::lookup(&argv[0]) else {
            return Err(CallError::Script(
                "Unknown Redis command called from script".into(),
            ));
        };
        if shards::cmd::subcommands::arity_error(cmd, &argv).is_some() {
            return Err(CallError::Script(
                "Wrong number of args calling Redis command from script".into(),
            ));
        }
        if cmd.has(NOSCRIPT) {
            return Err(CallError::Script(
                "This Redis command is not allowed from script".into(),
            ));
        }
        if cmd.has(WRITE) && self.spec.read_only {
            return Err(CallError::Script(
                "Write commands are not allowed from read-only scripts.".into(),
            ));
        }
        if self.spec.oom
            && !self.spec.flags.allow_oom
            && !self.control.has_written()
            && cmd.has(DENYOOM)
        {
            return Err(CallError::Script(format!("-{}", crate::OOM_ERROR)));
        }
        if cmd.has(WRITE) {
            self.control.mark_wrote();
        }
        self.check_keys(cmd, &argv, host)?;
        Ok(host.call(cmd, argv))
    }

    fn check_keys(
        &mut self,
        cmd: &'static CommandSpec,
        argv: &[Bytes],
        host: &mut dyn Host,
    ) -> Result<(), CallError> {
        let mut unreachable = Vec::new();
        for pos in cmd.key_positions(argv) {
            let key = &argv[pos];
            if let Some(slots) = &mut self.slots {
                let slot = shards::key_slot(key);
                if slots.is_empty() {
                    slots.push(slot);
                } else if !slots.contains(&slot) {
                    return Err(CallError::Script(
                        "Script attempted to access keys that do not hash to the same slot".into(),
                    ));
                }
            }
            if !host.reachable(key) && !unreachable.contains(key) {
                unreachable.push(key.clone());
            }
        }
        for key in host.implied_keys(cmd, argv) {
            if !host.reachable(&key) && !unreachable.contains(&key) {
                unreachable.push(key);
            }
        }
        if unreachable.is_empty() {
            Ok(())
        } else {
            Err(CallError::Abort(Abort::NeedKeys(unreachable)))
        }
    }
}

/// The call's arguments as command arguments (strings, numbers as `%.17g`).
fn value_args(args: &MultiValue) -> Result<Vec<Bytes>, CallError> {
    if args.is_empty() {
        return Err(no_args());
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        argv.push(match a {
            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
            Value::Integer(i) => Bytes::from(shards::args::format_double(*i as f64)),
            Value::Number(n) => Bytes::from(shards::args::format_double(*n)),
            _ => return Err(bad_arg()),
        });
    }
    Ok(argv)
}

/// Runs `func` in `vm` as `spec` describes, with `host` serving commands: `spec.keys`
/// and `args` are the `KEYS` and `ARGV` globals (`as_globals`, EVAL) or the
/// function's two arguments (FCALL).
pub(crate) fn run(
    vm: &Vm,
    func: &Function,
    args: &[Bytes],
    as_globals: bool,
    spec: &RunSpec<'_>,
    host: &mut dyn Host,
) -> Outcome {
    let rt = &vm.rt;
    rt.resp.set(2);
    *rt.abort.borrow_mut() = None;
    let now = Instant::now();
    rt.start.set(now);
    rt.active.set(true);
    rt.control.begin(spec.name, spec.is_function, now);

    let slots = (!spec.flags.legacy && !spec.flags.allow_cross_slot_keys).then(|| {
        let mut s: Vec<u16> = spec.keys.iter().map(|k| shards::key_slot(k)).collect();
        s.sort_unstable();
        s.dedup();
        s
    });
    let active = RefCell::new(Active {
        ctx: CallCtx {
            spec,
            control: &rt.control,
            slots,
        },
        host,
    });
    let result =
        {
            let _entered = rt.enter(&active);
            vm.run_script(func, spec.keys, args, as_globals)
                .map(|(ok, value, reply)| {
                    if ok {
                        Ok(reply
                            .unwrap_or_else(|| lua_to_reply(&value, rt.resp.get(), &vm.reply_keys)))
                    } else {
                        Err(error_reply(&value, spec))
                    }
                })
        };
    rt.active.set(false);
    rt.control.end();
    let abort = rt.abort.borrow_mut().take();
    match abort {
        Some(Abort::NeedKeys(keys)) => Outcome::NeedKeys(keys),
        Some(a) => {
            let located = match &result {
                Ok(Err(Reply::Error(e))) => {
                    let m = e.to_string();
                    m.find(" script: ").map(|i| m[i..].to_string())
                }
                _ => None,
            };
            let suffix = located.unwrap_or_default();
            Outcome::Reply(err(format!("{}{}", a.message(), suffix)))
        }
        None => Outcome::Reply(match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => e,
            Err(e) => err(format!("ERR {e}")),
        }),
    }
}

/// The error reply of a failed run, from the error handler's table.
fn error_reply(v: &Value, spec: &RunSpec<'_>) -> Reply {
    let Value::Table(t) = v else {
        let msg = crate::vm::to_bytes(v).unwrap_or_default();
        return err(format!(
            "ERR Error running script {}, {}",
            spec.name,
            String::from_utf8_lossy(&msg)
        ));
    };
    let msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        _ => "ERR unknown error".into(),
    };
    let source = match t.raw_get::<Value>("source") {
        Ok(Value::String(s)) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        _ => None,
    };
    let line = crate::vm::num(&t.raw_get::<Value>("line").unwrap_or(Value::Nil));
    let mut text = msg;
    if let (Some(source), Some(line)) = (source, line) {
        text.push_str(&format!(
            " script: {}, on {}:{}.",
            spec.name, source, line as i64
        ));
    }
    let text: String = text
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    err(text)
}
