//! Reading values in RDB encoding: every type and encoding redis-server 7.0 and 7.2
//! write (plain, ziplist, zipmap, intset, listpack, quicklist 1 and 2, ZSET_2, LZF
//! strings; streams in `stream.rs`). Values are rebuilt with our own encoding choices
//! for their size; anything malformed, empty, duplicated or of a type we do not hold
//! (modules) is an error.

use std::collections::HashSet;

use super::{intset, listpack, types, ziplist};
use crate::config::EngineConfig;
use crate::lzf;
use crate::types::{
    hash::{Hash, HashLimits},
    list::{List, Shape},
    set::{Member, Set, SetLimits},
    zset::{Elem, ZSet},
};
use crate::value::{Str, Value};

/// A payload we cannot load. Redis answers all of these with "Bad data format".
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(pub &'static str);

pub type Decoded<T> = Result<T, DecodeError>;

fn bad<T>(why: &'static str) -> Decoded<T> {
    Err(DecodeError(why))
}

/// A cursor over RDB bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A length, or the marker of a specially encoded string.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn byte(&mut self) -> Decoded<u8> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        if n > self.remaining() {
            return bad("truncated");
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn len_or_encoding(&mut self) -> Decoded<Len> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain((((b & 0x3f) as u64) << 8) | self.byte()? as u64),
            2 => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => return bad("unknown length encoding"),
            },
            _ => Len::Encoded(b & 0x3f),
        })
    }

    fn array<const N: usize>(&mut self) -> Decoded<[u8; N]> {
        let s = self.take(N)?;
        Ok(s.try_into().expect("took N bytes"))
    }

    /// A length (not a string encoding marker).
    pub fn length(&mut self) -> Decoded<u64> {
        match self.len_or_encoding()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => bad("encoded value where a length was expected"),
        }
    }

    /// A length that must be satisfiable by the remaining bytes (at least one byte per
    /// element), so hostile lengths cannot make us allocate.
    pub(super) fn count(&mut self) -> Decoded<usize> {
        let n = self.length()?;
        if n > self.remaining() as u64 {
            return bad("count larger than the payload");
        }
        Ok(n as usize)
    }

    /// A string in any of its encodings (integer, LZF, plain).
    pub fn string(&mut self) -> Decoded<Vec<u8>> {
        match self.len_or_encoding()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| DecodeError("string too long"))?;
                Ok(self.take(n)?.to_vec())
            }
            Len::Encoded(types::ENC_INT8) => Ok((self.byte()? as i8).to_string().into_bytes()),
            Len::Encoded(types::ENC_INT16) => {
                Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes())
            }
            Len::Encoded(types::ENC_INT32) => {
                Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes())
            }
            Len::Encoded(types::ENC_LZF) => {
                let packed_len = self.length()?;
                let len = self.length()?;
                if packed_len > self.remaining() as u64 || len > (1 << 40) {
                    return bad("LZF lengths out of range");
                }
                let packed = self.take(packed_len as usize)?;
                lzf::decompress(packed, len as usize).ok_or(DecodeError("bad LZF data"))
            }
            Len::Encoded(_) => bad("unknown string encoding"),
        }
    }

    /// A score of the plain ZSET type: a length byte then ASCII, with 253..255 standing
    /// for nan, +inf and -inf.
    fn text_double(&mut self) -> Decoded<f64> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => parse_score(self.take(n as usize)?),
        }
    }

    fn binary_double(&mut self) -> Decoded<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
}

/// A score written as text (`strtod` rules; nan is refused by the caller).
fn parse_score(b: &[u8]) -> Decoded<f64> {
    let s = std::str::from_utf8(b).map_err(|_| DecodeError("score is not text"))?;
    s.parse::<f64>()
        .or_else(|_| match s.to_ascii_lowercase().as_str() {
            "inf" | "+inf" | "infinity" | "+infinity" => Ok(f64::INFINITY),
            "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
            _ => bad("score is not a number"),
        })
}

/// Reads an object type byte and the value that follows.
pub fn read_object(r: &mut Reader, config: &EngineConfig) -> Decoded<Value> {
    let kind = r.byte()?;
    read_value(r, kind, config)
}

