//! SORT and SORT_RO over lists, sets and sorted sets, with redis-server 7.0's option
//! parsing, BY / GET patterns (`*` substitution, `->field` hash lookups, `#`), LIMIT
//! clamping, numeric and ALPHA ordering, and STORE.
//!
//! The sorting core (`sort_elements`) works on a plain vector of elements so it does not
//! depend on the collection types; the accessors at the bottom of the file are where the
//! list, set, sorted-set and hash types plug in.

use std::borrow::Cow;
use std::cmp::Ordering;

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Keyspace;
use crate::reply::Reply;
use crate::types::list::{List, Shape};
use crate::value::Value;

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]
pub fn sort(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    sort_generic(ctx, args, false)
}

/// SORT_RO: SORT without STORE.
pub fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    sort_generic(ctx, args, true)
}

fn sort_generic(ctx: &mut Ctx, args: &[Bytes], readonly: bool) -> CmdResult<Reply> {
    let opts = SortOpts::parse(args, readonly)?;
    let key = arg(args, 1)?;
    let (db, touch) = (ctx.db, ctx.touch);
    let (kind, elems) = match ctx.ks.read(db, key, touch) {
        // A missing key sorts as an empty list.
        None => (Kind::List, Vec::new()),
        Some(e) => collection_elements(e.value())?,
    };
    let rows = sort_elements(kind, elems, &opts, &mut |pattern: &[u8], elem: &[u8]| {
        lookup_by_pattern(ctx.ks, db, touch, pattern, elem)
    })?;
    Ok(finish(ctx, &opts, rows))
}

/// Replies the rows, or stores them as a list (nil GETs stored as empty strings).
fn finish(ctx: &mut Ctx, opts: &SortOpts, rows: Vec<Option<Vec<u8>>>) -> Reply {
    let Some(dest) = &opts.store else {
        return Reply::Array(
            rows.into_iter()
                .map(|r| r.map_or(Reply::Nil, Reply::Bulk))
                .collect(),
        );
    };
    let len = rows.len();
    if len == 0 {
        ctx.ks.remove(ctx.db, dest);
    } else {
        let items = rows.into_iter().map(Option::unwrap_or_default).collect();
        // Like Redis's setKey: replaces any value and clears the TTL.
        let shape = Shape::of(&ctx.ks.config);
        ctx.ks.set(ctx.db, dest, list_value(shape, items), 0);
    }
    Reply::Int(len as i64)
}

/// The kind of collection being sorted.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    List,
    Set,
    ZSet,
}

#[derive(Debug, Clone, Default)]
struct SortOpts {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    by: Option<Vec<u8>>,
    /// BY a pattern without `*`: keep the collection's own order.
    dontsort: bool,
    gets: Vec<Vec<u8>>,
    store: Option<Vec<u8>>,
}

