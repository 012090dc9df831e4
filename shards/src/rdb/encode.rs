//! Writing values in RDB encoding, with the choices redis-server 7.0 makes so that our
//! payloads are the bytes it would produce for the same logical value and encoding.

use super::{intset, listpack, types};
use crate::args::{format_double, parse_i64_opt};
use crate::lzf;
use crate::types::{hash::Hash, list::List, set::Set, zset::ZSet};
use crate::value::{Str, Value};

/// A length: 6 bits, 14 bits (big-endian), or a marker byte and 32/64 bits big-endian.
pub fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

thread_local! {
    /// `rdbcompression`: whether `write_string` may LZF-compress (on unless a file
    /// writer turned it off for its encoding).
    static COMPRESS: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Runs `f` with LZF compression of strings on or off (`rdbcompression`).
pub fn with_compression<T>(on: bool, f: impl FnOnce() -> T) -> T {
    let before = COMPRESS.with(|c| c.replace(on));
    let out = f();
    COMPRESS.with(|c| c.set(before));
    out
}

/// A string: as an 8/16/32-bit integer when it is a short canonical integer, LZF
/// compressed when longer than 20 bytes and that saves more than 4 bytes, else as is.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64_opt(s) {
            if write_small_int(out, v) {
                return;
            }
        }
    }
    if s.len() > 20 && COMPRESS.with(|c| c.get()) {
        if let Some(packed) = lzf::compress(s, s.len() - 4) {
            out.push(0xc0 | types::ENC_LZF);
            write_len(out, packed.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Writes `v` in the integer encodings when it fits 32 bits; false otherwise.
fn write_small_int(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.push(0xc0 | types::ENC_INT8);
        out.push(b as u8);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xc0 | types::ENC_INT16);
        out.extend_from_slice(&h.to_le_bytes());
    } else if let Ok(w) = i32::try_from(v) {
        out.push(0xc0 | types::ENC_INT32);
        out.extend_from_slice(&w.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Writes the object type byte and the value.
pub fn write_object(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => {
            out.push(types::STRING);
            write_str(out, s);
        }
        Value::List(l) => write_list(out, l),
        Value::Set(s) => write_set(out, s),
        Value::Hash(h) => write_hash(out, h),
        Value::ZSet(z) => write_zset(out, z),
        Value::Stream(s) => super::stream::write_stream(out, s),
    }
}

fn write_str(out: &mut Vec<u8>, s: &Str) {
    match s {
        Str::Int(v) => {
            if !write_small_int(out, *v) {
                let digits = v.to_string();
                write_len(out, digits.len() as u64);
                out.extend_from_slice(digits.as_bytes());
            }
        }
        Str::Emb(b) => write_string(out, b),
        Str::Raw(b) => write_string(out, b),
    }
}

/// Redis 7.0 saves every list as a quicklist of listpack nodes.
fn write_list(out: &mut Vec<u8>, l: &List) {
    out.push(types::LIST_QUICKLIST_2);
    let mut nodes: Vec<(u64, Vec<u8>)> = Vec::new();
    l.each_node(|plain, items| {
        nodes.push(if plain {
            let item = items.next().unwrap_or_default();
            (types::QUICKLIST_NODE_PLAIN, item.to_vec())
        } else {
            (types::QUICKLIST_NODE_PACKED, listpack::encode(items))
        })
    });
    write_len(out, nodes.len() as u64);
    for (container, node) in nodes {
        write_len(out, container);
        write_string(out, &node);
    }
}

/// Intsets as intsets; other sets plainly (RDB 10 has no listpack sets).
fn write_set(out: &mut Vec<u8>, s: &Set) {
    if let Set::Ints(members) = s {
        out.push(types::SET_INTSET);
        write_string(out, &intset::encode(&members.to_vec()));
        return;
    }
    out.push(types::SET);
    write_len(out, s.len() as u64);
    for m in s.iter() {
        m.with_bytes(|b| write_string(out, b));
    }
}

fn write_hash(out: &mut Vec<u8>, h: &Hash) {
    if h.is_listpack() {
        out.push(types::HASH_LISTPACK);
        let lp = listpack::encode(h.iter().flat_map(|(f, v)| [f, v]));
        write_string(out, &lp);
        return;
    }
    out.push(types::HASH);
    write_len(out, h.len() as u64);
    for (f, v) in h.iter() {
        write_string(out, f);
        write_string(out, v);
    }
}

fn write_zset(out: &mut Vec<u8>, z: &ZSet) {
    if z.is_listpack() {
        out.push(types::ZSET_LISTPACK);
        let scores: Vec<String> = z.iter().map(|(_, s)| format_double(s)).collect();
        let items = z
            .iter()
            .zip(&scores)
            .flat_map(|((m, _), s)| [m, s.as_bytes()]);
        write_string(out, &listpack::encode(items));
        return;
    }
    // Highest score first, as Redis walks its skiplist from the tail.
    out.push(types::ZSET_2);
    write_len(out, z.len() as u64);
    for (m, score) in z.iter_range(0, z.len(), true) {
        write_string(out, m);
        out.extend_from_slice(&score.to_le_bytes());
    }
}
