//! LuaBitOp's `bit` library: operations on 32-bit integers, results as signed numbers.

use mlua::{MultiValue, Table, Value};

use super::{check_number, values, LibCtx, LibResult};

/// LuaBitOp's `tobit`: the number modulo 2^32 (rounded to an integer), as an int32.
pub fn tobit(n: f64) -> i32 {
    // 2^52 + 2^51: adding it leaves the rounded integer in the low 32 bits.
    let magic = n + 6_755_399_441_055_744.0;
    magic.to_bits() as u32 as i32
}

fn arg(args: &[Value], i: usize, fname: &str) -> LibResult<i32> {
    Ok(tobit(check_number(args, i, fname)?))
}

fn ok(v: i32) -> LibResult<MultiValue> {
    Ok(values(vec![Value::Number(v as f64)]))
}

fn unary(ctx: &LibCtx, t: &Table, name: &'static str, f: fn(i32) -> i32) -> mlua::Result<()> {
    let func = ctx.func(move |_, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok(arg(&args, 0, name).and_then(|x| ok(f(x))))
    })?;
    t.raw_set(name, func)
}

fn fold(ctx: &LibCtx, t: &Table, name: &'static str, f: fn(i32, i32) -> i32) -> mlua::Result<()> {
    let func = ctx.func(move |_, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok((|| {
            let mut acc = arg(&args, 0, name)?;
            for i in 1..args.len() {
                acc = f(acc, arg(&args, i, name)?);
            }
            ok(acc)
        })())
    })?;
    t.raw_set(name, func)
}

fn shift(ctx: &LibCtx, t: &Table, name: &'static str, f: fn(i32, u32) -> i32) -> mlua::Result<()> {
    let func = ctx.func(move |_, args| {
        let args: Vec<Value> = args.into_iter().collect();
        Ok((|| {
            let x = arg(&args, 0, name)?;
            let n = arg(&args, 1, name)? as u32 & 31;
            ok(f(x, n))
        })())
    })?;
    t.raw_set(name, func)
}

pub(crate) fn table(ctx: &LibCtx) -> mlua::Result<Table> {
    let t = ctx.lua.create_table()?;
    unary(ctx, &t, "tobit", |x| x)?;
    unary(ctx, &t, "bnot", |x| !x)?;
    unary(ctx, &t, "bswap", |x| x.swap_bytes())?;
    fold(ctx, &t, "band", |a, b| a & b)?;
    fold(ctx, &t, "bor", |a, b| a | b)?;
    fold(ctx, &t, "bxor", |a, b| a ^ b)?;
    shift(ctx, &t, "lshift", |x, n| ((x as u32) << n) as i32)?;
    shift(ctx, &t, "rshift", |x, n| ((x as u32) >> n) as i32)?;
    shift(ctx, &t, "arshift", |x, n| x >> n)?;
    shift(ctx, &t, "rol", |x, n| (x as u32).rotate_left(n) as i32)?;
    shift(ctx, &t, "ror", |x, n| (x as u32).rotate_right(n) as i32)?;
    let tohex = ctx.func(|lua, args| {
        let args: Vec<Value> = args.into_iter().collect();
        let x = match arg(&args, 0, "tohex") {
            Ok(x) => x as u32,
            Err(e) => return Ok(Err(e)),
        };
        let mut n = if args.len() > 1 && !matches!(args[1], Value::Nil) {
            match arg(&args, 1, "tohex") {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            }
        } else {
            8
        };
        let upper = n < 0;
        if upper {
            n = -n;
        }
        let n = n.min(8) as usize;
        let full = if upper {
            format!("{x:08X}")
        } else {
            format!("{x:08x}")
        };
        let s = lua.create_string(&full[8 - n..])?;
        Ok(Ok(values(vec![Value::String(s)])))
    })?;
    t.raw_set("tohex", tohex)?;
    Ok(t)
}
