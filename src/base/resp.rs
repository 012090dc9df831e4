//! RESP framing: finds complete commands (multibulk or inline) in a read buffer without
//! allocating, then hands out their arguments as zero-copy `Bytes`; and encodes typed
//! replies as RESP2 or RESP3.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use shards::Reply;

/// Longest header line (`*N` / `$N`) or inline command before we give up, as Redis.
const MAX_INLINE: usize = 64 * 1024;

/// Limits a client's input is held to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub proto_max_bulk_len: usize,
    /// Before authentication Redis allows only tiny requests.
    pub authenticated: bool,
}

/// A protocol violation; the connection is answered with `-ERR Protocol error: ...`
/// and closed.
#[derive(Debug, PartialEq)]
pub enum ProtoError {
    InvalidMultibulkLength,
    InvalidBulkLength,
    UnauthenticatedMultibulkLength,
    UnauthenticatedBulkLength,
    ExpectedDollar(u8),
    TooBigMultibulkCount,
    TooBigBulkCount,
    TooBigInline,
    UnbalancedQuotes,
}

impl ProtoError {
    pub fn message(&self) -> String {
        let detail = match self {
            ProtoError::InvalidMultibulkLength => "invalid multibulk length".to_string(),
            ProtoError::InvalidBulkLength => "invalid bulk length".to_string(),
            ProtoError::UnauthenticatedMultibulkLength => {
                "unauthenticated multibulk length".to_string()
            }
            ProtoError::UnauthenticatedBulkLength => "unauthenticated bulk length".to_string(),
            ProtoError::ExpectedDollar(c) => format!("expected '$', got '{}'", *c as char),
            ProtoError::TooBigMultibulkCount => "too big mbulk count string".to_string(),
            ProtoError::TooBigBulkCount => "too big bulk count string".to_string(),
            ProtoError::TooBigInline => "too big inline request".to_string(),
            ProtoError::UnbalancedQuotes => "unbalanced quotes in request".to_string(),
        };
        format!("ERR Protocol error: {detail}")
    }
}

/// Where a complete command lies in the buffer: its total length and its arguments.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A multibulk request whose argument ranges (relative to the frame) were appended
    /// to the caller's range list.
    Multibulk { len: usize, argc: usize },
    /// An inline request: the line (without CRLF) must be split; `len` includes EOL.
    Inline { len: usize, line: Range<usize> },
    /// A frame with no command (`*0`, `*-1`, empty line): skip it.
    Empty { len: usize },
}

/// Finds the CRLF-terminated line starting at `from`; returns the end of its content.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let rel = memchr::memchr(b'\r', buf.get(at..)?)?;
        let cr = at + rel;
        if buf.get(cr + 1) == Some(&b'\n') {
            return Some(cr);
        }
        if cr + 1 >= buf.len() {
            return None;
        }
        at = cr + 1;
    }
}

