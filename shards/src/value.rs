//! Stored values. Strings keep Redis's three encodings: `int` for canonical integers,
//! `embstr` (a fixed boxed slice) for short strings written whole, `raw` (a growable
//! buffer) for long strings and strings modified in place (APPEND, SETRANGE).

use crate::args::{fmt_i64, parse_i64_opt};
use crate::config::EngineConfig;
use crate::smallbytes::SmallBytes;
use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

/// Strings up to this length written whole are stored as `embstr`, as in Redis.
pub const EMBSTR_MAX: usize = 44;

#[derive(Debug, Clone, PartialEq)]
pub enum Str {
    Int(i64),
    /// Short strings written whole; up to 22 bytes live inline.
    Emb(SmallBytes),
    /// Boxed so a `Str` (and with it every key's entry) stays three words.
    Raw(Box<Vec<u8>>),
}

impl Str {
    /// A raw (modifiable) string.
    pub fn raw(v: Vec<u8>) -> Str {
        Str::Raw(Box::new(v))
    }

    /// Builds a string value with the encoding Redis would pick for a whole write.
    pub fn from_bytes(b: &[u8]) -> Str {
        if let Some(i) = parse_i64_opt(b) {
            return Str::Int(i);
        }
        if b.len() <= EMBSTR_MAX {
            Str::Emb(SmallBytes::new(b))
        } else {
            Str::raw(b.to_vec())
        }
    }

    pub fn from_vec(v: Vec<u8>) -> Str {
        if v.len() <= EMBSTR_MAX || parse_i64_opt(&v).is_some() {
            Str::from_bytes(&v)
        } else {
            Str::raw(v)
        }
    }

    /// The bytes of the value (integers are formatted).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Str::Int(i) => i.to_string().into_bytes(),
            Str::Emb(b) => b.to_vec(),
            Str::Raw(v) => v.to_vec(),
        }
    }

    /// Calls `f` with the bytes without allocating for the byte encodings.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Str::Int(i) => {
                let mut buf = [0u8; 20];
                f(fmt_i64(*i, &mut buf))
            }
            Str::Emb(b) => f(b),
            Str::Raw(v) => f(v),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Str::Int(i) => fmt_i64(*i, &mut [0u8; 20]).len(),
            Str::Emb(b) => b.len(),
            Str::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer, when it is one (`int` encoding or parsable bytes).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Str::Int(i) => Some(*i),
            Str::Emb(b) => parse_i64_opt(b),
            Str::Raw(v) => parse_i64_opt(v),
        }
    }

    /// A mutable raw buffer, converting the value to `raw` encoding first.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Str::Raw(_)) {
            *self = Str::raw(self.to_vec());
        }
        match self {
            Str::Raw(v) => v,
            _ => unreachable!("just converted to raw"),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Emb(_) => "embstr",
            Str::Raw(_) => "raw",
        }
    }

    /// Heap bytes owned by this value (for memory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Str::Int(_) => 0,
            Str::Emb(b) => b.heap_size(),
            Str::Raw(v) => std::mem::size_of::<Vec<u8>>() + v.capacity(),
        }
    }
}

/// A value of any Redis type. Collections are boxed so a `Value` stays three words
/// (a string's inline bytes): it sits in every key's node. A hash is two words (its
/// listpack an exact buffer, its table a box) and sits inline, saving a block per
/// small hash.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Str),
    List(Box<List>),
    Hash(Hash),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The encoding OBJECT ENCODING reports (collections depend on the thresholds).
    pub fn encoding(&self, config: &EngineConfig) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(v) => v.encoding(config),
            Value::Hash(v) => v.encoding(config),
            Value::Set(v) => v.encoding(config),
            Value::ZSet(v) => v.encoding(config),
            Value::Stream(_) => "stream",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            // Each boxed collection's box too (a hash is inline).
            Value::List(v) => std::mem::size_of::<List>() + v.heap_size(),
            Value::Hash(v) => v.heap_size(),
            Value::Set(v) => std::mem::size_of::<Set>() + v.heap_size(),
            Value::ZSet(v) => std::mem::size_of::<ZSet>() + v.heap_size(),
            Value::Stream(v) => std::mem::size_of::<Stream>() + v.heap_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(Str::from_bytes(b"123").encoding(), "int");
        assert_eq!(Str::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(Str::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Str::from_bytes(&[b'a'; 45]).encoding(), "raw");
        let mut s = Str::from_bytes(b"12");
        s.make_raw().push(b'3');
        assert_eq!(s.encoding(), "raw");
        assert_eq!(s.to_vec(), b"123");
    }

    #[test]
    fn int_strings_report_length_and_bytes() {
        for v in [0i64, -1, 10, i64::MIN, i64::MAX] {
            let s = Str::Int(v);
            assert_eq!(s.len(), v.to_string().len());
            assert_eq!(s.with_bytes(|b| b.to_vec()), v.to_string().into_bytes());
        }
    }
}