impl SortOpts {
    fn parse(args: &[Bytes], readonly: bool) -> CmdResult<SortOpts> {
        let mut o = SortOpts {
            limit_count: -1,
            ..SortOpts::default()
        };
        let mut j = 2;
        while j < args.len() {
            let a = &args[j][..];
            let left = args.len() - j - 1;
            if eq_ic(a, "asc") {
                o.desc = false;
            } else if eq_ic(a, "desc") {
                o.desc = true;
            } else if eq_ic(a, "alpha") {
                o.alpha = true;
            } else if eq_ic(a, "limit") && left >= 2 {
                o.limit_start = parse_i64(&args[j + 1])?;
                o.limit_count = parse_i64(&args[j + 2])?;
                j += 2;
            } else if !readonly && eq_ic(a, "store") && left >= 1 {
                o.store = Some(args[j + 1].to_vec());
                j += 1;
            } else if eq_ic(a, "by") && left >= 1 {
                let pattern = &args[j + 1][..];
                // Once set, a constant BY keeps SORT from sorting even if a later BY
                // has a `*` (as in Redis).
                if !c_str(pattern).contains(&b'*') {
                    o.dontsort = true;
                }
                o.by = Some(pattern.to_vec());
                j += 1;
            } else if eq_ic(a, "get") && left >= 1 {
                o.gets.push(args[j + 1].to_vec());
                j += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(o)
    }
}

/// Resolves a BY/GET pattern for an element: `lookup(pattern, element)`.
type PatternLookup<'a> = dyn FnMut(&[u8], &[u8]) -> Option<Vec<u8>> + 'a;

/// A value to sort with its sort key.
struct Item {
    elem: Vec<u8>,
    score: f64,
    /// The BY value for ALPHA sorts by pattern (None: the key was missing).
    cmp: Option<Vec<u8>>,
}

/// Sorts `elems` (in the collection's native order: list order, set iteration order,
/// sorted-set score order) and returns the output rows: the elements, or for each
/// element one row per GET pattern (None where the lookup found nothing).
/// `lookup(pattern, element)` resolves BY and GET patterns.
fn sort_elements(
    kind: Kind,
    elems: Vec<Vec<u8>>,
    opts: &SortOpts,
    lookup: &mut PatternLookup,
) -> CmdResult<Vec<Option<Vec<u8>>>> {
    // BY without a `*` would leave a set in its (unstable) iteration order; Redis sorts
    // it alphabetically instead when the result is stored.
    let set_store = opts.dontsort && kind == Kind::Set && opts.store.is_some();
    let owned;
    let opts = if set_store {
        owned = SortOpts {
            dontsort: false,
            alpha: true,
            by: None,
            ..opts.clone()
        };
        &owned
    } else {
        opts
    };
    let len = elems.len() as i64;
    let mut start = opts.limit_start.clamp(0, len);
    let count = opts.limit_count.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);

    let direct = opts.dontsort && matches!(kind, Kind::List | Kind::ZSet);
    let mut items: Vec<Item> = if direct {
        // Native order (reversed for DESC), only the LIMIT range.
        let mut elems = elems;
        if opts.desc {
            elems.reverse();
        }
        let taken = if end >= start {
            (end - start + 1) as usize
        } else {
            0
        };
        let items = elems
            .into_iter()
            .skip(start.max(0) as usize)
            .take(taken)
            .map(|elem| Item {
                elem,
                score: 0.0,
                cmp: None,
            })
            .collect();
        if end >= start {
            end -= start;
            start = 0;
        }
        items
    } else {
        elems
            .into_iter()
            .map(|elem| Item {
                elem,
                score: 0.0,
                cmp: None,
            })
            .collect()
    };

    if !opts.dontsort {
        let mut bad_score = false;
        for item in &mut items {
            let by_value = match &opts.by {
                Some(pattern) => match lookup(pattern, &item.elem) {
                    Some(v) => Some(v),
                    None => continue,
                },
                None => None,
            };
            if opts.alpha {
                item.cmp = by_value;
            } else {
                match parse_score(by_value.as_deref().unwrap_or(&item.elem)) {
                    Some(s) => item.score = s,
                    None => bad_score = true,
                }
            }
        }
        if bad_score {
            return Err(CmdError::other(
                "ERR One or more scores can't be converted into double",
            ));
        }
        let by_pattern = opts.by.is_some();
        let store = opts.store.is_some();
        items.sort_by(|a, b| {
            let ord = compare(a, b, opts.alpha, by_pattern, store);
            if opts.desc {
                ord.reverse()
            } else {
                ord
            }
        });
    }

    let mut rows = Vec::new();
    if end < start {
        return Ok(rows);
    }
    for item in items.drain(start as usize..=end as usize) {
        if opts.gets.is_empty() {
            rows.push(Some(item.elem));
            continue;
        }
        for pattern in &opts.gets {
            rows.push(lookup(pattern, &item.elem));
        }
    }
    Ok(rows)
}

/// Redis's sortCompare. Numeric ties fall back to comparing the elements as binary
/// strings. ALPHA compares with strcoll (byte order in the C locale, up to a NUL)
/// unless storing, when it compares binary strings; a missing BY value sorts first.
fn compare(a: &Item, b: &Item, alpha: bool, by_pattern: bool, store: bool) -> Ordering {
    let text_cmp = |x: &[u8], y: &[u8]| {
        if store {
            x.cmp(y)
        } else {
            c_str(x).cmp(c_str(y))
        }
    };
    if !alpha {
        return a
            .score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.elem.cmp(&b.elem));
    }
    if !by_pattern {
        return text_cmp(&a.elem, &b.elem);
    }
    match (&a.cmp, &b.cmp) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => text_cmp(x, y),
    }
}