fn parse_len(line: &[u8]) -> Option<i64> {
    if line.is_empty() || line.len() > 19 {
        return None;
    }
    let (neg, digits) = match line[0] {
        b'-' => (true, &line[1..]),
        _ => (false, line),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        // 19 digits can pass i64::MAX: that is a bad length, as Redis's string2ll says.
        v = v.checked_mul(10)?.checked_add((c - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

/// Looks for one complete command at the start of `buf`. `Ok(None)`: need more bytes.
/// A multibulk frame's argument ranges are appended to `ranges`.
pub fn find_frame(
    buf: &[u8],
    limits: Limits,
    ranges: &mut Vec<Range<usize>>,
) -> Result<Option<Frame>, ProtoError> {
    match buf.first() {
        None => Ok(None),
        Some(b'*') => {
            let mark = ranges.len();
            let found = find_multibulk(buf, limits, ranges);
            if !matches!(found, Ok(Some(_))) {
                ranges.truncate(mark);
            }
            found
        }
        Some(_) => find_inline(buf),
    }
}

fn find_multibulk(
    buf: &[u8],
    limits: Limits,
    args: &mut Vec<Range<usize>>,
) -> Result<Option<Frame>, ProtoError> {
    let Some(eol) = find_crlf(buf, 1) else {
        return if buf.len() > MAX_INLINE {
            Err(ProtoError::TooBigMultibulkCount)
        } else {
            Ok(None)
        };
    };
    let count = parse_len(&buf[1..eol]).ok_or(ProtoError::InvalidMultibulkLength)?;
    if count > i32::MAX as i64 {
        return Err(ProtoError::InvalidMultibulkLength);
    }
    if !limits.authenticated && count > 10 {
        return Err(ProtoError::UnauthenticatedMultibulkLength);
    }
    let mut pos = eol + 2;
    if count <= 0 {
        return Ok(Some(Frame::Empty { len: pos }));
    }
    for _ in 0..count {
        let Some(&first) = buf.get(pos) else {
            return Ok(None);
        };
        if first != b'$' {
            return Err(ProtoError::ExpectedDollar(first));
        }
        let Some(eol) = find_crlf(buf, pos + 1) else {
            return if buf.len() - pos > MAX_INLINE {
                Err(ProtoError::TooBigBulkCount)
            } else {
                Ok(None)
            };
        };
        let len = parse_len(&buf[pos + 1..eol]).ok_or(ProtoError::InvalidBulkLength)?;
        if len < 0 || len > limits.proto_max_bulk_len as i64 {
            return Err(ProtoError::InvalidBulkLength);
        }
        if !limits.authenticated && len > 16 * 1024 {
            return Err(ProtoError::UnauthenticatedBulkLength);
        }
        let start = eol + 2;
        let end = start + len as usize;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        args.push(start..end);
        pos = end + 2;
    }
    Ok(Some(Frame::Multibulk {
        len: pos,
        argc: count as usize,
    }))
}

fn find_inline(buf: &[u8]) -> Result<Option<Frame>, ProtoError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > MAX_INLINE {
            Err(ProtoError::TooBigInline)
        } else {
            Ok(None)
        };
    };
    let end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    if buf[..end].iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Some(Frame::Empty { len: nl + 1 }));
    }
    Ok(Some(Frame::Inline {
        len: nl + 1,
        line: 0..end,
    }))
}

/// Splits an inline command line like redis-cli does: spaces separate arguments,
/// double quotes allow `\n \r \t \b \a \\ \" \xHH` escapes, single quotes allow `\'`.
pub fn split_inline(line: &[u8]) -> Result<Vec<Bytes>, ProtoError> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return Ok(out);
        }
        let mut cur = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else {
                        return Err(ProtoError::UnbalancedQuotes);
                    };
                    if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                        let hex = std::str::from_utf8(&line[i + 2..i + 4]).ok();
                        if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            cur.push(v);
                            i += 4;
                            continue;
                        }
                    }
                    if c == b'\\' && i + 1 < line.len() {
                        cur.push(match line[i + 1] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                        i += 2;
                    } else if c == b'"' {
                        i += 1;
                        if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err(ProtoError::UnbalancedQuotes);
                        }
                        break;
                    } else {
                        cur.push(c);
                        i += 1;
                    }
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else {
                        return Err(ProtoError::UnbalancedQuotes);
                    };
                    if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                        cur.push(b'\'');
                        i += 2;
                    } else if c == b'\'' {
                        i += 1;
                        if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err(ProtoError::UnbalancedQuotes);
                        }
                        break;
                    } else {
                        cur.push(c);
                        i += 1;
                    }
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    cur.push(line[i]);
                    i += 1;
                }
            }
        }
        out.push(Bytes::from(cur));
    }
}

