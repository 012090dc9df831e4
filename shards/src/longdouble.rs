//! INCRBYFLOAT arithmetic in C `long double`, as Redis does it, so replies match Redis
//! byte for byte (e.g. `10.6 + 200` is `210.60000000000000001` with 80-bit floats).

use crate::error::CmdError;

extern "C" {
    fn corecache_ld_add(
        cur: *const u8,
        cur_len: usize,
        incr: *const u8,
        incr_len: usize,
        out: *mut u8,
        cap: usize,
    ) -> std::os::raw::c_long;
}

/// Adds `incr` to `current` (both decimal text) and returns the sum as Redis's human
/// form: `%.17Lf` with trailing zeros trimmed.
pub fn add(current: &[u8], incr: &[u8]) -> Result<Vec<u8>, CmdError> {
    // %.17Lf of the largest long double has about 4950 integer digits.
    let mut out = vec![0u8; 5200];
    // SAFETY: pointers and lengths describe live buffers; the C side writes at most
    // `cap` bytes into `out` and reads exactly the given lengths.
    let n = unsafe {
        corecache_ld_add(
            current.as_ptr(),
            current.len(),
            incr.as_ptr(),
            incr.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    };
    match n {
        n if n >= 0 => {
            out.truncate(n as usize);
            Ok(out)
        }
        -3 => Err(CmdError::NanOrInfinity),
        _ => Err(CmdError::NotFloat),
    }
}

#[cfg(test)]
mod tests {
    use super::add;
    use crate::error::CmdError;

    #[test]
    fn sums_print_like_redis_long_double() {
        assert_eq!(add(b"10.5", b"0.1").unwrap(), b"10.6");
        assert_eq!(add(b"0", b"3").unwrap(), b"3");
        assert_eq!(add(b"5.0e3", b"2.0e2").unwrap(), b"5200");
        assert_eq!(add(b"-1", b"1").unwrap(), b"0");
        if std::mem::size_of::<std::os::raw::c_longlong>() == 8 && cfg!(target_arch = "x86_64") {
            assert_eq!(add(b"10.6", b"200").unwrap(), b"210.60000000000000001");
        }
    }

    #[test]
    fn bad_input_and_overflow_are_errors() {
        assert_eq!(add(b"abc", b"1"), Err(CmdError::NotFloat));
        assert_eq!(add(b"1", b" 1"), Err(CmdError::NotFloat));
        assert_eq!(add(b"1", b"nan"), Err(CmdError::NotFloat));
        assert_eq!(add(b"1", b"inf"), Err(CmdError::NanOrInfinity));
        assert_eq!(add(b"1", b""), Err(CmdError::NotFloat));
        assert_eq!(add(b"\0\0a", b"1"), Err(CmdError::NotFloat));
        assert_eq!(add(b"1", b"2\0"), Err(CmdError::NotFloat));
    }
}
