//! Score and weight arguments, parsed as Redis parses them.

use crate::error::{CmdError, CmdResult};

/// A score or weight argument, parsed as Redis's `getDoubleFromObject`: `strtod` over
/// the whole argument (hex floats and `inf` accepted), but no leading whitespace, no
/// empty string, no NaN, and no overflow to infinity or underflow to zero.
pub fn parse_score(b: &[u8]) -> CmdResult<f64> {
    if b.is_empty() || matches!(b[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return Err(CmdError::NotFloat);
    }
    let v = strtod_whole(b).ok_or(CmdError::NotFloat)?;
    let body = b
        .strip_prefix(b"+")
        .or_else(|| b.strip_prefix(b"-"))
        .unwrap_or(b);
    let literal_inf = body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity");
    if v.is_infinite() && !literal_inf {
        return Err(CmdError::NotFloat);
    }
    if v == 0.0 {
        // Nonzero digits in the mantissa that still gave 0: an underflow.
        let lower = body.to_ascii_lowercase();
        let mantissa: &[u8] = match lower.strip_prefix(b"0x") {
            Some(hex) => hex.split(|&c| c == b'p').next().unwrap_or(b""),
            None => lower.split(|&c| c == b'e').next().unwrap_or(b""),
        };
        if mantissa
            .iter()
            .any(|c| c.is_ascii_alphanumeric() && *c != b'0')
        {
            return Err(CmdError::NotFloat);
        }
    }
    Ok(v)
}

/// C's `strtod` over the whole argument, as Redis's range parser uses it: leading
/// whitespace skipped, hex floats and `inf`/`infinity` accepted, NaN and trailing bytes
/// rejected; an empty string parses as 0 (nothing converted, nothing left over).
pub(super) fn strtod_whole(b: &[u8]) -> Option<f64> {
    if b.is_empty() {
        return Some(0.0);
    }
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let s = std::str::from_utf8(&b[start..]).ok()?;
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.starts_with(['+', '-']) {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if lower.starts_with("nan") {
        return None;
    } else if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        if !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// The part of a C hex float after `0x`: hex digits, an optional point, an optional
/// binary exponent `p[+-]digits`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.split_once('p') {
        Some((m, e)) => {
            let e: i32 = match e.strip_prefix('+') {
                Some(rest) if !rest.starts_with(['+', '-']) => rest.parse().ok()?,
                _ => e.parse().ok()?,
            };
            (m, e)
        }
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}