/// Takes every complete command off the front of `buf`. Stops at the first protocol
/// error, returning the commands before it and the error. The complete frames are split
/// off the buffer once, and every argument is a zero-copy slice of that region.
pub fn take_commands(buf: &mut BytesMut, limits: Limits) -> (Vec<Vec<Bytes>>, Option<ProtoError>) {
    enum Found {
        Args {
            at: usize,
            first: usize,
            argc: usize,
        },
        Inline(Vec<Bytes>),
    }
    let mut found = Vec::new();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut pos = 0;
    let mut error = None;
    loop {
        match find_frame(&buf[pos..], limits, &mut ranges) {
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
            Ok(Some(Frame::Empty { len })) => pos += len,
            Ok(Some(Frame::Multibulk { len, argc })) => {
                let first = ranges.len() - argc;
                found.push(Found::Args {
                    at: pos,
                    first,
                    argc,
                });
                pos += len;
            }
            Ok(Some(Frame::Inline { len, line })) => {
                let text = &buf[pos + line.start..pos + line.end];
                match split_inline(text) {
                    Ok(args) if args.is_empty() => {}
                    Ok(args) => found.push(Found::Inline(args)),
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
                pos += len;
            }
        }
    }
    let region = buf.split_to(pos).freeze();
    let cmds = found
        .into_iter()
        .map(|f| match f {
            Found::Args { at, first, argc } => ranges[first..first + argc]
                .iter()
                .map(|r| region.slice(at + r.start..at + r.end))
                .collect(),
            Found::Inline(args) => args,
        })
        .collect();
    (cmds, error)
}

/// Appends the encoding of `reply` for protocol version `proto` (2 or 3).
pub fn encode(out: &mut Vec<u8>, reply: &Reply, proto: u8) {
    let resp3 = proto >= 3;
    match reply {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Status(s) => line(out, b'+', s.as_bytes()),
        Reply::Int(i) => {
            out.push(b':');
            push_int(out, *i);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Bulk(b) => bulk(out, b),
        Reply::Nil => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        Reply::NilArray => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" }),
        Reply::Array(items) => {
            header(out, b'*', items.len());
            for r in items {
                encode(out, r, proto);
            }
        }
        Reply::Push(items) => {
            header(out, if resp3 { b'>' } else { b'*' }, items.len());
            for r in items {
                encode(out, r, proto);
            }
        }
        Reply::Frames(replies) => {
            for r in replies {
                encode(out, r, proto);
            }
        }
        Reply::Set(items) => {
            header(out, if resp3 { b'~' } else { b'*' }, items.len());
            for r in items {
                encode(out, r, proto);
            }
        }
        Reply::Pairs(pairs) => {
            if resp3 {
                header(out, b'*', pairs.len());
                for (a, b) in pairs {
                    header(out, b'*', 2);
                    encode(out, a, proto);
                    encode(out, b, proto);
                }
            } else {
                header(out, b'*', pairs.len() * 2);
                for (a, b) in pairs {
                    encode(out, a, proto);
                    encode(out, b, proto);
                }
            }
        }
        Reply::KeyedArrays(pairs) => {
            header(out, if resp3 { b'%' } else { b'*' }, pairs.len());
            for (k, v) in pairs {
                if !resp3 {
                    header(out, b'*', 2);
                }
                encode(out, k, proto);
                encode(out, v, proto);
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                header(out, b'%', pairs.len());
            } else {
                header(out, b'*', pairs.len() * 2);
            }
            for (k, v) in pairs {
                encode(out, k, proto);
                encode(out, v, proto);
            }
        }
        Reply::Double(d) => {
            let text = shards::args::format_double(*d);
            if resp3 {
                line(out, b',', text.as_bytes());
            } else {
                bulk(out, text.as_bytes());
            }
        }
        Reply::DoubleText(text) => {
            if resp3 {
                line(out, b',', text.as_bytes());
            } else {
                bulk(out, text.as_bytes());
            }
        }
        Reply::Bool(b) => {
            if resp3 {
                out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
            } else {
                out.extend_from_slice(if *b { b":1\r\n" } else { b":0\r\n" });
            }
        }
        Reply::Verbatim(s) => {
            if resp3 {
                header(out, b'=', s.len() + 4);
                out.extend_from_slice(b"txt:");
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(out, s.as_bytes());
            }
        }
        Reply::Error(e) => {
            let msg = e.message();
            // Error lines must not break the protocol.
            let clean: String = msg
                .chars()
                .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
                .collect();
            line(out, b'-', clean.as_bytes());
        }
    }
}

/// Encodes an error line for a protocol error.
/// About how many bytes `reply` takes encoded (for output limits, not for framing).
pub fn approx_len(reply: &Reply) -> usize {
    const SMALL: usize = 16;
    match reply {
        Reply::Bulk(b) => b.len() + SMALL,
        Reply::Status(s) | Reply::DoubleText(s) | Reply::Verbatim(s) => s.len() + SMALL,
        Reply::Array(items) | Reply::Set(items) => {
            SMALL + items.iter().map(approx_len).sum::<usize>()
        }
        Reply::Map(pairs) | Reply::Pairs(pairs) | Reply::KeyedArrays(pairs) => {
            SMALL
                + pairs
                    .iter()
                    .map(|(a, b)| approx_len(a) + approx_len(b))
                    .sum::<usize>()
        }
        _ => SMALL,
    }
}

pub fn encode_error_line(out: &mut Vec<u8>, msg: &str) {
    line(out, b'-', msg.as_bytes());
}

fn line(out: &mut Vec<u8>, prefix: u8, s: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// Appends one command as a RESP array of bulk strings (what a client sends: the
/// append-only file's records, MIGRATE's requests).
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    header(out, b'*', args.len());
    for a in args {
        bulk(out, a.as_ref());
    }
}

fn header(out: &mut Vec<u8>, prefix: u8, n: usize) {
    out.push(prefix);
    push_int(out, n as i64);
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    header(out, b'$', b.len());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(shards::args::fmt_i64(v, &mut [0u8; 20]));
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHED: Limits = Limits {
        proto_max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn take(input: &[u8]) -> (Vec<Vec<Bytes>>, Option<ProtoError>, usize) {
        let mut buf = BytesMut::from(input);
        let (cmds, err) = take_commands(&mut buf, AUTHED);
        (cmds, err, buf.len())
    }

    #[test]
    fn pipelined_multibulk_commands_are_all_taken() {
        let (cmds, err, rest) = take(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3");
        assert_eq!(err, None);
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[1], vec![Bytes::from("GET"), Bytes::from("a")]);
        assert_eq!(rest, 6);
    }

    #[test]
    fn binary_bulk_strings_keep_crlf_inside() {
        let (cmds, _, rest) = take(b"*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n");
        assert_eq!(cmds[0][1], Bytes::from(&b"a\r\nb"[..]));
        assert_eq!(rest, 0);
    }

    #[test]
    fn protocol_errors_match_redis() {
        assert_eq!(take(b"*x\r\n").1, Some(ProtoError::InvalidMultibulkLength));
        assert_eq!(
            take(b"*3000000000\r\n").1,
            Some(ProtoError::InvalidMultibulkLength)
        );
        assert_eq!(take(b"*3000000\r\n").1, None);
        assert_eq!(
            take(b"*1\r\n$-2\r\n").1,
            Some(ProtoError::InvalidBulkLength)
        );
        assert_eq!(
            take(b"*1\r\n$abc\r\n").1,
            Some(ProtoError::InvalidBulkLength)
        );
        assert_eq!(
            take(b"*1\r\n+OK\r\n").1,
            Some(ProtoError::ExpectedDollar(b'+'))
        );
        let big = vec![b'a'; MAX_INLINE + 1];
        assert_eq!(take(&big).1, Some(ProtoError::TooBigInline));
        assert_eq!(
            ProtoError::InvalidBulkLength.message(),
            "ERR Protocol error: invalid bulk length"
        );
    }

    #[test]
    fn bulk_length_is_capped_by_proto_max_bulk_len() {
        let limits = Limits {
            proto_max_bulk_len: 10,
            authenticated: true,
        };
        let mut buf = BytesMut::from(&b"*1\r\n$11\r\n"[..]);
        assert_eq!(
            take_commands(&mut buf, limits).1,
            Some(ProtoError::InvalidBulkLength)
        );
    }

    #[test]
    fn inline_commands_split_like_redis_cli() {
        let (cmds, err, _) = take(b"SET k \"a b\\x41\\n\" 'it\\'s'\r\nPING\n\r\n");
        assert_eq!(err, None);
        assert_eq!(
            cmds[0],
            vec![
                Bytes::from("SET"),
                Bytes::from("k"),
                Bytes::from("a bA\n"),
                Bytes::from("it's")
            ]
        );
        assert_eq!(cmds[1], vec![Bytes::from("PING")]);
        assert_eq!(take(b"SET \"a\r\n").1, Some(ProtoError::UnbalancedQuotes));
    }

    #[test]
    fn random_input_never_panics_the_parser() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"*$\r\n0123456789-+ \"'\\xAZaz:";
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        r as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let mut buf = BytesMut::from(&bytes[..]);
            let _ = take_commands(&mut buf, AUTHED);
        }
    }

    #[test]
    fn empty_frames_are_skipped() {
        let (cmds, err, rest) = take(b"*0\r\n*-1\r\n\r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(err, None);
        assert_eq!(cmds.len(), 1);
        assert_eq!(rest, 0);
    }

    #[test]
    fn replies_encode_in_both_protocols() {
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        let mut out = Vec::new();
        encode(&mut out, &map, 2);
        assert_eq!(out, b"*2\r\n$1\r\na\r\n:1\r\n");
        out.clear();
        encode(&mut out, &map, 3);
        assert_eq!(out, b"%1\r\n$1\r\na\r\n:1\r\n");
        out.clear();
        encode(&mut out, &Reply::Nil, 3);
        encode(&mut out, &Reply::Nil, 2);
        encode(&mut out, &Reply::Int(-42), 2);
        encode(&mut out, &Reply::Double(1.5), 2);
        assert_eq!(out, b"_\r\n$-1\r\n:-42\r\n$3\r\n1.5\r\n");
    }
}
