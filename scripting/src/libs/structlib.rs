//! Roberto Ierusalimschy's `struct` library as Redis embeds it: `pack`, `unpack`,
//! `size` over the format options `> < ! x b B h H l L T i[n] I[n] f d c[n] s`.

use mlua::{Lua, MultiValue, Table, Value};

use super::{arg_error, check_number, type_error, values, LibCtx, LibError, LibResult};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            little: cfg!(target_endian = "little"),
            align: 1,
        }
    }
}

struct Fmt<'a> {
    f: &'a [u8],
    i: usize,
}

impl Fmt<'_> {
    fn getnum(&mut self, default: usize) -> LibResult<usize> {
        if !self.f.get(self.i).is_some_and(|c| c.is_ascii_digit()) {
            return Ok(default);
        }
        let mut a: usize = 0;
        while let Some(&c) = self.f.get(self.i).filter(|c| c.is_ascii_digit()) {
            let d = (c - b'0') as usize;
            if a > (i32::MAX as usize) / 10 || a * 10 > i32::MAX as usize - d {
                return Err("integral size overflow".into());
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a)
    }

    fn optsize(&mut self, opt: u8) -> LibResult<usize> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' => 8,
            b'f' => 4,
            b'd' => 8,
            b'x' => 1,
            b'c' => self.getnum(1)?,
            b'i' | b'I' => {
                let sz = self.getnum(4)?;
                if sz > MAXINTSIZE {
                    return Err(
                        format!("integral size {sz} is larger than limit of {MAXINTSIZE}").into(),
                    );
                }
                sz
            }
            _ => 0,
        })
    }

    fn control(&mut self, opt: u8, h: &mut Header, fname: &str) -> LibResult<()> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.getnum(MAXALIGN)?;
                if !a.is_power_of_two() {
                    return Err(format!("alignment {a} is not a power of 2").into());
                }
                h.align = a;
            }
            _ => {
                return Err(arg_error(
                    1,
                    fname,
                    &format!("invalid format option '{}'", opt as char),
                ))
            }
        }
        Ok(())
    }
}

fn toalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let align = size.min(h.align);
    (align - (len & (align - 1))) & (align - 1)
}

fn put_integer(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let mut value: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut buf = vec![0u8; size];
    for i in 0..size {
        let idx = if little { i } else { size - 1 - i };
        buf[idx] = (value & 0xff) as u8;
        value = value.checked_shr(8).unwrap_or(0);
    }
    out.extend_from_slice(&buf);
}

