//! A set's `intset` encoding: distinct integers kept sorted at the narrowest width that
//! holds them all (2, 4 or 8 bytes each), as Redis's intset does. A member that does
//! not fit widens the whole set; sets never narrow again.

/// Sorted, distinct integers.
#[derive(Clone, Debug, PartialEq)]
pub enum IntSet {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::I16(Vec::new())
    }
}

/// Runs `$body` with `$v` bound to the set's vector, whatever its width.
macro_rules! each_width {
    ($set:expr, $v:ident => $body:expr) => {
        match $set {
            IntSet::I16($v) => $body,
            IntSet::I32($v) => $body,
            IntSet::I64($v) => $body,
        }
    };
}

/// Grows by an eighth, not double: an insert moves the tail anyway, and small sets
/// stay tight (Redis reallocates per insert).
fn insert_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
    let Err(pos) = v.binary_search(&x) else {
        return false;
    };
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 8).max(1));
    }
    v.insert(pos, x);
    true
}

fn remove_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(pos) => {
            v.remove(pos);
            true
        }
        Err(_) => false,
    }
}

impl IntSet {
    pub fn with_capacity(n: usize) -> IntSet {
        IntSet::I16(Vec::with_capacity(n))
    }

    /// From integers already sorted and distinct (an RDB intset).
    pub fn from_sorted(ints: Vec<i64>) -> IntSet {
        let lo = ints.first().copied().unwrap_or(0);
        let hi = ints.last().copied().unwrap_or(0);
        if i16::try_from(lo).is_ok() && i16::try_from(hi).is_ok() {
            IntSet::I16(ints.iter().map(|&i| i as i16).collect())
        } else if i32::try_from(lo).is_ok() && i32::try_from(hi).is_ok() {
            IntSet::I32(ints.iter().map(|&i| i as i32).collect())
        } else {
            IntSet::I64(ints)
        }
    }

    pub fn len(&self) -> usize {
        each_width!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the element array.
    pub fn heap_size(&self) -> usize {
        each_width!(self, v => v.capacity() * std::mem::size_of_val(&v.first().copied().unwrap_or_default()))
    }

    /// The member at sorted position `i`.
    #[allow(clippy::useless_conversion)] // the 64-bit arm converts to itself
    pub fn get(&self, i: usize) -> Option<i64> {
        each_width!(self, v => v.get(i).map(|&x| i64::from(x)))
    }

    pub fn first(&self) -> Option<i64> {
        self.get(0)
    }

    pub fn last(&self) -> Option<i64> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn contains(&self, x: i64) -> bool {
        match self {
            IntSet::I16(v) => i16::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::I32(v) => i32::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::I64(v) => v.binary_search(&x).is_ok(),
        }
    }

    /// Widens the set so `x` fits.
    fn widen_for(&mut self, x: i64) {
        match self {
            IntSet::I16(v) if i16::try_from(x).is_err() => {
                *self = if i32::try_from(x).is_ok() {
                    IntSet::I32(v.iter().map(|&i| i32::from(i)).collect())
                } else {
                    IntSet::I64(v.iter().map(|&i| i64::from(i)).collect())
                };
            }
            IntSet::I32(v) if i32::try_from(x).is_err() => {
                *self = IntSet::I64(v.iter().map(|&i| i64::from(i)).collect());
            }
            _ => {}
        }
    }

    /// Adds `x`; true if it was not there.
    pub fn insert(&mut self, x: i64) -> bool {
        self.widen_for(x);
        match self {
            IntSet::I16(v) => insert_sorted(v, x as i16),
            IntSet::I32(v) => insert_sorted(v, x as i32),
            IntSet::I64(v) => insert_sorted(v, x),
        }
    }

    /// Removes `x`; true if it was there.
    pub fn remove(&mut self, x: i64) -> bool {
        match self {
            IntSet::I16(v) => i16::try_from(x).is_ok_and(|x| remove_sorted(v, x)),
            IntSet::I32(v) => i32::try_from(x).is_ok_and(|x| remove_sorted(v, x)),
            IntSet::I64(v) => remove_sorted(v, x),
        }
    }

    /// Keeps the members whose position `keep` accepts.
    pub fn retain_positions(&mut self, mut keep: impl FnMut(usize) -> bool) {
        each_width!(self, v => {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                keep(i - 1)
            });
        })
    }

    /// Ascending.
    pub fn iter(&self) -> IntIter<'_> {
        IntIter { set: self, at: 0 }
    }

    /// Every member, widened (the RDB encoder picks its own width).
    pub fn to_vec(&self) -> Vec<i64> {
        self.iter().collect()
    }
}

pub struct IntIter<'a> {
    set: &'a IntSet,
    at: usize,
}

impl Iterator for IntIter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        let x = self.set.get(self.at)?;
        self.at += 1;
        Some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_with_members_and_order_holds() {
        let mut s = IntSet::default();
        for x in [5, -3, 300, 0] {
            assert!(s.insert(x));
        }
        assert!(!s.insert(5));
        assert!(matches!(s, IntSet::I16(_)));
        assert!(s.insert(70_000));
        assert!(matches!(s, IntSet::I32(_)));
        assert!(s.insert(-5_000_000_000));
        assert!(matches!(s, IntSet::I64(_)));
        assert_eq!(s.to_vec(), vec![-5_000_000_000, -3, 0, 5, 300, 70_000]);
        assert!(s.contains(70_000) && !s.contains(4));
        assert!(s.remove(-3) && !s.remove(-3));
        assert_eq!((s.first(), s.last()), (Some(-5_000_000_000), Some(70_000)));
        s.retain_positions(|i| i % 2 == 0);
        assert_eq!(s.to_vec(), vec![-5_000_000_000, 5, 70_000]);
        let narrow = IntSet::from_sorted(vec![1, 2, 40_000]);
        assert!(matches!(narrow, IntSet::I32(_)));
        assert_eq!(narrow.heap_size(), 12);
        assert!(!IntSet::I16(vec![1]).contains(1 << 40));
    }
}
