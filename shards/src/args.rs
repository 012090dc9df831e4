//! Parsing of command arguments with Redis's rules (strict integers, `strtold`-like
//! floats) and a cursor that reports trailing garbage as a syntax error.

use crate::error::{CmdError, CmdResult};

/// Parses a signed 64-bit integer the way Redis's `string2ll` does: optional `-`, no
/// `+`, no spaces, no leading zeros, must fit in i64.
pub fn parse_i64(b: &[u8]) -> CmdResult<i64> {
    parse_i64_opt(b).ok_or(CmdError::NotInteger)
}

pub fn parse_i64_opt(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Formats `v` in decimal into `buf` and returns the digits (no allocation).
pub fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut pos = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

/// Parses a float as Redis's `string2ld`: no spaces, no NaN; `inf`/`-inf` accepted.
pub fn parse_f64(b: &[u8]) -> CmdResult<f64> {
    let s = std::str::from_utf8(b).map_err(|_| CmdError::NotFloat)?;
    if s.is_empty()
        || s.starts_with(|c: char| c.is_whitespace())
        || s.ends_with(char::is_whitespace)
    {
        return Err(CmdError::NotFloat);
    }
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("nan") {
        return Err(CmdError::NotFloat);
    }
    let v: f64 = match body {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        _ => s.parse().map_err(|_| CmdError::NotFloat)?,
    };
    if v.is_nan() {
        return Err(CmdError::NotFloat);
    }
    Ok(v)
}

/// Formats a double as C's `%.17g`, which Redis 7.0 uses for scores and other doubles
/// it replies: 17 significant digits, trailing zeros dropped, exponent form outside
/// 1e-4 .. 1e17.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    format_g(d, 17)
}

/// C's `printf("%.{prec}g", d)` (Lua's `tostring` and cjson use 14 digits).
pub fn format_g(d: f64, prec: usize) -> String {
    let prec = prec.max(1);
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // `prec` significant digits in scientific form give the exact decimal exponent.
    let sci = format!("{:.*e}", prec - 1, d);
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("scientific form has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if exp < -4 || exp >= prec as i32 {
        let m = trim_zeros(mantissa.to_string());
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (prec as i32 - 1 - exp).max(0) as usize;
    trim_zeros(format!("{d:.decimals$}"))
}

fn trim_zeros(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// Case-insensitive equality of an argument with an ASCII keyword.
#[inline]
pub fn eq_ic(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// A cursor over arguments after the command name.
pub struct ArgCursor<'a, T: AsRef<[u8]>> {
    args: &'a [T],
    pos: usize,
}

impl<'a, T: AsRef<[u8]>> ArgCursor<'a, T> {
    pub fn new(args: &'a [T]) -> Self {
        ArgCursor { args, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.args.len() - self.pos
    }

    pub fn peek(&self) -> Option<&'a [u8]> {
        self.args.get(self.pos).map(|a| a.as_ref())
    }

    pub fn next_arg(&mut self) -> Option<&'a [u8]> {
        let a = self.args.get(self.pos)?.as_ref();
        self.pos += 1;
        Some(a)
    }

    /// The next argument, or a syntax error when there is none.
    pub fn required(&mut self) -> CmdResult<&'a [u8]> {
        self.next_arg().ok_or(CmdError::Syntax)
    }

    pub fn next_i64(&mut self) -> CmdResult<i64> {
        parse_i64(self.required()?)
    }

    pub fn finish(&self) -> CmdResult<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(CmdError::Syntax)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_string2ll() {
        assert_eq!(parse_i64_opt(b"0"), Some(0));
        assert_eq!(parse_i64_opt(b"-1"), Some(-1));
        assert_eq!(parse_i64_opt(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_opt(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"01"[..],
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"",
            b"-",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(
                parse_i64_opt(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn doubles_format_like_printf_g17() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(-2.0), "-2");
        assert_eq!(format_double(1e17), "1e+17");
        assert_eq!(format_double(123456.0), "123456");
        assert_eq!(format_double(1.0e-5), "1.0000000000000001e-05");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(-1.25e-7), "-1.2499999999999999e-07");
    }

    #[test]
    fn floats_follow_string2ld() {
        assert_eq!(parse_f64(b"1.5").unwrap(), 1.5);
        assert_eq!(parse_f64(b"1e3").unwrap(), 1000.0);
        assert_eq!(parse_f64(b"-inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_f64(b".5").unwrap(), 0.5);
        for bad in [&b"nan"[..], b" 1", b"1 ", b"", b"abc"] {
            assert!(parse_f64(bad).is_err());
        }
    }
}