fn get_integer(b: &[u8], little: bool, signed: bool) -> f64 {
    let size = b.len();
    let mut l: u64 = 0;
    for i in 0..size {
        let byte = if little { b[size - 1 - i] } else { b[i] };
        l = (l.checked_shl(8).unwrap_or(0)) | byte as u64;
    }
    if !signed {
        return l as f64;
    }
    let mask = u64::MAX
        .checked_shl((size * 8).saturating_sub(1) as u32)
        .unwrap_or(0);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn fmt_arg(args: &[Value], fname: &str) -> LibResult<Vec<u8>> {
    match args.first() {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => {
            Ok(crate::vm::to_bytes(v).unwrap_or_default())
        }
        other => Err(type_error(1, fname, "string", other.unwrap_or(&Value::Nil))),
    }
}

fn str_arg(args: &[Value], i: usize, fname: &str) -> LibResult<Vec<u8>> {
    let v = args.get(i).unwrap_or(&Value::Nil);
    crate::vm::to_bytes(v).ok_or_else(|| type_error(i + 1, fname, "string", v))
}

/// `struct.pack(fmt, ...)`.
fn pack(args: &[Value]) -> LibResult<Vec<u8>> {
    let fmt = fmt_arg(args, "pack")?;
    let mut f = Fmt { f: &fmt, i: 0 };
    let mut h = Header::default();
    let mut arg = 1; // 0-based index of the next value
    let mut out = Vec::new();
    while f.i < fmt.len() {
        let opt = fmt[f.i];
        f.i += 1;
        let mut size = f.optsize(opt)?;
        let pad = toalign(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(args, arg, "pack")?;
                arg += 1;
                put_integer(&mut out, n, h.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let v = check_number(args, arg, "pack")? as f32;
                arg += 1;
                let b = if h.little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            b'd' => {
                let v = check_number(args, arg, "pack")?;
                arg += 1;
                let b = if h.little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            b'c' | b's' => {
                let s = str_arg(args, arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // struct.c reports the argument after the string.
                    return Err(arg_error(arg + 1, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => f.control(opt, &mut h, "pack")?,
        }
    }
    Ok(out)
}

/// `struct.unpack(fmt, data [, pos])`: the values and the next position.
fn unpack(lua: &Lua, args: &[Value]) -> LibResult<MultiValue> {
    let lua_err = |e: mlua::Error| LibError(e.to_string());
    let fmt = fmt_arg(args, "unpack")?;
    let data = str_arg(args, 1, "unpack")?;
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1,
        Some(_) => check_number(args, 2, "unpack")? as i64,
    };
    if start <= 0 {
        return Err(arg_error(3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = (start - 1) as usize;
    let mut f = Fmt { f: &fmt, i: 0 };
    let mut h = Header::default();
    let mut out: Vec<Value> = Vec::new();
    let ld = data.len();
    while f.i < fmt.len() {
        let opt = fmt[f.i];
        f.i += 1;
        let mut size = f.optsize(opt)?;
        pos += toalign(pos, &h, opt, size);
        if pos + size > ld {
            return Err(arg_error(2, "unpack", "data string too short"));
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                out.push(Value::Number(get_integer(
                    &data[pos..pos + size],
                    h.little,
                    signed,
                )));
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().expect("4 bytes");
                let v = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                out.push(Value::Number(v as f64));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().expect("8 bytes");
                let v = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                out.push(Value::Number(v));
            }
            b'c' => {
                if size == 0 {
                    let prev = out.last().and_then(crate::vm::num);
                    let Some(n) = prev else {
                        return Err("format 'c0' needs a previous size".into());
                    };
                    out.pop();
                    size = n as usize;
                    if size > ld || pos > ld - size {
                        return Err(arg_error(2, "unpack", "data string too short"));
                    }
                }
                out.push(Value::String(
                    lua.create_string(&data[pos..pos + size]).map_err(lua_err)?,
                ));
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err("unfinished string in data".into());
                };
                out.push(Value::String(
                    lua.create_string(&data[pos..pos + end]).map_err(lua_err)?,
                ));
                size = end + 1;
            }
            _ => f.control(opt, &mut h, "unpack")?,
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(values(out))
}

/// `struct.size(fmt)`.
fn size(args: &[Value]) -> LibResult<usize> {
    let fmt = fmt_arg(args, "size")?;
    let mut f = Fmt { f: &fmt, i: 0 };
    let mut h = Header::default();
    let mut pos = 0;
    while f.i < fmt.len() {
        let opt = fmt[f.i];
        f.i += 1;
        let size = f.optsize(opt)?;
        pos += toalign(pos, &h, opt, size);
        if opt == b's' {
            return Err(arg_error(1, "size", "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(opt, &mut h, "size")?;
        }
        pos += size;
    }
    Ok(pos)
}

pub(crate) fn table(ctx: &LibCtx) -> mlua::Result<Table> {
    let t = ctx.lua.create_table()?;
    let p = ctx.func(|lua, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok(match pack(&args) {
            Ok(b) => Ok(values(vec![Value::String(lua.create_string(b)?)])),
            Err(e) => Err(e),
        })
    })?;
    t.raw_set("pack", p)?;
    let u = ctx.func(|lua, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok(unpack(lua, &args))
    })?;
    t.raw_set("unpack", u)?;
    let s = ctx.func(|_, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok(size(&args).map(|n| values(vec![Value::Number(n as f64)])))
    })?;
    t.raw_set("size", s)?;
    Ok(t)
}
