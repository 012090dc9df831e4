//! Redis 7 functions: libraries (`#!lua name=<lib>`) whose top-level code registers
//! functions with `redis.register_function`, and FUNCTION LOAD / DELETE / FLUSH /
//! LIST / DUMP / RESTORE / STATS and FCALL.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use bytes::Bytes;
use mlua::{Function, Value};
use shards::{CmdError, Reply};

use crate::engine::{run, Engine, RunSpec};
use crate::flags::{parse_library_shebang, valid_name, ScriptFlags};
use crate::vm::{Abort, RunCtx, LOAD_TIMEOUT};
use crate::{Host, Outcome, RunOpts};

/// A function as `redis.register_function` declared it.
pub(crate) struct Registered {
    pub name: String,
    pub callback: Function,
    pub flags: ScriptFlags,
    pub description: Option<String>,
}

pub(crate) struct Library {
    pub name: String,
    pub code: Vec<u8>,
    /// By function name.
    pub functions: BTreeMap<String, Registered>,
}

/// FUNCTION RESTORE policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestorePolicy {
    /// Add the libraries; any name collision fails the whole restore.
    #[default]
    Append,
    /// Libraries with the same name are replaced.
    Replace,
    /// Delete every library first.
    Flush,
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

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=, callback=, flags=, description=}`.
pub(crate) fn register_function(rt: &RunCtx, args: Vec<Value>) -> mlua::Result<Result<(), String>> {
    let (name, callback, flags, description) = match args.as_slice() {
        [Value::Table(t)] => {
            let mut name = None;
            let mut callback = None;
            let mut flags = ScriptFlags::default();
            let mut description = None;
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                let Value::String(k) = k else {
                    return Ok(Err(
                        "named argument key given to redis.register_function is not a string"
                            .into(),
                    ));
                };
                match &*k.as_bytes() {
                    b"function_name" => match crate::vm::to_bytes(&v) {
                        Some(b) => name = Some(b),
                        None => {
                            return Ok(Err("function_name argument given to redis.register_function must be a string".into()))
                        }
                    },
                    b"callback" => match v {
                        Value::Function(f) => callback = Some(f),
                        _ => {
                            return Ok(Err("callback argument given to redis.register_function must be a function".into()))
                        }
                    },
                    b"description" => match crate::vm::to_bytes(&v) {
                        Some(b) => description = Some(String::from_utf8_lossy(&b).into_owned()),
                        None => {
                            return Ok(Err("description argument given to redis.register_function must be a string".into()))
                        }
                    },
                    b"flags" => {
                        let Value::Table(list) = v else {
                            return Ok(Err("flags argument to redis.register_function must be a table representing function flags".into()));
                        };
                        for item in list.sequence_values::<Value>() {
                            let ok = match item? {
                                Value::String(s) => flags.set(&s.as_bytes()),
                                _ => false,
                            };
                            if !ok {
                                return Ok(Err("unknown flag given".into()));
                            }
                        }
                    }
                    _ => {
                        return Ok(Err(
                            "unknown argument given to redis.register_function".into()
                        ))
                    }
                }
            }
            let Some(name) = name else {
                return Ok(Err(
                    "redis.register_function must get a function name argument".into(),
                ));
            };
            let Some(callback) = callback else {
                return Ok(Err(
                    "redis.register_function must get a callback argument".into()
                ));
            };
            (name, callback, flags, description)
        }
        [_] => return Ok(Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into())),
        [n, f] => {
            let Value::String(n) = n else {
                return Ok(Err(
                    "first argument to redis.register_function must be a string".into(),
                ));
            };
            let Value::Function(f) = f else {
                return Ok(Err(
                    "second argument to redis.register_function must be a function".into(),
                ));
            };
            (n.as_bytes().to_vec(), f.clone(), ScriptFlags::default(), None)
        }
        _ => return Ok(Err("wrong number of arguments to redis.register_function".into())),
    };
    if !valid_name(&name) {
        return Ok(Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into()));
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let mut reg = rt.registered.borrow_mut();
    if reg.iter().any(|r| r.name == name) {
        return Ok(Err("Function already exists in the library".into()));
    }
    reg.push(Registered {
        name,
        callback,
        flags,
        description,
    });
    Ok(Ok(()))
}

impl Engine {
    /// Compiles a library and runs its top-level code; nothing is installed.
    fn compile_library(&self, code: &[u8]) -> Result<Library, Reply> {
        let (name, shebang_len) = parse_library_shebang(code)?;
        let vm = &self.func_vm;
        let chunk = vm
            .compile(&code[shebang_len..], "@user_function")
            .map_err(|e| err(format!("ERR Error compiling function: {e}")))?;
        let rt = &vm.rt;
        rt.registered.borrow_mut().clear();
        *rt.abort.borrow_mut() = None;
        rt.load_deadline.set(Some(Instant::now() + LOAD_TIMEOUT));
        let loaded = vm
            .use_load_globals(true)
            .and_then(|()| vm.run(&chunk, Value::Nil, Value::Nil));
        let _ = vm.use_load_globals(false);
        rt.load_deadline.set(None);
        vm.scrub();
        let registered = std::mem::take(&mut *rt.registered.borrow_mut());
        let abort = rt.abort.borrow_mut().take();
        if let Some(a) = abort {
            debug_assert!(matches!(a, Abort::LoadTimeout));
            return Err(err(format!(
                "ERR Error registering functions: {}",
                a.message()
            )));
        }
        match loaded {
            Ok((true, _)) => {}
            Ok((false, Value::Table(t))) => {
                let msg = match t.raw_get::<Value>("err") {
                    Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                    _ => "ERR unknown error".into(),
                };
                return Err(err(format!("ERR Error registering functions: {msg}")));
            }
            Ok((false, other)) => {
                let msg = crate::vm::to_bytes(&other).unwrap_or_default();
                return Err(err(format!(
                    "ERR Error registering functions: {}",
                    String::from_utf8_lossy(&msg)
                )));
            }
            Err(e) => return Err(err(format!("ERR Error registering functions: {e}"))),
        }
        if registered.is_empty() {
            return Err(err("ERR No functions registered"));
        }
        Ok(Library {
            name,
            code: code.to_vec(),
            functions: registered
                .into_iter()
                .map(|r| (r.name.clone(), r))
                .collect(),
        })
    }

    /// Whether `lib` can be installed: its name (unless `replace`) and its functions'
    /// names must be free, except in the libraries in `leaving`.
    fn check_install(&self, lib: &Library, replace: bool, leaving: &[&str]) -> Result<(), Reply> {
        if self.libraries.contains_key(&lib.name) && !replace && !leaving.contains(&&*lib.name) {
            return Err(err(format!("ERR Library '{}' already exists", lib.name)));
        }
        for f in lib.functions.keys() {
            if let Some(owner) = self.functions.get(&f.to_ascii_lowercase()) {
                if owner != &lib.name && !leaving.contains(&owner.as_str()) {
                    return Err(err(format!("ERR Function {f} already exists")));
                }
            }
        }
        Ok(())
    }

    fn install(&mut self, lib: Library) {
        self.remove_library(&lib.name.clone());
        for f in lib.functions.keys() {
            self.functions
                .insert(f.to_ascii_lowercase(), lib.name.clone());
        }
        self.libraries.insert(lib.name.clone(), lib);
    }

    fn remove_library(&mut self, name: &str) -> bool {
        let Some(old) = self.libraries.remove(name) else {
            return false;
        };
        for f in old.functions.keys() {
            self.functions.remove(&f.to_ascii_lowercase());
        }
        true
    }

    /// FUNCTION LOAD (`replace`: FUNCTION LOAD REPLACE): the library's name.
    pub fn function_load(&mut self, code: &[u8], replace: bool) -> Result<String, Reply> {
        // The name is checked before the code runs, as Redis does.
        let (name, _) = parse_library_shebang(code)?;
        if !replace && self.libraries.contains_key(&name) {
            return Err(err(format!("ERR Library '{name}' already exists")));
        }
        let lib = self.compile_library(code)?;
        self.check_install(&lib, replace, &[])?;
        self.install(lib);
        Ok(name)
    }

    /// FUNCTION DELETE.
    pub fn function_delete(&mut self, lib: &[u8]) -> Reply {
        if self.remove_library(&String::from_utf8_lossy(lib)) {
            Reply::Ok
        } else {
            err("ERR Library not found")
        }
    }

    /// FUNCTION FLUSH: drops every library and starts a fresh Lua state.
    pub fn function_flush(&mut self) {
        self.libraries.clear();
        self.functions.clear();
        self.func_vm = crate::vm::Vm::new(self.control.clone(), true, self.log.clone());
        self.func_vm.set_memory_limit(self.memory_limit);
    }

    /// FUNCTION LIST (`pattern`: LIBRARYNAME, `with_code`: WITHCODE).
    pub fn function_list(&self, pattern: Option<&[u8]>, with_code: bool) -> Reply {
        let mut libs = Vec::new();
        for lib in self.libraries.values() {
            if let Some(p) = pattern {
                if !shards::glob::glob_match(p, lib.name.as_bytes()) {
                    continue;
                }
            }
            let functions = lib
                .functions
                .values()
                .map(|f| {
                    Reply::Map(vec![
                        (Reply::bulk("name"), Reply::bulk(&f.name)),
                        (
                            Reply::bulk("description"),
                            Reply::bulk_or_nil(f.description.as_ref()),
                        ),
                        (
                            Reply::bulk("flags"),
                            Reply::Set(f.flags.names().into_iter().map(Reply::status).collect()),
                        ),
                    ])
                })
                .collect();
            let mut entry = vec![
                (Reply::bulk("library_name"), Reply::bulk(&lib.name)),
                (Reply::bulk("engine"), Reply::bulk("LUA")),
                (Reply::bulk("functions"), Reply::Array(functions)),
            ];
            if with_code {
                entry.push((Reply::bulk("library_code"), Reply::bulk(&lib.code)));
            }
            libs.push(Reply::Map(entry));
        }
        Reply::Array(libs)
    }

    /// FUNCTION STATS (this engine is idle whenever it can answer: `running_script` is
    /// nil; a server answering for a busy shard fills it from [`crate::ScriptControl`]).
    pub fn function_stats(&self) -> Reply {
        let count = self.functions.len() as i64;
        Reply::Map(vec![
            (Reply::bulk("running_script"), Reply::Nil),
            (
                Reply::bulk("engines"),
                Reply::Map(vec![(
                    Reply::bulk("LUA"),
                    Reply::Map(vec![
                        (
                            Reply::bulk("libraries_count"),
                            Reply::Int(self.libraries.len() as i64),
                        ),
                        (Reply::bulk("functions_count"), Reply::Int(count)),
                    ]),
                )]),
            ),
        ])
    }

    /// A function's flags.
    pub fn function_flags(&self, name: &[u8]) -> Option<ScriptFlags> {
        self.lookup_function(name).map(|f| f.flags)
    }

    /// Number of libraries and of functions.
    pub fn function_counts(&self) -> (usize, usize) {
        (self.libraries.len(), self.functions.len())
    }

    /// A function by name, case-insensitively (as Redis 7's function table).
    fn lookup_function(&self, name: &[u8]) -> Option<&Registered> {
        let name = std::str::from_utf8(name).ok()?;
        let lib = self.functions.get(&name.to_ascii_lowercase())?;
        let funcs = &self.libraries.get(lib)?.functions;
        funcs.get(name).or_else(|| {
            funcs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, f)| f)
        })
    }

    /// Every library's code, by library name (what an RDB file's FUNCTION2 records
    /// hold).
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        let mut libs: Vec<_> = self.libraries.values().collect();
        libs.sort_by(|a, b| a.name.cmp(&b.name));
        libs.into_iter().map(|l| l.code.to_vec()).collect()
    }

    /// FUNCTION DUMP: every library's code in Redis 7's payload format (a FUNCTION2
    /// record per library, then the RDB version and a CRC-64), so payloads move
    /// between redis-server and corecache.
    pub fn function_dump(&self) -> Vec<u8> {
        use shards::rdb;
        let mut out = Vec::new();
        for code in self.library_codes() {
            rdb::file::write_function(&mut out, &code);
        }
        out.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
        let crc = rdb::crc64::crc64(0, &out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// FUNCTION RESTORE payload [APPEND|REPLACE|FLUSH]. All or nothing.
    pub fn function_restore(&mut self, payload: &[u8], policy: RestorePolicy) -> Reply {
        let codes = match parse_dump(payload) {
            Ok(codes) => codes,
            Err(e) => return err(e),
        };
        let mut libs = Vec::with_capacity(codes.len());
        for code in codes {
            match self.compile_library(&code) {
                Ok(l) => libs.push(l),
                Err(e) => return e,
            }
        }
        // Names must also be unique within the payload.
        let mut seen_libs = std::collections::HashSet::new();
        let mut seen_fns: HashMap<&str, &str> = HashMap::new();
        for lib in &libs {
            if !seen_libs.insert(lib.name.as_str()) {
                return err(format!("ERR Library '{}' already exists", lib.name));
            }
            for f in lib.functions.keys() {
                if seen_fns.insert(f, &lib.name).is_some() {
                    return err(format!("ERR Function {f} already exists"));
                }
            }
        }
        let all: Vec<String> = self.libraries.keys().cloned().collect();
        let leaving: Vec<&str> = match policy {
            RestorePolicy::Flush => all.iter().map(|s| s.as_str()).collect(),
            RestorePolicy::Replace => libs
                .iter()
                .filter(|l| self.libraries.contains_key(&l.name))
                .map(|l| l.name.as_str())
                .collect(),
            RestorePolicy::Append => Vec::new(),
        };
        for lib in &libs {
            if self.libraries.contains_key(&lib.name) && !leaving.contains(&&*lib.name) {
                // RESTORE words it without quotes (Redis's libraryJoin).
                return err(format!("ERR Library {} already exists", lib.name));
            }
            if let Err(e) = self.check_install(lib, false, &leaving) {
                return e;
            }
        }
        let leaving: Vec<String> = leaving.into_iter().map(String::from).collect();
        for name in leaving {
            self.remove_library(&name);
        }
        for lib in libs {
            self.install(lib);
        }
        Reply::Ok
    }

    /// FCALL / FCALL_RO.
    pub fn fcall(
        &mut self,
        name: &[u8],
        keys: &[Bytes],
        args: &[Bytes],
        opts: RunOpts,
        host: &mut dyn Host,
    ) -> Outcome {
        let Some(f) = self.lookup_function(name) else {
            return Outcome::Reply(err("ERR Function not found"));
        };
        if let Some(refused) = crate::pre_run_check(f.flags, &opts) {
            return Outcome::Reply(refused);
        }
        let spec = RunSpec {
            name: &f.name,
            is_function: true,
            flags: f.flags,
            read_only: opts.read_only || f.flags.no_writes,
            oom: opts.oom,
            keys,
        };
        run(&self.func_vm, &f.callback, args, false, &spec, host)
    }
}

/// The libraries' code in a FUNCTION DUMP payload, or Redis's error.
fn parse_dump(payload: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    use shards::rdb;
    if !rdb::payload_ok(payload) {
        return Err("ERR DUMP payload version or checksum are wrong");
    }
    let mut r = rdb::Reader::new(&payload[..payload.len() - 10]);
    let mut codes = Vec::new();
    while r.remaining() > 0 {
        let kind = r.byte().map_err(|_| "ERR can not read data type")?;
        if kind != rdb::file::opcode::FUNCTION2 {
            return Err("ERR given type is not a function");
        }
        let code = r
            .string()
            .map_err(|_| "ERR failed loading the given functions payload")?;
        codes.push(code);
    }
    Ok(codes)
}