/// Reads a value of RDB type `kind`.
pub fn read_value(r: &mut Reader, kind: u8, config: &EngineConfig) -> Decoded<Value> {
    match kind {
        types::STRING => Ok(Value::Str(Str::from_vec(r.string()?))),
        types::LIST => {
            let n = r.count()?;
            let items = (0..n).map(|_| r.string()).collect::<Decoded<Vec<_>>>()?;
            list(items, config)
        }
        types::LIST_ZIPLIST => list(ziplist_items(&r.string()?)?, config),
        types::LIST_QUICKLIST => {
            let mut items = Vec::new();
            for _ in 0..r.count()? {
                items.extend(ziplist_items(&r.string()?)?);
            }
            list(items, config)
        }
        types::LIST_QUICKLIST_2 => {
            let mut items = Vec::new();
            for _ in 0..r.count()? {
                let container = r.length()?;
                let blob = r.string()?;
                match container {
                    types::QUICKLIST_NODE_PLAIN => items.push(blob),
                    types::QUICKLIST_NODE_PACKED => items.extend(listpack_items(&blob)?),
                    _ => return bad("unknown quicklist container"),
                }
            }
            list(items, config)
        }
        types::SET => {
            let n = r.count()?;
            let members = (0..n).map(|_| r.string()).collect::<Decoded<Vec<_>>>()?;
            set(members.iter().map(|m| Member::Bytes(m)), n, config)
        }
        types::SET_INTSET => {
            let ints = intset::decode(&r.string()?).ok_or(DecodeError("bad intset"))?;
            set(ints.iter().map(|&i| Member::Int(i)), ints.len(), config)
        }
        types::SET_LISTPACK => {
            let members = listpack_items(&r.string()?)?;
            set(
                members.iter().map(|m| Member::Bytes(m)),
                members.len(),
                config,
            )
        }
        types::HASH => {
            let n = r.count()?;
            let mut flat = Vec::with_capacity(n.min(1024) * 2);
            for _ in 0..n {
                flat.push(r.string()?);
                flat.push(r.string()?);
            }
            hash(flat, config)
        }
        types::HASH_ZIPMAP => {
            let flat = ziplist::decode_zipmap(&r.string()?).ok_or(DecodeError("bad zipmap"))?;
            hash(flat, config)
        }
        types::HASH_ZIPLIST => hash(ziplist_items(&r.string()?)?, config),
        types::HASH_LISTPACK => hash(listpack_items(&r.string()?)?, config),
        types::ZSET | types::ZSET_2 => {
            let n = r.count()?;
            let mut elems = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let member = r.string()?;
                let score = if kind == types::ZSET {
                    r.text_double()?
                } else {
                    r.binary_double()?
                };
                elems.push(Elem::new(&member, score));
            }
            zset(elems, config)
        }
        types::ZSET_ZIPLIST => zset(pairs_to_elems(ziplist_items(&r.string()?)?)?, config),
        types::ZSET_LISTPACK => zset(pairs_to_elems(listpack_items(&r.string()?)?)?, config),
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 | types::STREAM_LISTPACKS_3 => {
            super::stream::read_stream(r, kind, config)
        }
        _ => bad("unsupported object type"),
    }
}

fn ziplist_items(blob: &[u8]) -> Decoded<Vec<Vec<u8>>> {
    ziplist::decode(blob).ok_or(DecodeError("bad ziplist"))
}

fn listpack_items(blob: &[u8]) -> Decoded<Vec<Vec<u8>>> {
    let items = listpack::decode(blob).ok_or(DecodeError("bad listpack"))?;
    Ok(items.iter().map(listpack::Item::to_vec).collect())
}

fn list(items: Vec<Vec<u8>>, config: &EngineConfig) -> Decoded<Value> {
    if items.is_empty() {
        return bad("empty list");
    }
    Ok(Value::List(Box::new(List::build(
        Shape::of(config),
        &items,
    ))))
}

fn set<'m>(
    members: impl Iterator<Item = Member<'m>>,
    size_hint: usize,
    config: &EngineConfig,
) -> Decoded<Value> {
    let lim = SetLimits::from_config(config);
    let mut members = members.peekable();
    let Some(first) = members.peek() else {
        return bad("empty set");
    };
    let mut s = first.with_bytes(|b| Set::for_members(b, size_hint, lim));
    for m in members {
        if !s.add_member(m, lim) {
            return bad("duplicate set member");
        }
    }
    Ok(Value::Set(Box::new(s)))
}

fn hash(flat: Vec<Vec<u8>>, config: &EngineConfig) -> Decoded<Value> {
    if flat.is_empty() || !flat.len().is_multiple_of(2) {
        return bad("empty or odd hash");
    }
    let lim = HashLimits::from_config(config);
    let mut h = Hash::default();
    for pair in flat.chunks_exact(2) {
        if !h.insert(&pair[0], &pair[1], lim) {
            return bad("duplicate hash field");
        }
    }
    Ok(Value::Hash(h))
}

fn pairs_to_elems(flat: Vec<Vec<u8>>) -> Decoded<Vec<Elem>> {
    if !flat.len().is_multiple_of(2) {
        return bad("odd sorted set listpack");
    }
    flat.chunks_exact(2)
        .map(|p| Ok(Elem::new(&p[0], parse_score(&p[1])?)))
        .collect()
}

fn zset(elems: Vec<Elem>, config: &EngineConfig) -> Decoded<Value> {
    if elems.is_empty() {
        return bad("empty sorted set");
    }
    let mut seen = HashSet::with_capacity(elems.len());
    for e in &elems {
        if e.score.is_nan() {
            return bad("NaN score");
        }
        if !seen.insert(&e.member[..]) {
            return bad("duplicate sorted set member");
        }
    }
    Ok(Value::ZSet(Box::new(ZSet::from_elems(elems, config))))
}
