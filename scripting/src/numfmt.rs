//! C's `%.<p>g` for doubles: Lua's `tostring` and cjson use 14 digits, replies 17.

pub use shards::args::format_g as fmt_g;

#[cfg(test)]
mod tests {
    use super::fmt_g;

    #[test]
    fn matches_printf_g() {
        assert_eq!(fmt_g(0.1, 14), "0.1");
        assert_eq!(fmt_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(fmt_g(1e20, 14), "1e+20");
        assert_eq!(fmt_g(123456789012345678.0, 14), "1.2345678901235e+17");
        assert_eq!(fmt_g(1e-5, 14), "1e-05");
        assert_eq!(fmt_g(100.0, 14), "100");
        assert_eq!(fmt_g(-0.0, 14), "-0");
        assert_eq!(fmt_g(0.1, 17), "0.10000000000000001");
        assert_eq!(fmt_g(0.0001, 14), "0.0001");
        assert_eq!(fmt_g(99999999999999.5, 14), "1e+14");
    }
}
