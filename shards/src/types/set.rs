//! A Redis set value, in one of three encodings:
//! - "intset": a sorted `Vec<i64>`, while every member is a canonical integer and there
//!   are at most `set-max-intset-entries` of them;
//! - "listpack": a packed sequence (insertion order), while there are at most
//!   `set-max-listpack-entries` members of at most `set-max-listpack-value` bytes;
//! - "hashtable": a `Dict<()>`, so SSCAN has a stable cursor.
//!
//! The conversions follow Redis 7.2 (intset -> listpack when a non-integer arrives into a
//! small set, intset -> hashtable when it grows past the intset limit, listpack ->
//! hashtable past the listpack limits; never back), and OBJECT ENCODING names them as
//! Redis 7.2 does (Redis 7.0 had no listpack sets and says "hashtable" there).

use std::collections::HashSet;
use std::fmt;

use super::hash::{partial_shuffle, Listpack, Rng};
use super::intset::{IntIter, IntSet};
use crate::args::{fmt_i64, parse_i64_opt};
use crate::config::EngineConfig;
use crate::dict::{self, Dict};

/// The thresholds of the compact encodings (from CONFIG).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SetLimits {
    pub intset_entries: usize,
    pub listpack_entries: usize,
    pub listpack_value: usize,
}

impl SetLimits {
    pub fn from_config(c: &EngineConfig) -> Self {
        SetLimits {
            intset_entries: c.set_max_intset_entries,
            listpack_entries: c.set_max_listpack_entries,
            listpack_value: c.set_max_listpack_value,
        }
    }
}

/// A member as a set yields or looks it up: intsets hold integers, the others bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// The integer this member stands for, if it is a canonical one.
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Member::Int(i) => Some(i),
            Member::Bytes(b) => parse_i64_opt(b),
        }
    }

    /// Calls `f` with the member's bytes (integers formatted on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Int(i) => {
                let mut buf = [0u8; 20];
                f(fmt_i64(i, &mut buf))
            }
            Member::Bytes(b) => f(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Length of the member's text.
    pub fn len(&self) -> usize {
        self.with_bytes(|b| b.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn digits(v: i64) -> usize {
    let mut buf = [0u8; 20];
    fmt_i64(v, &mut buf).len()
}

pub enum Set {
    /// Sorted, distinct, at the narrowest width ("intset").
    Ints(IntSet),
    /// Insertion order ("listpack").
    Listpack(Listpack),
    /// "hashtable". Boxed so a `Value` stays small.
    Table(Box<Dict<()>>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(IntSet::default())
    }
}

impl Clone for Set {
    fn clone(&self) -> Self {
        match self {
            Set::Ints(v) => Set::Ints(v.clone()),
            Set::Listpack(lp) => Set::Listpack(lp.clone()),
            Set::Table(d) => {
                let mut t = Dict::new();
                for (k, _) in d.iter() {
                    t.insert_new(k, ());
                }
                Set::Table(Box::new(t))
            }
        }
    }
}

/// Equal members, whatever the encodings.
impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(m))
    }
}

impl fmt::Debug for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repr_name())?;
        f.debug_set()
            .entries(
                self.iter()
                    .map(|m| String::from_utf8_lossy(&m.to_vec()).into_owned()),
            )
            .finish()
    }
}

