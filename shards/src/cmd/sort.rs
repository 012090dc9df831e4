//! SORT and SORT_RO over lists, sets and sorted sets, with redis-server 7.0's option
//! parsing, BY / GET patterns (`*` substitution, `->field` hash lookups, `#`), LIMIT
//! clamping, numeric and ALPHA ordering, and STORE.
//!
//! The sorting core (`sort_elements`) works on a plain vector of elements so it does not
//! depend on the collection types; the accessors at the bottom of the file are where the
//! list, set, sorted-set and hash types plug in.

use std::cmp::Ordering;

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Keyspace;
use crate::reply::Reply;
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
        Some(e) => collection_elements(&e.value)?,
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
        let fill = ctx.ks.config.list_max_listpack_size;
        ctx.ks.set(ctx.db, dest, list_value(fill, items), 0);
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
    let entry = ks.read(db, &key, touch)?;
    match (field, &entry.value) {
        (Some(field), value) => hash_field(value, field),
        (None, Value::Str(s)) => Some(s.to_vec()),
        (None, _) => None,
    }
}

// ---- Collection accessors ----
//
/// The elements of a sortable collection; WRONGTYPE for anything else.
fn collection_elements(value: &Value) -> CmdResult<(Kind, Vec<Vec<u8>>)> {
    match value {
        Value::Set(set) => Ok((Kind::Set, set.iter().map(|m| m.to_vec()).collect())),
        Value::List(list) => Ok((Kind::List, list.iter().map(<[u8]>::to_vec).collect())),
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
fn list_value(fill: i64, items: Vec<Vec<u8>>) -> Value {
    Value::List(crate::types::list::List::build(fill, items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, Millis};
    use crate::cmd::Handler;
    use crate::types::hash::Hash;
    use crate::value::Str;

    const T0: Millis = 1_700_000_000_000;

    struct Env {
        ks: Keyspace,
    }

    impl Env {
        fn new() -> Env {
            let (clock, _now) = Clock::manual(T0);
            Env {
                ks: Keyspace::new(16, clock),
            }
        }

        fn call(&mut self, h: Handler, line: &str) -> Reply {
            let args: Vec<Bytes> = line
                .split(' ')
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            let mut ctx = Ctx {
                ks: &mut self.ks,
                db: 0,
                touch: true,
            };
            h(&mut ctx, &args).into()
        }

        fn set(&mut self, key: &str, v: &str) {
            self.ks.set(
                0,
                key.as_bytes(),
                Value::Str(Str::from_bytes(v.as_bytes())),
                0,
            );
        }

        /// Runs the sorting core on `elems` with the options of `options` (the words
        /// after the key), resolving patterns against this keyspace.
        fn sort_core(
            &mut self,
            kind: Kind,
            elems: &[&str],
            options: &str,
        ) -> Result<Vec<Option<String>>, CmdError> {
            let mut line = vec!["SORT", "k"];
            line.extend(options.split(' ').filter(|w| !w.is_empty()));
            let args: Vec<Bytes> = line
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            let opts = SortOpts::parse(&args, false)?;
            let elems = elems.iter().map(|e| e.as_bytes().to_vec()).collect();
            let ks = &mut self.ks;
            let rows = sort_elements(kind, elems, &opts, &mut |p: &[u8], e: &[u8]| {
                lookup_by_pattern(ks, 0, true, p, e)
            })?;
            Ok(rows
                .into_iter()
                .map(|r| r.map(|b| String::from_utf8(b).unwrap()))
                .collect())
        }

        /// `sort_core` when every row is present.
        fn sorted(&mut self, kind: Kind, elems: &[&str], options: &str) -> Vec<String> {
            self.sort_core(kind, elems, options)
                .unwrap()
                .into_iter()
                .map(|r| r.expect("row"))
                .collect()
        }
    }

    fn list(env: &mut Env, elems: &[&str], options: &str) -> Vec<String> {
        env.sorted(Kind::List, elems, options)
    }

    fn err(e: CmdError) -> Reply {
        Reply::Error(e)
    }

    fn score_err() -> CmdError {
        CmdError::other("ERR One or more scores can't be converted into double")
    }

    // ---- Parsing and the handler ----

    #[test]
    fn option_errors_come_before_the_type_check() {
        let mut env = Env::new();
        env.set("str", "hello");
        assert_eq!(
            env.call(sort, "SORT str LIMIT x y"),
            err(CmdError::NotInteger)
        );
        assert_eq!(
            env.call(sort, "SORT str LIMIT 0 y"),
            err(CmdError::NotInteger)
        );
        assert_eq!(env.call(sort, "SORT str foo"), err(CmdError::Syntax));
        assert_eq!(env.call(sort, "SORT nokey LIMIT 0"), err(CmdError::Syntax));
        assert_eq!(env.call(sort, "SORT nokey STORE"), err(CmdError::Syntax));
        assert_eq!(env.call(sort, "SORT nokey BY"), err(CmdError::Syntax));
        assert_eq!(env.call(sort, "SORT nokey GET"), err(CmdError::Syntax));
        assert_eq!(
            env.call(sort_ro, "SORT_RO nokey STORE d"),
            err(CmdError::Syntax)
        );
    }

    #[test]
    fn sorting_a_string_is_wrongtype() {
        let mut env = Env::new();
        env.set("str", "hello");
        assert_eq!(env.call(sort, "SORT str"), err(CmdError::WrongType));
        assert_eq!(
            env.call(sort_ro, "SORT_RO str ALPHA"),
            err(CmdError::WrongType)
        );
        assert_eq!(env.call(sort, "SORT str STORE d"), err(CmdError::WrongType));
        assert!(!env.ks.exists(0, b"d"));
    }

    #[test]
    fn missing_key_sorts_as_empty_list() {
        let mut env = Env::new();
        assert_eq!(env.call(sort, "SORT nokey"), Reply::Array(vec![]));
        assert_eq!(
            env.call(sort_ro, "SORT_RO nokey BY w_* GET # LIMIT 0 10 DESC ALPHA"),
            Reply::Array(vec![])
        );
    }

    #[test]
    fn store_of_empty_result_deletes_dest() {
        let mut env = Env::new();
        env.set("d", "x");
        assert_eq!(env.call(sort, "SORT nokey STORE d"), Reply::Int(0));
        assert!(!env.ks.exists(0, b"d"));
    }

    #[test]
    fn store_writes_a_list_replacing_dest_and_its_ttl() {
        let mut env = Env::new();
        env.set("d", "x");
        env.ks.set_expire(0, b"d", T0 + 10_000);
        let args: Vec<Bytes> = ["SORT", "k", "STORE", "d"]
            .iter()
            .map(|a| Bytes::from_static(a.as_bytes()))
            .collect();
        let opts = SortOpts::parse(&args, false).unwrap();
        let mut ctx = Ctx {
            ks: &mut env.ks,
            db: 0,
            touch: true,
        };
        let rows = vec![Some(b"a".to_vec()), None, Some(b"c".to_vec())];
        assert_eq!(finish(&mut ctx, &opts, rows), Reply::Int(3));
        let e = env.ks.lookup(0, b"d").unwrap();
        assert_eq!(e.value.type_name(), "list");
        assert_eq!(e.expire_at, 0);
    }

    #[test]
    fn replies_nil_for_missing_get_rows() {
        let mut env = Env::new();
        let args: Vec<Bytes> = vec![Bytes::from_static(b"SORT"), Bytes::from_static(b"k")];
        let opts = SortOpts::parse(&args, false).unwrap();
        let mut ctx = Ctx {
            ks: &mut env.ks,
            db: 0,
            touch: true,
        };
        assert_eq!(
            finish(&mut ctx, &opts, vec![Some(b"a".to_vec()), None]),
            Reply::Array(vec![Reply::bulk("a"), Reply::Nil])
        );
    }

    // ---- Ordering ----

    #[test]
    fn numeric_sort_ascending_and_descending() {
        let mut env = Env::new();
        let elems = ["3", "1", "2", "-1.5", "10", "1e1"];
        assert_eq!(
            list(&mut env, &elems, ""),
            ["-1.5", "1", "2", "3", "10", "1e1"]
        );
        assert_eq!(
            list(&mut env, &elems, "DESC"),
            ["1e1", "10", "3", "2", "1", "-1.5"]
        );
        assert_eq!(
            list(&mut env, &elems, "desc asc"),
            ["-1.5", "1", "2", "3", "10", "1e1"]
        );
    }

    #[test]
    fn non_numeric_values_without_alpha_fail() {
        let mut env = Env::new();
        for bad in ["a", "1e-310", "1e400", "nan", "5 ", "1_0", "   ", "0x"] {
            assert_eq!(
                env.sort_core(Kind::List, &[bad, "7"], ""),
                Err(score_err()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn numeric_parsing_follows_strtod() {
        let mut env = Env::new();
        for (v, before_7) in [
            ("", true),
            (" 5", true),
            ("0x10", false),
            ("inf", false),
            ("-inf", true),
            ("+5", true),
            ("5.", true),
            (".5", true),
            ("1e5", false),
            ("infinity", false),
            ("0x1p3", false),
            ("  -2.5e1", true),
            ("\t3", true),
            ("-0", true),
            ("0x1.8p2", true),
        ] {
            let want = if before_7 { [v, "7"] } else { ["7", v] };
            assert_eq!(list(&mut env, &[v, "7"], ""), want, "{v:?}");
        }
    }

    #[test]
    fn score_parser_values() {
        assert_eq!(parse_score(b""), Some(0.0));
        assert_eq!(parse_score(b"0x1.8p2"), Some(6.0));
        assert_eq!(parse_score(b"0X.8"), Some(0.5));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"5\0junk"), Some(5.0));
        assert_eq!(parse_score(b"1e"), None);
        assert_eq!(parse_score(b"1.e5"), Some(100000.0));
        assert_eq!(parse_score(b"0e999999999999"), Some(0.0));
        assert_eq!(parse_score(b"1e999999999999"), None);
        assert_eq!(parse_score(b"-"), None);
        assert_eq!(parse_score(b"infin"), None);
    }

    #[test]
    fn equal_scores_order_by_element_bytes() {
        let mut env = Env::new();
        assert_eq!(
            list(&mut env, &["1.0", "01", "1", "1e0"], ""),
            ["01", "1", "1.0", "1e0"]
        );
        assert_eq!(
            list(&mut env, &["1.0", "01", "1", "1e0"], "DESC"),
            ["1e0", "1.0", "1", "01"]
        );
    }

    #[test]
    fn alpha_sorts_by_bytes() {
        let mut env = Env::new();
        let elems = ["b", "a", "B", "10", "9", "ab"];
        assert_eq!(
            list(&mut env, &elems, "ALPHA"),
            ["10", "9", "B", "a", "ab", "b"]
        );
        assert_eq!(
            list(&mut env, &elems, "ALPHA DESC"),
            ["b", "ab", "a", "B", "9", "10"]
        );
    }

    #[test]
    fn alpha_compares_c_strings_unless_storing() {
        let mut env = Env::new();
        // "a\0z" and "a\0b" compare equal as C strings: stable order is kept.
        let elems = ["a\0z", "a\0b"];
        assert_eq!(list(&mut env, &elems, "ALPHA"), ["a\0z", "a\0b"]);
        assert_eq!(list(&mut env, &elems, "ALPHA STORE d"), ["a\0b", "a\0z"]);
    }

    #[test]
    fn sorted_set_members_sort_numerically_without_by() {
        let mut env = Env::new();
        assert_eq!(
            env.sorted(Kind::ZSet, &["10", "2", "33"], ""),
            ["2", "10", "33"]
        );
        assert_eq!(env.sort_core(Kind::ZSet, &["b", "a"], ""), Err(score_err()));
        assert_eq!(env.sorted(Kind::ZSet, &["b", "a"], "ALPHA"), ["a", "b"]);
    }

    // ---- LIMIT ----

    #[test]
    fn limit_clamps_like_redis() {
        let mut env = Env::new();
        let elems = ["3", "1", "2"];
        for (options, want) in [
            ("LIMIT 0 1", vec!["1"]),
            ("LIMIT 1 1", vec!["2"]),
            ("LIMIT 1 -1", vec!["2", "3"]),
            ("LIMIT -5 -1", vec!["1", "2", "3"]),
            ("LIMIT -5 2", vec!["1", "2"]),
            ("LIMIT 0 0", vec![]),
            ("LIMIT 5 1", vec![]),
            ("LIMIT 3 1", vec![]),
            ("LIMIT 2 9223372036854775807", vec!["3"]),
            ("LIMIT 9223372036854775807 9223372036854775807", vec![]),
            (
                "LIMIT -9223372036854775808 -9223372036854775808",
                vec!["1", "2", "3"],
            ),
            ("LIMIT 1 1 DESC", vec!["2"]),
        ] {
            assert_eq!(list(&mut env, &elems, options), want, "{options}");
        }
        assert_eq!(list(&mut env, &[], "LIMIT 0 5"), Vec::<String>::new());
    }

    // ---- BY ----

    #[test]
    fn by_constant_keeps_list_order_and_desc_reverses_it() {
        let mut env = Env::new();
        let elems = ["3", "1", "2", "x"];
        assert_eq!(list(&mut env, &elems, "BY nosort"), ["3", "1", "2", "x"]);
        assert_eq!(
            list(&mut env, &elems, "BY nosort DESC"),
            ["x", "2", "1", "3"]
        );
        assert_eq!(list(&mut env, &elems, "BY nosort LIMIT 1 1 DESC"), ["2"]);
        assert_eq!(list(&mut env, &elems, "BY nosort LIMIT 1 2"), ["1", "2"]);
        assert_eq!(
            list(&mut env, &elems, "BY nosort LIMIT 9 2"),
            Vec::<String>::new()
        );
        // A later BY with a star does not turn sorting back on.
        assert_eq!(
            list(&mut env, &elems, "BY nosort BY w_*"),
            ["3", "1", "2", "x"]
        );
    }

    #[test]
    fn by_constant_keeps_sorted_set_rank_order() {
        let mut env = Env::new();
        let elems = ["low", "mid", "high"];
        assert_eq!(env.sorted(Kind::ZSet, &elems, "BY nosort"), elems);
        assert_eq!(
            env.sorted(Kind::ZSet, &elems, "BY nosort DESC LIMIT 0 2"),
            ["high", "mid"]
        );
    }

    #[test]
    fn by_constant_on_set_keeps_iteration_order_unless_stored() {
        let mut env = Env::new();
        let elems = ["c", "a", "b"];
        assert_eq!(env.sorted(Kind::Set, &elems, "BY nosort"), ["c", "a", "b"]);
        assert_eq!(
            env.sorted(Kind::Set, &elems, "BY nosort STORE d"),
            ["a", "b", "c"]
        );
        assert_eq!(
            env.sorted(Kind::Set, &elems, "BY nosort STORE d DESC LIMIT 0 2"),
            ["c", "b"]
        );
    }

    #[test]
    fn by_pattern_sorts_by_weight_keys() {
        let mut env = Env::new();
        env.set("w_a", "3");
        env.set("w_b", "1");
        env.set("w_c", "2");
        let elems = ["a", "b", "c", "d"];
        // d has no weight: score 0.
        assert_eq!(list(&mut env, &elems, "BY w_*"), ["d", "b", "c", "a"]);
        assert_eq!(list(&mut env, &elems, "BY w_* DESC"), ["a", "c", "b", "d"]);
        assert_eq!(list(&mut env, &elems, "BY w_* LIMIT 1 2"), ["b", "c"]);
        env.set("w_d", "x");
        assert_eq!(
            env.sort_core(Kind::List, &elems, "BY w_*"),
            Err(score_err())
        );
    }

    #[test]
    fn by_pattern_star_anywhere_in_the_key() {
        let mut env = Env::new();
        env.set("pre-a-post", "2");
        env.set("pre-b-post", "1");
        assert_eq!(list(&mut env, &["a", "b"], "BY pre-*-post"), ["b", "a"]);
    }

    #[test]
    fn by_alpha_puts_missing_weights_first_and_keeps_ties_stable() {
        let mut env = Env::new();
        env.set("n_a", "zeta");
        env.set("n_b", "alpha");
        let elems = ["c", "a", "b", "d"];
        assert_eq!(list(&mut env, &elems, "BY n_* ALPHA"), ["c", "d", "b", "a"]);
        assert_eq!(
            list(&mut env, &elems, "BY n_* ALPHA DESC"),
            ["a", "b", "c", "d"]
        );
        assert_eq!(
            list(&mut env, &["c", "a", "b"], "BY nokey_* ALPHA"),
            ["c", "a", "b"]
        );
        assert_eq!(
            list(&mut env, &["c", "a", "b"], "BY nokey_*"),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn by_hash_field_on_strings_finds_nothing() {
        let mut env = Env::new();
        env.set("w_a", "3");
        env.set("w_b", "1");
        // `w_*->f` reads field f of hash w_a: a string there is no match (score 0).
        assert_eq!(list(&mut env, &["b", "a"], "BY w_*->f"), ["a", "b"]);
    }

    #[test]
    fn by_numeric_uses_weights_not_elements() {
        let mut env = Env::new();
        env.set("w_x", "5");
        env.set("w_y", "-5");
        assert_eq!(list(&mut env, &["x", "y"], "BY w_*"), ["y", "x"]);
    }

    // ---- GET ----

    #[test]
    fn get_patterns_fetch_per_element_rows() {
        let mut env = Env::new();
        env.set("obj_1", "one");
        env.set("obj_2", "two");
        assert_eq!(
            env.sort_core(Kind::List, &["2", "1", "3"], "GET obj_* GET #"),
            Ok(vec![
                Some("one".into()),
                Some("1".into()),
                Some("two".into()),
                Some("2".into()),
                None,
                Some("3".into()),
            ])
        );
    }

    #[test]
    fn get_without_star_or_of_non_strings_is_nil() {
        let mut env = Env::new();
        env.set("fixed", "v");
        env.ks.set(0, b"h_1", Value::Hash(Hash::default()), 0);
        assert_eq!(
            env.sort_core(Kind::List, &["1"], "GET fixed GET h_* GET h_*->f GET #x"),
            Ok(vec![None, None, None, None])
        );
    }

    #[test]
    fn get_arrow_without_field_is_part_of_the_key() {
        let mut env = Env::new();
        env.set("k_1->", "arrow");
        assert_eq!(
            env.sort_core(Kind::List, &["1"], "GET k_*->"),
            Ok(vec![Some("arrow".into())])
        );
    }

    #[test]
    fn get_with_limit_and_by() {
        let mut env = Env::new();
        for (e, w, name) in [("1", "30", "x"), ("2", "10", "y"), ("3", "20", "z")] {
            env.set(&format!("w_{e}"), w);
            env.set(&format!("n_{e}"), name);
        }
        assert_eq!(
            list(&mut env, &["1", "2", "3"], "BY w_* GET n_* LIMIT 1 5"),
            ["z", "x"]
        );
    }

    #[test]
    fn pattern_lookups_count_keyspace_hits_and_misses() {
        let mut env = Env::new();
        env.set("w_a", "1");
        let (h, m) = (env.ks.stats.hits, env.ks.stats.misses);
        list(&mut env, &["a", "b"], "BY w_*");
        assert_eq!((env.ks.stats.hits - h, env.ks.stats.misses - m), (1, 1));
    }

    // ---- Model-based property test ----

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn random_sorts_match_a_simple_model() {
        let mut env = Env::new();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for round in 0..1500 {
            let n = rng.below(12) as usize;
            let elems: Vec<String> = (0..n)
                .map(|_| match rng.below(3) {
                    0 => (rng.below(40) as i64 - 20).to_string(),
                    1 => format!("{}.5", rng.below(10)),
                    _ => format!("0{}", rng.below(5)),
                })
                .collect();
            let alpha = rng.below(2) == 0;
            let desc = rng.below(2) == 0;
            let limit =
                (rng.below(2) == 0).then(|| (rng.below(16) as i64 - 3, rng.below(16) as i64 - 3));
            let mut options = String::new();
            if alpha {
                options.push_str("ALPHA ");
            }
            if desc {
                options.push_str("DESC ");
            }
            if let Some((o, c)) = limit {
                options.push_str(&format!("LIMIT {o} {c}"));
            }
            // Model: stable sort by (number, text) or by text, then slice.
            let mut model = elems.clone();
            model.sort_by(|a, b| {
                let ord = if alpha {
                    a.cmp(b)
                } else {
                    let (x, y): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
                    x.partial_cmp(&y).unwrap().then_with(|| a.cmp(b))
                };
                if desc {
                    ord.reverse()
                } else {
                    ord
                }
            });
            let model: Vec<String> = match limit {
                None => model,
                Some((o, c)) => {
                    let skip = o.max(0) as usize;
                    let take = if c < 0 { usize::MAX } else { c as usize };
                    model.into_iter().skip(skip).take(take).collect()
                }
            };
            let refs: Vec<&str> = elems.iter().map(String::as_str).collect();
            assert_eq!(
                list(&mut env, &refs, &options),
                model,
                "round {round}: {elems:?} {options}"
            );
        }
    }
}