/// The part of `b` a C string function sees: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

/// Parses a sort weight as Redis does with strtod: leading whitespace allowed, the
/// whole (NUL-terminated) text must be consumed, and NaN or a result out of double
/// range (overflow, underflow to zero or subnormal) is refused. An empty text is 0.
fn parse_score(b: &[u8]) -> Option<f64> {
    let s = c_str(b);
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let neg = match s.get(i) {
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
    let body = &s[i..];
    let sign = if neg { -1.0 } else { 1.0 };
    let starts_ic =
        |t: &[u8], w: &str| t.len() >= w.len() && t[..w.len()].eq_ignore_ascii_case(w.as_bytes());
    if starts_ic(body, "inf") {
        let rest = if starts_ic(body, "infinity") { 8 } else { 3 };
        return (body.len() == rest).then_some(sign * f64::INFINITY);
    }
    if starts_ic(body, "nan") {
        return None;
    }
    let hex_digits = |t: &[u8]| t.first().is_some_and(u8::is_ascii_hexdigit);
    if starts_ic(body, "0x")
        && (hex_digits(&body[2..]) || (body.get(2) == Some(&b'.') && hex_digits(&body[3..])))
    {
        return parse_hex_float(&body[2..]).map(|v| sign * v);
    }
    // Decimal: digits [. digits] [e [sign] digits], at least one mantissa digit.
    let digits =
        |t: &[u8], from: usize| t[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut j = digits(body, 0);
    let mut mantissa_digits = j;
    if body.get(j) == Some(&b'.') {
        let frac = digits(body, j + 1);
        mantissa_digits += frac;
        j += 1 + frac;
    }
    if mantissa_digits == 0 {
        // No conversion: strtod leaves the end pointer at the start of the text.
        return s.is_empty().then_some(0.0);
    }
    let nonzero = body[..j].iter().any(|c| (b'1'..=b'9').contains(c));
    if matches!(body.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(body.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp = digits(body, k);
        if exp > 0 {
            j = k + exp;
        }
    }
    if j != body.len() {
        return None;
    }
    let v: f64 = std::str::from_utf8(&body[..j]).ok()?.parse().ok()?;
    in_range(v, nonzero).map(|v| sign * v)
}

/// The value of a C99 hex float body (after `0x`); None if text is left over.
fn parse_hex_float(t: &[u8]) -> Option<f64> {
    let mut mantissa = 0f64;
    let mut exp: i64 = 0;
    let mut i = 0;
    let mut nonzero = false;
    let mut seen_point = false;
    while i < t.len() {
        let c = t[i];
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            nonzero |= d != 0;
            mantissa = mantissa * 16.0 + d as f64;
            if seen_point {
                exp -= 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if matches!(t.get(i), Some(b'p' | b'P')) {
        let mut k = i + 1;
        let neg = match t.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        let n = t[k..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            let e: i64 = std::str::from_utf8(&t[k..k + n])
                .ok()?
                .parse()
                .unwrap_or(i64::MAX / 2);
            exp = exp.saturating_add(if neg { -e } else { e });
            i = k + n;
        }
    }
    if i != t.len() {
        return None;
    }
    let v = mantissa * 2f64.powi(exp.clamp(-2000, 2000) as i32);
    in_range(v, nonzero)
}

/// strtod's ERANGE: overflow to infinity, or a nonzero text that underflowed.
fn in_range(v: f64, nonzero: bool) -> Option<f64> {
    if v.is_infinite() || (nonzero && (v == 0.0 || v.abs() < f64::MIN_POSITIVE)) {
        None
    } else {
        Some(v)
    }
}

/// Resolves a BY/GET pattern for one element: `#` is the element itself; otherwise the
/// first `*` is replaced by the element and the resulting key read, as a string, or
/// with `key->field` as a hash field. None when there is no `*` or nothing is found.
fn lookup_by_pattern(
    ks: &mut Keyspace,
    db: usize,
    touch: bool,
    pattern: &[u8],
    elem: &[u8],
) -> Option<Vec<u8>> {
    if c_str(pattern) == b"#" {
        return Some(elem.to_vec());
    }
    let (key, field) = pattern_key(pattern, elem)?;
    let entry = ks.read(db, &key, touch)?;
    match (field, entry.value()) {
        (Some(field), value) => hash_field(value, field),
        (None, Value::Str(s)) => Some(s.to_vec()),
        (None, _) => None,
    }
}

/// The key a BY/GET pattern names for `elem` (the first `*` replaced by it), and the
/// hash field after `->` when there is one; None without a `*` (or for `#`).
pub fn pattern_key<'p>(pattern: &'p [u8], elem: &[u8]) -> Option<(Vec<u8>, Option<&'p [u8]>)> {
    if c_str(pattern) == b"#" {
        return None;
    }
    let star = c_str(pattern).iter().position(|&c| c == b'*')?;
    let after = &c_str(pattern)[star + 1..];
    // `->` after the star with a non-empty field name makes it a hash lookup.
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .map(|p| star + 1 + p)
        .filter(|&p| p + 2 < c_str(pattern).len());
    let (key_tail_end, field) = match arrow {
        Some(p) => (p, Some(&pattern[p + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&pattern[star + 1..key_tail_end]);
    Some((key, field))
}

/// Redis Cluster's refusal of a SORT that reads other keys: the first BY with a `*`
/// pattern or GET among its options, as redis-server words it in cluster mode.
pub fn cluster_refusal(args: &[Bytes]) -> Option<&'static str> {
    let mut j = 2;
    while j + 1 < args.len() {
        let a = &args[j][..];
        if eq_ic(a, "by") {
            if c_str(&args[j + 1]).contains(&b'*') {
                return Some("ERR BY option of SORT denied in Cluster mode.");
            }
            j += 1;
        } else if eq_ic(a, "get") {
            return Some("ERR GET option of SORT denied in Cluster mode.");
        } else if eq_ic(a, "limit") {
            j += 2;
        } else if eq_ic(a, "store") {
            j += 1;
        }
        j += 1;
    }
    None
}

/// The BY and GET patterns of a SORT / SORT_RO that may read other keys (those with a
/// `*`); empty when there are none or the arguments do not parse.
pub fn key_patterns(args: &[Bytes], readonly: bool) -> Vec<Vec<u8>> {
    let Ok(o) = SortOpts::parse(args, readonly) else {
        return Vec::new();
    };
    o.by.into_iter()
        .chain(o.gets)
        .filter(|p| c_str(p) != b"#" && c_str(p).contains(&b'*'))
        .collect()
}

/// The keys SORT's patterns read for the elements of `value` (none for another type).
pub fn keys_read(value: &Value, patterns: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let Ok((_, elems)) = collection_elements(value) else {
        return Vec::new();
    };
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in &elems {
        for p in patterns {
            if let Some((k, _)) = pattern_key(p, e) {
                if seen.insert(k.clone()) {
                    keys.push(k);
                }
            }
        }
    }
    keys
}

// ---- Collection accessors ----
//
/// The elements of a sortable collection; WRONGTYPE for anything else.
fn collection_elements(value: &Value) -> CmdResult<(Kind, Vec<Vec<u8>>)> {
    match value {
        Value::Set(set) => Ok((Kind::Set, set.iter().map(|m| m.to_vec()).collect())),
        Value::List(list) => Ok((Kind::List, list.iter().map(Cow::into_owned).collect())),
        Value::ZSet(z) => Ok((Kind::ZSet, z.iter().map(|(m, _)| m.to_vec()).collect())),
        _ => Err(CmdError::WrongType),
    }
}

/// A hash field's value for `->field` patterns.
fn hash_field(value: &Value, field: &[u8]) -> Option<Vec<u8>> {
    match value {
        Value::Hash(hash) => hash.get(field).map(<[u8]>::to_vec),
        _ => None,
    }
}

/// The list SORT ... STORE writes.
fn list_value(shape: Shape, items: Vec<Vec<u8>>) -> Value {
    Value::List(Box::new(List::build(shape, items)))
}

#[cfg(test)]
#[path = "tests/sort.rs"]
mod tests;
