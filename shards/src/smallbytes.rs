//! A byte string that keeps up to 22 bytes inline and longer ones in one heap block.
//! Keys and short string values are usually this short, so a key's node (or a value)
//! needs no separate allocation and a lookup touches one cache line less.

use std::fmt;
use std::ops::Deref;

/// The longest byte string kept inline (no heap allocation).
pub const INLINE: usize = 22;

#[derive(Clone, PartialEq, Eq)]
pub enum SmallBytes {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl SmallBytes {
    pub fn new(b: &[u8]) -> Self {
        if b.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..b.len()].copy_from_slice(b);
            SmallBytes::Inline {
                len: b.len() as u8,
                buf,
            }
        } else {
            SmallBytes::Heap(b.into())
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, buf } => &buf[..*len as usize],
            SmallBytes::Heap(b) => b,
        }
    }

    /// Heap bytes owned beyond the struct itself.
    pub fn heap_size(&self) -> usize {
        match self {
            SmallBytes::Inline { .. } => 0,
            SmallBytes::Heap(b) => b.len(),
        }
    }
}

impl Deref for SmallBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(b: &[u8]) -> Self {
        SmallBytes::new(b)
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_stay_inline_and_long_ones_go_to_the_heap() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        let s = SmallBytes::new(b"key:000000012345");
        assert!(matches!(s, SmallBytes::Inline { .. }));
        assert_eq!(&*s, b"key:000000012345");
        let long = vec![b'x'; 23];
        let l = SmallBytes::new(&long);
        assert!(matches!(l, SmallBytes::Heap(_)));
        assert_eq!(&*l, &long[..]);
        assert_eq!(&*SmallBytes::new(b""), b"");
    }
}
