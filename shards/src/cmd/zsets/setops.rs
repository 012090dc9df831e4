//! ZUNION / ZINTER / ZDIFF, their STORE forms and ZINTERCARD, over sorted sets and
//! plain sets.

use std::collections::HashMap;

use bytes::Bytes;

use super::{arg, cmd_name, elems_reply, other, parse_score, store_result, Ctx};
use crate::args::{eq_ic, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::set::Set;
use crate::types::zset::{Elem, ZSet};
use crate::value::Value;

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, target: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *target += v;
                // inf + -inf: Redis keeps 0 rather than NaN.
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if v < *target {
                    *target = v;
                }
            }
            Aggregate::Max => {
                if v > *target {
                    *target = v;
                }
            }
        }
    }
}

/// An input of a set operation: a sorted set, or a plain set whose members score 1.
enum Source<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Z(z) => z.len(),
            Source::S(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Z(z) => z.score(member),
            Source::S(s) => set_contains(s, member).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Missing => {}
            Source::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Source::S(s) => set_for_each(s, |m| f(m, 1.0)),
        }
    }
}

// The plain-set adapter: the `Set` type is owned by the sets work; these two functions
// are the only place sorted-set operations touch its internals.
fn set_contains(s: &Set, member: &[u8]) -> bool {
    s.contains(member)
}

fn set_for_each(s: &Set, mut f: impl FnMut(&[u8])) {
    s.iter().for_each(|m| m.with_bytes(|b| f(b)));
}

/// Looks an input up again (after the first, counted read).
fn source<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Source<'a> {
    match ctx.ks.lookup(ctx.db, key).map(|e| e.value()) {
        Some(Value::ZSet(z)) => Source::Z(z),
        Some(Value::Set(s)) => Source::S(s),
        _ => Source::Missing,
    }
}

struct SetOpArgs<'a> {
    keys: &'a [Bytes],
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

fn setop_parse<'a>(
    ctx: &mut Ctx,
    args: &'a [Bytes],
    numkeys_idx: usize,
    op: SetOp,
    store: bool,
    card_only: bool,
) -> CmdResult<SetOpArgs<'a>> {
    let setnum = parse_i64(arg(args, numkeys_idx)?)?;
    if setnum < 1 {
        return Err(other(&format!(
            "ERR at least 1 input key is needed for '{}' command",
            cmd_name(args)
        )));
    }
    let first = numkeys_idx + 1;
    if setnum as u64 > (args.len() - first) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let keys = &args[first..first + setnum];
    for key in keys {
        match ctx.ks.read(ctx.db, key, ctx.touch).map(|e| e.value()) {
            None | Some(Value::ZSet(_)) | Some(Value::Set(_)) => {}
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    let mut out = SetOpArgs {
        keys,
        weights: vec![1.0; setnum],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = first + setnum;
    while j < args.len() {
        let a = &args[j];
        let remaining = args.len() - j;
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ic(a, "weights") {
            for (i, w) in args[j + 1..j + 1 + setnum].iter().enumerate() {
                out.weights[i] =
                    parse_score(w).map_err(|_| other("ERR weight value is not a float"))?;
            }
            j += 1 + setnum;
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(a, "aggregate") {
            let v = &args[j + 1];
            out.aggregate = match () {
                _ if eq_ic(v, "sum") => Aggregate::Sum,
                _ if eq_ic(v, "min") => Aggregate::Min,
                _ if eq_ic(v, "max") => Aggregate::Max,
                _ => return Err(CmdError::Syntax),
            };
            j += 2;
        } else if !store && !card_only && eq_ic(a, "withscores") {
            out.withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(a, "limit") {
            match parse_i64(&args[j + 1]) {
                Ok(n) if n >= 0 => out.limit = n as usize,
                _ => return Err(other("ERR LIMIT can't be negative")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(out)
}

/// Computes a set operation; with `card_only` returns just the cardinality (ZINTERCARD).
fn setop_compute(ctx: &mut Ctx, p: &SetOpArgs, op: SetOp, card_only: bool) -> (Vec<Elem>, usize) {
    // Inputs with their weights, smallest first for union and intersection, as Redis
    // orders them (which also fixes the order in which SUM adds up).
    let mut order: Vec<(usize, usize)> = p
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (source(ctx, k).len(), i))
        .collect();
    if op != SetOp::Diff {
        order.sort_by_key(|&(len, _)| len);
    }
    match op {
        SetOp::Inter => {
            let (len0, i0) = order[0];
            if len0 == 0 {
                return (Vec::new(), 0);
            }
            let w0 = p.weights[i0];
            let mut acc: Vec<(Vec<u8>, f64)> = Vec::with_capacity(len0);
            source(ctx, &p.keys[i0]).for_each(|m, s| {
                let v = w0 * s;
                acc.push((m.to_vec(), if v.is_nan() { 0.0 } else { v }));
            });
            for &(_, i) in &order[1..] {
                let w = p.weights[i];
                let src = source(ctx, &p.keys[i]);
                acc.retain_mut(|(m, score)| match src.score(m) {
                    Some(s) => {
                        p.aggregate.apply(score, s * w);
                        true
                    }
                    None => false,
                });
            }
            if card_only {
                let n = acc.len();
                return (Vec::new(), if p.limit > 0 { n.min(p.limit) } else { n });
            }
            let elems: Vec<Elem> = acc.into_iter().map(|(m, s)| Elem::new(&m, s)).collect();
            let n = elems.len();
            (elems, n)
        }
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64, ahash::RandomState> = HashMap::default();
            for &(_, i) in &order {
                let w = p.weights[i];
                source(ctx, &p.keys[i]).for_each(|m, s| {
                    let mut v = w * s;
                    if v.is_nan() {
                        v = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => p.aggregate.apply(t, v),
                        None => {
                            acc.insert(m.to_vec(), v);
                        }
                    }
                });
            }
            let elems: Vec<Elem> = acc.into_iter().map(|(m, s)| Elem::new(&m, s)).collect();
            let n = elems.len();
            (elems, n)
        }
        SetOp::Diff => {
            let mut acc: Vec<(Vec<u8>, f64)> = Vec::new();
            source(ctx, &p.keys[0]).for_each(|m, s| acc.push((m.to_vec(), s)));
            for key in &p.keys[1..] {
                if acc.is_empty() {
                    break;
                }
                let src = source(ctx, key);
                acc.retain(|(m, _)| src.score(m).is_none());
            }
            let elems: Vec<Elem> = acc.into_iter().map(|(m, s)| Elem::new(&m, s)).collect();
            let n = elems.len();
            (elems, n)
        }
    }
}

fn setop_command(ctx: &mut Ctx, args: &[Bytes], op: SetOp, store: bool) -> CmdResult<Reply> {
    let numkeys_idx = if store { 2 } else { 1 };
    let p = setop_parse(ctx, args, numkeys_idx, op, store, false)?;
    let (mut elems, _) = setop_compute(ctx, &p, op, false);
    if store {
        let dst = arg(args, 1)?;
        return Ok(Reply::Int(store_result(ctx, dst, elems) as i64));
    }
    elems.sort_by(|a, b| a.cmp_to(b.score, &b.member));
    Ok(elems_reply(&elems, p.withscores))
}

pub fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Union, false)
}

pub fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Inter, false)
}

pub fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Diff, false)
}

pub fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Union, true)
}

pub fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Inter, true)
}

pub fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Diff, true)
}

pub fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let p = setop_parse(ctx, args, 1, SetOp::Inter, false, true)?;
    let (_, n) = setop_compute(ctx, &p, SetOp::Inter, true);
    Ok(Reply::Int(n as i64))
}