impl Set {
    /// An empty set for a key about to receive `size_hint` members, the first being
    /// `first` (Redis 7.2's choice of initial encoding).
    pub fn for_members(first: &[u8], size_hint: usize, lim: SetLimits) -> Set {
        if parse_i64_opt(first).is_some() && size_hint <= lim.intset_entries {
            Set::Ints(IntSet::with_capacity(size_hint))
        } else if size_hint <= lim.listpack_entries {
            Set::Listpack(Listpack::new())
        } else {
            Set::Table(Box::default())
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(v) => v.len(),
            Set::Listpack(lp) => lp.len(),
            Set::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Redis encoding name OBJECT ENCODING reports: Redis 7.0's, which has no
    /// listpack sets (see the module comment).
    pub fn encoding(&self, _config: &EngineConfig) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Listpack(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    /// The encoding in use, with Redis 7.2's names.
    pub fn repr_name(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Listpack(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    /// Heap bytes owned (memory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Set::Ints(v) => v.heap_size(),
            Set::Listpack(lp) => lp.heap_size(),
            Set::Table(d) => std::mem::size_of::<Dict<()>>() + d.bytes(),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.contains_member(Member::Bytes(member))
    }

    pub fn contains_member(&self, m: Member) -> bool {
        match self {
            Set::Ints(v) => m.as_int().is_some_and(|i| v.contains(i)),
            Set::Listpack(lp) => m.with_bytes(|b| lp.find(b).is_some()),
            Set::Table(d) => m.with_bytes(|b| d.contains_key(b)),
        }
    }

    fn convert_to_table(&mut self) {
        let mut d: Dict<()> = Dict::new();
        for m in self.iter() {
            m.with_bytes(|b| d.insert_new(b, ()));
        }
        *self = Set::Table(Box::new(d));
    }

    fn convert_to_listpack(&mut self) {
        let mut lp = Listpack::new();
        for m in self.iter() {
            m.with_bytes(|b| lp.push(b));
        }
        *self = Set::Listpack(lp);
    }

    pub fn add(&mut self, member: &[u8], lim: SetLimits) -> bool {
        self.add_member(Member::Bytes(member), lim)
    }

    /// Adds a member; true if it was not there. Converts the encoding as Redis 7.2 does.
    pub fn add_member(&mut self, m: Member, lim: SetLimits) -> bool {
        if let Set::Ints(v) = self {
            match m.as_int() {
                Some(i) => {
                    if !v.insert(i) {
                        return false;
                    }
                    if v.len() > lim.intset_entries {
                        self.convert_to_table();
                    }
                    return true;
                }
                None => {
                    let n = v.len();
                    let widest = match (v.first(), v.last()) {
                        (Some(lo), Some(hi)) => digits(lo).max(digits(hi)),
                        _ => 0,
                    };
                    if n < lim.listpack_entries
                        && m.len() <= lim.listpack_value
                        && widest <= lim.listpack_value
                    {
                        self.convert_to_listpack();
                    } else {
                        self.convert_to_table();
                    }
                }
            }
        }
        if let Set::Listpack(lp) = self {
            if m.with_bytes(|b| lp.find(b).is_some()) {
                return false;
            }
            if lp.len() < lim.listpack_entries
                && m.len() <= lim.listpack_value
                && lp.len() < Listpack::MAX_LEN
            {
                m.with_bytes(|b| lp.push(b));
                return true;
            }
            self.convert_to_table();
        }
        match self {
            Set::Table(d) => m.with_bytes(|b| d.insert(b, ()).is_none()),
            _ => unreachable!("converted to a table above"),
        }
    }

    /// Removes a member; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Ints(v) => parse_i64_opt(member).is_some_and(|i| v.remove(i)),
            Set::Listpack(lp) => lp.remove(member),
            Set::Table(d) => d.remove(member).is_some(),
        }
    }

    /// Members: ascending for an intset, insertion order for a listpack, table order
    /// for a hashtable.
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            Set::Ints(v) => SetIter::Ints(v.iter()),
            Set::Listpack(lp) => SetIter::Listpack(lp.iter()),
            Set::Table(d) => SetIter::Table(d.iter()),
        }
    }

