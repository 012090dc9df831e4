//! Redis's `cjson` (lua-cjson 2.1.0 with Redis's defaults): `encode`, `decode`,
//! `cjson.null`, numbers as `%.14g`, sparse-array and nesting limits, and lua-cjson's
//! error texts.

use mlua::{Lua, MultiValue, Table, Value};

use super::{type_error, type_name, values, LibCtx, LibError, LibResult};
use crate::numfmt::fmt_g;

const MAX_DEPTH: usize = 1000;
const SPARSE_RATIO: usize = 2;
const SPARSE_SAFE: usize = 10;

fn is_null(v: &Value) -> bool {
    matches!(v, Value::LightUserData(p) if p.0.is_null())
}

fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn number(n: f64) -> LibResult<String> {
    if n.is_nan() || n.is_infinite() {
        return Err("Cannot serialise number: must not be NaN or Inf".into());
    }
    Ok(fmt_g(n, 14))
}

/// lua-cjson's `lua_array_length`: `Some(n)` for an array (n may be 0), `None` for
/// an object.
fn array_length(t: &Table) -> LibResult<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| LibError(e.to_string()))?;
        let n = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(f) if f >= 1.0 && f.fract() == 0.0 => f as usize,
            _ => return Ok(None),
        };
        max = max.max(n);
        items += 1;
    }
    if max > items * SPARSE_RATIO && max > SPARSE_SAFE {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok(Some(max))
}

/// A step of the encoder (an explicit stack: nesting goes 1000 deep).
enum Job {
    Val(Value, usize),
    Key(Value),
    Lit(&'static [u8]),
}

fn encode_key(out: &mut Vec<u8>, k: &Value) -> LibResult<()> {
    match k {
        Value::String(s) => escape_into(out, &s.as_bytes()),
        Value::Integer(i) => escape_into(out, number(*i as f64)?.as_bytes()),
        Value::Number(n) => escape_into(out, number(*n)?.as_bytes()),
        other => {
            return Err(format!(
                "Cannot serialise {}: table key must be a number or string",
                type_name(other)
            )
            .into())
        }
    }
    out.push(b':');
    Ok(())
}

fn encode_value(out: &mut Vec<u8>, v: &Value, real_of: Option<&Table>) -> LibResult<()> {
    let lua_err = |e: mlua::Error| LibError(e.to_string());
    let mut stack = vec![Job::Val(v.clone(), 0)];
    while let Some(job) = stack.pop() {
        let (v, depth) = match job {
            Job::Lit(b) => {
                out.extend_from_slice(b);
                continue;
            }
            Job::Key(k) => {
                encode_key(out, &k)?;
                continue;
            }
            Job::Val(v, depth) => (v, depth),
        };
        match &v {
            Value::String(s) => escape_into(out, &s.as_bytes()),
            Value::Integer(i) => out.extend_from_slice(number(*i as f64)?.as_bytes()),
            Value::Number(n) => out.extend_from_slice(number(*n)?.as_bytes()),
            Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Nil => out.extend_from_slice(b"null"),
            v if is_null(v) => out.extend_from_slice(b"null"),
            Value::Table(t) => {
                let t = &super::see_through(real_of, t);
                let depth = depth + 1;
                if depth > MAX_DEPTH {
                    return Err(format!("Cannot serialise, excessive nesting ({depth})").into());
                }
                match array_length(t)? {
                    Some(len) if len > 0 => {
                        out.push(b'[');
                        stack.push(Job::Lit(b"]"));
                        for i in (1..=len).rev() {
                            let item: Value = t.raw_get(i).map_err(lua_err)?;
                            stack.push(Job::Val(item, depth));
                            if i > 1 {
                                stack.push(Job::Lit(b","));
                            }
                        }
                    }
                    _ => {
                        out.push(b'{');
                        stack.push(Job::Lit(b"}"));
                        let pairs: Vec<(Value, Value)> = t
                            .pairs::<Value, Value>()
                            .collect::<mlua::Result<_>>()
                            .map_err(lua_err)?;
                        let n = pairs.len();
                        for (i, (k, item)) in pairs.into_iter().enumerate().rev() {
                            stack.push(Job::Val(item, depth));
                            stack.push(Job::Key(k));
                            if i > 0 && i < n {
                                stack.push(Job::Lit(b","));
                            }
                        }
                    }
                }
            }
            other => {
                return Err(
                    format!("Cannot serialise {}: type not supported", type_name(other)).into(),
                )
            }
        }
    }
    Ok(())
}

/// `cjson.encode(v)`'s text; `real_of` maps read-only proxies to their tables.
pub fn encode(v: &Value, real_of: Option<&Table>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    encode_value(&mut out, v, real_of).map_err(|e| e.0)?;
    Ok(out)
}

struct Decoder<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    null: Value,
}

#[derive(Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str(_) => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(msg) => msg,
        }
    }
}

