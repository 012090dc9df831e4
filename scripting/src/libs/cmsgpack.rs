//! Redis's `cmsgpack`: `pack` (any number of values), `unpack`, `unpack_one`,
//! `unpack_limit`, with lua-cmsgpack's encodings (smallest integer form, float32 when
//! exact, arrays for 1..n tables, 16 levels of nesting) and error texts.

use mlua::{Lua, MultiValue, Table, Value};

use super::{arg_error, check_number, values, LibCtx, LibError, LibResult};

const MAX_NESTING: usize = 16;
/// Deepest nesting `unpack` accepts (lua-cmsgpack recurses without limit).
const MAX_UNPACK_DEPTH: usize = 256;

fn is_int64_equivalent(n: f64) -> bool {
    (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) && (n as i64) as f64 == n
}

fn encode_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        let u = i as u64;
        if u <= 127 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn encode_number(out: &mut Vec<u8>, n: f64) {
    if is_int64_equivalent(n) {
        return encode_int(out, n as i64);
    }
    let f = n as f32;
    if f as f64 == n || (n.is_nan() && f.is_nan()) {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(out: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, codes: [u8; 3]) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if len <= 0xff && codes[0] != 0 {
        out.extend_from_slice(&[codes[0], len as u8]);
    } else if len <= 0xffff {
        out.push(codes[1]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(codes[2]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// lua-cmsgpack's `table_is_an_array`: every key a positive integer and no holes.
fn is_array(t: &Table) -> mlua::Result<bool> {
    let mut max = 0f64;
    let mut count = 0f64;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(false),
        };
        if n <= 0.0 || n.fract() != 0.0 {
            return Ok(false);
        }
        max = f64::max(max, n);
        count += 1.0;
    }
    Ok(max == count)
}

fn encode_value(
    out: &mut Vec<u8>,
    v: &Value,
    level: usize,
    real_of: Option<&Table>,
) -> mlua::Result<()> {
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            encode_len(out, b.len(), 0xa0, 31, [0xd9, 0xda, 0xdb]);
            out.extend_from_slice(&b);
        }
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(out, *i),
        Value::Number(n) => encode_number(out, *n),
        Value::Table(t) if level < MAX_NESTING => {
            let t = &super::see_through(real_of, t);
            if is_array(t)? {
                let len = t.raw_len();
                encode_len(out, len, 0x90, 15, [0, 0xdc, 0xdd]);
                for i in 1..=len {
                    encode_value(out, &t.raw_get::<Value>(i)?, level + 1, real_of)?;
                }
            } else {
                let pairs: Vec<(Value, Value)> =
                    t.pairs::<Value, Value>().collect::<mlua::Result<_>>()?;
                encode_len(out, pairs.len(), 0x80, 15, [0, 0xde, 0xdf]);
                for (k, item) in &pairs {
                    encode_value(out, k, level + 1, real_of)?;
                    encode_value(out, item, level + 1, real_of)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

/// `cmsgpack.pack(...)`: the values' encodings, concatenated; `real_of` maps
/// read-only proxies to their tables.
pub fn pack(vals: &[Value], real_of: Option<&Table>) -> mlua::Result<Vec<u8>> {
    let mut out = Vec::new();
    for v in vals {
        encode_value(&mut out, v, 0, real_of)?;
    }
    Ok(out)
}

enum DecodeError {
    Eof,
    BadFormat,
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.s.len() - self.pos < n {
            return Err(DecodeError::Eof);
        }
        let b = &self.s[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }
}

fn decode_value(
    lua: &Lua,
    c: &mut Cursor,
    depth: usize,
) -> Result<mlua::Result<Value>, DecodeError> {
    if depth > MAX_UNPACK_DEPTH {
        return Err(DecodeError::BadFormat);
    }
    let tag = c.take(1)?[0];
    let num = |n: f64| Ok(Ok(Value::Number(n)));
    match tag {
        0x00..=0x7f => num(tag as f64),
        0xe0..=0xff => num(tag as i8 as f64),
        0xcc => num(c.be(1)? as f64),
        0xcd => num(c.be(2)? as f64),
        0xce => num(c.be(4)? as f64),
        0xcf => num(c.be(8)? as i64 as f64),
        0xd0 => num(c.be(1)? as u8 as i8 as f64),
        0xd1 => num(c.be(2)? as u16 as i16 as f64),
        0xd2 => num(c.be(4)? as u32 as i32 as f64),
        0xd3 => num(c.be(8)? as i64 as f64),
        0xca => num(f32::from_bits(c.be(4)? as u32) as f64),
        0xcb => num(f64::from_bits(c.be(8)?)),
        0xc0 => Ok(Ok(Value::Nil)),
        0xc2 => Ok(Ok(Value::Boolean(false))),
        0xc3 => Ok(Ok(Value::Boolean(true))),
        0xa0..=0xbf | 0xd9 | 0xda | 0xdb | 0xc4 | 0xc5 | 0xc6 => {
            let len = match tag {
                0xa0..=0xbf => (tag & 0x1f) as usize,
                0xd9 | 0xc4 => c.be(1)? as usize,
                0xda | 0xc5 => c.be(2)? as usize,
                _ => c.be(4)? as usize,
            };
            let b = c.take(len)?;
            Ok(lua.create_string(b).map(Value::String))
        }
        0x90..=0x9f | 0xdc | 0xdd => {
            let len = match tag {
                0x90..=0x9f => (tag & 0x0f) as usize,
                0xdc => c.be(2)? as usize,
                _ => c.be(4)? as usize,
            };
            let t = match lua.create_table() {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            for i in 1..=len {
                let v = match decode_value(lua, c, depth + 1)? {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                if let Err(e) = t.raw_set(i, v) {
                    return Ok(Err(e));
                }
            }
            Ok(Ok(Value::Table(t)))
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let len = match tag {
                0x80..=0x8f => (tag & 0x0f) as usize,
                0xde => c.be(2)? as usize,
                _ => c.be(4)? as usize,
            };
            let t = match lua.create_table() {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            for _ in 0..len {
                let k = match decode_value(lua, c, depth + 1)? {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                let v = match decode_value(lua, c, depth + 1)? {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                if !matches!(k, Value::Nil) {
                    if let Err(e) = t.raw_set(k, v) {
                        return Ok(Err(e));
                    }
                }
            }
            Ok(Ok(Value::Table(t)))
        }
        _ => Err(DecodeError::BadFormat),
    }
}

/// lua-cmsgpack's `mp_unpack_full`.
fn unpack_full(lua: &Lua, s: &[u8], limit: i64, offset: i64) -> LibResult<MultiValue> {
    let len = s.len() as i64;
    if offset < 0 || limit < 0 {
        return Err(LibError(format!(
            "Invalid request to unpack with offset of {offset} and limit of {len}."
        )));
    }
    if offset > len {
        return Err(LibError(format!(
            "Start offset {offset} greater than input length {len}."
        )));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i64::MAX } else { limit };
    let mut c = Cursor {
        s,
        pos: offset as usize,
    };
    let mut out = Vec::new();
    let mut count = 0;
    while c.pos < s.len() && count < limit {
        match decode_value(lua, &mut c, 0) {
            Ok(Ok(v)) => out.push(v),
            Ok(Err(e)) => return Err(LibError(e.to_string())),
            Err(DecodeError::Eof) => return Err("Missing bytes in input.".into()),
            Err(DecodeError::BadFormat) => return Err("Bad data format in input.".into()),
        }
        count += 1;
    }
    if !decode_all {
        let next = if c.pos == s.len() { -1 } else { c.pos as i64 };
        out.insert(0, Value::Integer(next));
    }
    Ok(values(out))
}

fn input(args: &[Value], fname: &str) -> LibResult<Vec<u8>> {
    match args.first() {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => {
            Ok(crate::vm::to_bytes(v).unwrap_or_default())
        }
        other => Err(super::type_error(
            1,
            fname,
            "string",
            other.unwrap_or(&Value::Nil),
        )),
    }
}

fn opt_int(args: &[Value], i: usize, fname: &str) -> LibResult<i64> {
    match args.get(i) {
        None | Some(Value::Nil) => Ok(0),
        Some(_) => Ok(check_number(args, i, fname)? as i64),
    }
}

pub(crate) fn table(ctx: &LibCtx) -> mlua::Result<Table> {
    let t = ctx.lua.create_table()?;
    let real_of = ctx.real_of.clone();
    let p = ctx.func(move |lua, args| {
        let args: Vec<Value> = args.into_iter().collect();
        if args.is_empty() {
            return Ok(Err(arg_error(0, "pack", "MessagePack pack needs input.")));
        }
        let out = pack(&args, Some(&real_of))?;
        Ok(Ok(values(vec![Value::String(lua.create_string(out)?)])))
    })?;
    t.raw_set("pack", p)?;
    let u = ctx.func(|lua, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok(input(&args, "unpack").and_then(|s| unpack_full(lua, &s, 0, 0)))
    })?;
    t.raw_set("unpack", u)?;
    let u1 = ctx.func(|lua, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok((|| {
            let s = input(&args, "unpack_one")?;
            let offset = opt_int(&args, 1, "unpack_one")?;
            unpack_full(lua, &s, 1, offset)
        })())
    })?;
    t.raw_set("unpack_one", u1)?;
    let ul = ctx.func(|lua, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok((|| {
            let s = input(&args, "unpack_limit")?;
            let limit = check_number(&args, 1, "unpack_limit")? as i64;
            let offset = opt_int(&args, 2, "unpack_limit")?;
            unpack_full(lua, &s, limit, offset)
        })())
    })?;
    t.raw_set("unpack_limit", ul)?;
    t.raw_set("_NAME", "lua-cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}