    /// All members as byte strings.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(|m| m.to_vec()).collect()
    }

    /// One SSCAN step: compact encodings are returned whole with cursor 0, as Redis
    /// does; a hashtable follows the dict's reverse-binary cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Member)) -> u64 {
        match self {
            Set::Ints(_) | Set::Listpack(_) => {
                self.iter().for_each(visit);
                0
            }
            Set::Table(d) => d.scan(cursor, count, |k, _| visit(Member::Bytes(k))),
        }
    }

    /// A random member.
    pub fn random(&self, rng: &mut Rng) -> Option<Member<'_>> {
        match self {
            Set::Ints(v) if !v.is_empty() => v.get(rng.below(v.len())).map(Member::Int),
            Set::Listpack(lp) if !lp.is_empty() => lp.get(rng.below(lp.len())).map(Member::Bytes),
            Set::Table(d) => d.random(|| rng.next_u64()).map(|(k, _)| Member::Bytes(k)),
            _ => None,
        }
    }

    /// `count` random members, possibly repeated (SRANDMEMBER with a negative count).
    pub fn random_with_repeats(&self, count: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
        if self.is_empty() {
            return Vec::new();
        }
        match self {
            Set::Listpack(lp) if count > 1 => {
                let all: Vec<&[u8]> = lp.iter().map(|e| e.data).collect();
                (0..count)
                    .map(|_| all[rng.below(all.len())].to_vec())
                    .collect()
            }
            _ => (0..count)
                .filter_map(|_| self.random(rng).map(|m| m.to_vec()))
                .collect(),
        }
    }

    /// `count` distinct random members; all of them when `count` is not below the size.
    pub fn random_distinct(&self, count: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
        let n = self.len();
        if count >= n {
            return self.to_vecs();
        }
        match self {
            // Sampling until enough distinct members came up is cheap while few are
            // wanted from a big table.
            Set::Table(d) if count * 3 <= n => {
                let mut seen = HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some((k, _)) = d.random(|| rng.next_u64()) else {
                        break;
                    };
                    if seen.insert(k) {
                        out.push(k.to_vec());
                    }
                }
                out
            }
            _ => {
                let mut all = self.to_vecs();
                partial_shuffle(&mut all, count, rng);
                all.truncate(count);
                all
            }
        }
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self, rng: &mut Rng) -> Option<Vec<u8>> {
        let m = self.random(rng)?.to_vec();
        self.remove(&m);
        Some(m)
    }

    /// Removes and returns `count` distinct random members (all when `count` is not
    /// below the size, leaving the set empty).
    pub fn pop_many(&mut self, count: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
        let n = self.len();
        if count >= n {
            let all = self.to_vecs();
            *self = Set::default();
            return all;
        }
        match self {
            Set::Table(d) if count * 2 <= n => {
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some((k, _)) = d.random(|| rng.next_u64()) else {
                        break;
                    };
                    let k = k.to_vec();
                    d.remove(&k);
                    out.push(k);
                }
                out
            }
            Set::Table(d) => {
                let mut all: Vec<Vec<u8>> = d.iter().map(|(k, _)| k.to_vec()).collect();
                partial_shuffle(&mut all, count, rng);
                all.truncate(count);
                for k in &all {
                    d.remove(k);
                }
                all
            }
            Set::Ints(v) => {
                let mut idx: Vec<usize> = (0..n).collect();
                partial_shuffle(&mut idx, count, rng);
                let mut gone = vec![false; n];
                let out = idx[..count]
                    .iter()
                    .map(|&i| {
                        gone[i] = true;
                        Member::Int(v.get(i).expect("index below the length")).to_vec()
                    })
                    .collect();
                v.retain_positions(|i| !gone[i]);
                out
            }
            Set::Listpack(lp) => {
                let mut idx: Vec<usize> = (0..n).collect();
                partial_shuffle(&mut idx, count, rng);
                let mut gone = vec![false; n];
                for &i in &idx[..count] {
                    gone[i] = true;
                }
                let mut out = Vec::with_capacity(count);
                let mut i = 0;
                lp.retain(|b| {
                    i += 1;
                    if gone[i - 1] {
                        out.push(b.to_vec());
                    }
                    !gone[i - 1]
                });
                out
            }
        }
    }
}

pub enum SetIter<'a> {
    Ints(IntIter<'a>),
    Listpack(super::hash::LpIter<'a>),
    Table(dict::Iter<'a, ()>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            SetIter::Ints(it) => it.next().map(Member::Int),
            SetIter::Listpack(it) => it.next().map(|e| Member::Bytes(e.data)),
            SetIter::Table(it) => it.next().map(|(k, _)| Member::Bytes(k)),
        }
    }
}

#[cfg(test)]
#[path = "tests/set.rs"]
mod tests;