/// `strtod`'s longest numeric prefix of `s` (decimal or hex), and its length.
fn strtod_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    if s.len() > i + 2 && s[i] == b'0' && (s[i + 1] | 0x20) == b'x' && s[i + 2].is_ascii_hexdigit()
    {
        let start = i + 2;
        let mut end = start;
        let mut v = 0f64;
        while end < s.len() && s[end].is_ascii_hexdigit() {
            v = v * 16.0 + (s[end] as char).to_digit(16).unwrap_or(0) as f64;
            end += 1;
        }
        return Some((if neg { -v } else { v }, end));
    }
    let start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - start;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let f = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - f;
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() && (s[i] | 0x20) == b'e' {
        let mut j = i + 1;
        if j < s.len() && (s[j] == b'+' || s[j] == b'-') {
            j += 1;
        }
        let e = j;
        while j < s.len() && s[j].is_ascii_digit() {
            j += 1;
        }
        if j > e {
            i = j;
        }
    }
    let text = std::str::from_utf8(&s[..i]).ok()?;
    text.parse::<f64>().ok().map(|v| (v, i))
}

impl Decoder<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// The next token and the index it starts at.
    fn next(&mut self) -> (Tok, usize) {
        self.skip_ws();
        let at = self.pos;
        // lua-cjson reads a C string: a NUL ends the input.
        let Some(&c) = self.s.get(self.pos).filter(|&&c| c != 0) else {
            return (Tok::End, at);
        };
        let single = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return (t, at);
        }
        match c {
            b'"' => match self.string() {
                Ok(s) => (Tok::Str(s), at),
                // String errors point where the problem is.
                Err((msg, pos)) => (Tok::Error(msg), pos),
            },
            b'-' | b'0'..=b'9' => match strtod_prefix(&self.s[self.pos..]) {
                Some((v, len)) => {
                    self.pos += len;
                    (Tok::Num(v), at)
                }
                None => (Tok::Error("invalid number"), at),
            },
            _ => {
                let rest = &self.s[self.pos..];
                for (word, tok) in [
                    (&b"true"[..], Tok::Bool(true)),
                    (b"false", Tok::Bool(false)),
                    (b"null", Tok::Null),
                ] {
                    if rest.starts_with(word) {
                        self.pos += word.len();
                        return (tok, at);
                    }
                }
                (Tok::Error("invalid token"), at)
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    /// A string token's bytes, or an error and the index it points at.
    fn string(&mut self) -> Result<Vec<u8>, (&'static str, usize)> {
        let mut out = Vec::new();
        self.pos += 1;
        loop {
            let at = self.pos;
            let c = match self.s.get(self.pos) {
                Some(&c) if c != 0 => c,
                _ => return Err(("unexpected end of string", at)),
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let e = self.s.get(self.pos).copied().unwrap_or(0);
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let bad = ("invalid unicode escape code", at);
                            let Some(mut cp) = self.hex4(self.pos) else {
                                return Err(bad);
                            };
                            self.pos += 4;
                            if (0xD800..0xDC00).contains(&cp) {
                                let low = if self.s.get(self.pos..self.pos + 2) == Some(b"\\u") {
                                    self.hex4(self.pos + 2)
                                } else {
                                    None
                                };
                                match low {
                                    Some(l) if (0xDC00..0xE000).contains(&l) => {
                                        self.pos += 6;
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (l - 0xDC00);
                                    }
                                    _ => return Err(bad),
                                }
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Err(bad);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(("invalid escape code", at)),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn fail(&self, expected: &str, tok: &Tok, at: usize) -> LibError {
        LibError(format!(
            "Expected {expected} but found {} at character {}",
            tok.name(),
            at + 1
        ))
    }

    /// An object key and its colon.
    fn key(&mut self) -> LibResult<Vec<u8>> {
        let (tok, at) = self.next();
        let Tok::Str(key) = tok else {
            return Err(self.fail("object key string", &tok, at));
        };
        let (colon, cat) = self.next();
        if !matches!(colon, Tok::Colon) {
            return Err(self.fail("colon", &colon, cat));
        }
        Ok(key)
    }

    /// The value starting with `tok` (an explicit stack: nesting goes 1000 deep).
    fn value(&mut self, mut tok: Tok, mut at: usize) -> LibResult<Value> {
        enum Frame {
            Arr(Table, usize),
            Obj(Table, Vec<u8>),
        }
        let lua_err = |e: mlua::Error| LibError(e.to_string());
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let mut value = match tok {
                Tok::Str(s) => Value::String(self.lua.create_string(s).map_err(lua_err)?),
                Tok::Num(n) => Value::Number(n),
                Tok::Bool(b) => Value::Boolean(b),
                Tok::Null => self.null.clone(),
                Tok::ObjBegin | Tok::ArrBegin => {
                    let depth = stack.len() + 1;
                    if depth > MAX_DEPTH {
                        return Err(LibError(format!(
                            "Found too many nested data structures ({depth}) at character {}",
                            at + 1
                        )));
                    }
                    let t = self.lua.create_table().map_err(lua_err)?;
                    let is_array = matches!(tok, Tok::ArrBegin);
                    let save = self.pos;
                    let (next, _) = self.next();
                    match (is_array, next) {
                        (true, Tok::ArrEnd) | (false, Tok::ObjEnd) => Value::Table(t),
                        (true, first) => {
                            stack.push(Frame::Arr(t, 1));
                            // Re-read the first element's token from its start.
                            let _ = first;
                            self.pos = save;
                            (tok, at) = self.next();
                            continue;
                        }
                        (false, _) => {
                            self.pos = save;
                            let key = self.key()?;
                            stack.push(Frame::Obj(t, key));
                            (tok, at) = self.next();
                            continue;
                        }
                    }
                }
                other => return Err(self.fail("value", &other, at)),
            };
            // Attach the value to its container; close containers that end here.
            loop {
                match stack.last_mut() {
                    None => return Ok(value),
                    Some(Frame::Arr(t, i)) => {
                        t.raw_set(*i, value).map_err(lua_err)?;
                        *i += 1;
                        let (sep, sat) = self.next();
                        match sep {
                            Tok::ArrEnd => {
                                value = Value::Table(t.clone());
                                stack.pop();
                            }
                            Tok::Comma => {
                                (tok, at) = self.next();
                                break;
                            }
                            other => return Err(self.fail("comma or array end", &other, sat)),
                        }
                    }
                    Some(Frame::Obj(t, key)) => {
                        let k = self
                            .lua
                            .create_string(std::mem::take(key))
                            .map_err(lua_err)?;
                        t.raw_set(k, value).map_err(lua_err)?;
                        let (sep, sat) = self.next();
                        match sep {
                            Tok::ObjEnd => {
                                value = Value::Table(t.clone());
                                stack.pop();
                            }
                            Tok::Comma => {
                                let next_key = self.key()?;
                                if let Some(Frame::Obj(_, key)) = stack.last_mut() {
                                    *key = next_key;
                                }
                                (tok, at) = self.next();
                                break;
                            }
                            other => return Err(self.fail("comma or object end", &other, sat)),
                        }
                    }
                }
            }
        }
    }
}

fn decode(lua: &Lua, s: &[u8], null: &Value) -> LibResult<Value> {
    let mut d = Decoder {
        lua,
        s,
        pos: 0,
        null: null.clone(),
    };
    let (tok, at) = d.next();
    let v = d.value(tok, at)?;
    let (tok, at) = d.next();
    if !matches!(tok, Tok::End) {
        return Err(d.fail("the end", &tok, at));
    }
    Ok(v)
}

fn one_arg<'a>(args: &'a MultiValue, fname: &str) -> LibResult<&'a Value> {
    if args.len() != 1 {
        return Err(super::arg_error(1, fname, "expected 1 argument"));
    }
    Ok(&args[0])
}

pub(crate) fn table(ctx: &LibCtx) -> mlua::Result<Table> {
    let t = ctx.lua.create_table()?;
    let real_of = ctx.real_of.clone();
    let enc = ctx.func(move |lua, args| {
        Ok((|| {
            let v = one_arg(&args, "encode")?;
            let out = encode(v, Some(&real_of)).map_err(LibError)?;
            let s = lua
                .create_string(out)
                .map_err(|e| LibError(e.to_string()))?;
            Ok(values(vec![Value::String(s)]))
        })())
    })?;
    t.raw_set("encode", enc)?;
    let null = ctx.null.clone();
    let dec = ctx.func(move |lua, args| {
        Ok((|| {
            let v = one_arg(&args, "decode")?;
            let text = match v {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(_) | Value::Number(_) => crate::vm::to_bytes(v).unwrap_or_default(),
                other => return Err(type_error(1, "decode", "string", other)),
            };
            Ok(values(vec![decode(lua, &text, &null)?]))
        })())
    })?;
    t.raw_set("decode", dec)?;
    t.raw_set("null", ctx.null.clone())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    // Settings are reported at Redis's defaults; changing them is accepted and
    // ignored, so that no script changes the next one's encoding.
    let settings: [(&str, Vec<Value>); 7] = [
        (
            "encode_sparse_array",
            vec![Value::Boolean(false), Value::Integer(2), Value::Integer(10)],
        ),
        ("encode_max_depth", vec![Value::Integer(1000)]),
        ("decode_max_depth", vec![Value::Integer(1000)]),
        ("encode_number_precision", vec![Value::Integer(14)]),
        ("encode_keep_buffer", vec![Value::Boolean(true)]),
        ("encode_invalid_numbers", vec![Value::Boolean(false)]),
        ("decode_invalid_numbers", vec![Value::Boolean(true)]),
    ];
    for (name, current) in settings {
        let f = ctx.func(move |_, _| Ok(Ok(values(current.clone()))))?;
        t.raw_set(name, f)?;
    }
    // cjson.new(): a fresh table with the same functions (never the shared one).
    let proto = t.clone();
    let new = ctx.func(move |lua, _| {
        let fresh = lua.create_table()?;
        for pair in proto.pairs::<Value, Value>() {
            let (k, v) = pair?;
            fresh.raw_set(k, v)?;
        }
        Ok(Ok(values(vec![Value::Table(fresh)])))
    })?;
    t.raw_set("new", new)?;
    Ok(t)
}
