//! Redis's intset blob (RDB type SET_INTSET): encoding width u32 LE (2, 4 or 8 bytes
//! per member), member count u32 LE, then the members ascending, little-endian.

/// The intset of `members` (ascending), with the narrowest width that holds them all.
pub fn encode(members: &[i64]) -> Vec<u8> {
    let width: usize = if members.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if members.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + members.len() * width);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(members.len() as u32).to_le_bytes());
    for &v in members {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// The members of an intset blob; `None` unless the sizes agree and the members are
/// strictly ascending.
pub fn decode(blob: &[u8]) -> Option<Vec<i64>> {
    let width = u32::from_le_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let count = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
    if !matches!(width, 2 | 4 | 8) || count.checked_mul(width)? != blob.len() - 8 {
        return None;
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for chunk in blob[8..].chunks_exact(width) {
        let mut buf = [0u8; 8];
        buf[..width].copy_from_slice(chunk);
        let shift = 64 - 8 * width as u32;
        let v = ((u64::from_le_bytes(buf) << shift) as i64) >> shift;
        if out.last().is_some_and(|&prev| prev >= v) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_redis() {
        // The intset inside redis-server 7.0's DUMP of SADD si 1 2 70000.
        let expected = [
            4, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x70, 0x11, 1, 0,
        ];
        assert_eq!(encode(&[1, 2, 70000]), expected);
        assert_eq!(decode(&expected).unwrap(), vec![1, 2, 70000]);
    }

    #[test]
    fn widths_round_trip_and_order_is_checked() {
        for set in [vec![-5i64, 7], vec![-40000, 1], vec![i64::MIN, 0, i64::MAX]] {
            assert_eq!(decode(&encode(&set)).unwrap(), set);
        }
        assert!(decode(&encode(&[3, 2])).is_none());
        assert!(decode(&encode(&[3, 3])).is_none());
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_none());
        assert!(decode(&[3, 0, 0, 0, 0, 0, 0, 0]).is_none());
    }
}
