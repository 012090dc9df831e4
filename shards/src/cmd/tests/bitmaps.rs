//! Unit tests of the bitmap commands (`cmd::bitmaps`).

use super::*;
use crate::cmd::test_env::{Env, Rng, T0};

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn ints(v: &[Option<i64>]) -> Reply {
    Reply::Array(v.iter().map(|n| n.map_or(Reply::Nil, Reply::Int)).collect())
}

fn other(msg: &str) -> Reply {
    Reply::Error(CmdError::other(msg))
}

fn err(e: CmdError) -> Reply {
    Reply::Error(e)
}

const BAD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. \
                        Note that u64 is not supported but i64 is.";

// ---- SETBIT / GETBIT ----

#[test]
fn setbit_creates_grows_and_replies_old_bit() {
    let mut env = Env::new();
    assert_eq!(env.run(setbit, "SETBIT b 7 1"), int(0));
    assert_eq!(env.get("b").unwrap(), b"\x01");
    assert_eq!(env.encoding("b"), "raw");
    assert_eq!(env.run(setbit, "SETBIT b 7 1"), int(1));
    assert_eq!(env.run(setbit, "SETBIT b 20 1"), int(0));
    assert_eq!(env.get("b").unwrap(), b"\x01\x00\x08");
    assert_eq!(env.run(setbit, "SETBIT b 7 0"), int(1));
    assert_eq!(env.get("b").unwrap(), b"\x00\x00\x08");
}

#[test]
fn setbit_argument_errors() {
    let mut env = Env::new();
    for line in [
        "SETBIT b -1 1",
        "SETBIT b 4294967296 1",
        "SETBIT b x 2",
        "SETBIT b 01 1",
    ] {
        assert_eq!(env.run(setbit, line), err(CmdError::BitOffset), "{line}");
    }
    for line in ["SETBIT b 4294967295 x", "SETBIT b 0 2", "SETBIT b 0 -1"] {
        assert_eq!(
            env.run(setbit, line),
            other("ERR bit is not an integer or out of range"),
            "{line}"
        );
    }
    assert!(env.get("b").is_none());
}

#[test]
fn setbit_on_integer_string_edits_its_text() {
    let mut env = Env::new();
    env.set("i", b"12");
    assert_eq!(env.run(setbit, "SETBIT i 1 1"), int(0));
    assert_eq!(env.get("i").unwrap(), b"q2");
    assert_eq!(env.encoding("i"), "raw");
}

#[test]
fn bit_writes_keep_ttl() {
    let mut env = Env::new();
    env.set("k", b"x");
    env.ks.set_expire(0, b"k", T0 + 100_000);
    env.run(setbit, "SETBIT k 100 1");
    env.run(bitfield, "BITFIELD k SET u8 8 1");
    assert_eq!(env.expire_at("k"), Some(T0 + 100_000));
}

#[test]
fn getbit_reads_bits_and_zero_beyond() {
    let mut env = Env::new();
    env.set("i", b"12");
    assert_eq!(env.run(getbit, "GETBIT i 2"), int(1));
    assert_eq!(env.run(getbit, "GETBIT i 0"), int(0));
    assert_eq!(env.run(getbit, "GETBIT i 100"), int(0));
    assert_eq!(env.run(getbit, "GETBIT nokey 4294967295"), int(0));
    assert_eq!(
        env.run(getbit, "GETBIT nokey 4294967296"),
        err(CmdError::BitOffset)
    );
    assert_eq!(env.run(getbit, "GETBIT i x"), err(CmdError::BitOffset));
}

#[test]
fn non_strings_are_wrongtype() {
    let mut env = Env::new();
    env.ks.set(0, b"l", Value::List(Box::default()), 0);
    let wrong = err(CmdError::WrongType);
    assert_eq!(env.run(setbit, "SETBIT l 0 1"), wrong);
    assert_eq!(env.run(getbit, "GETBIT l 0"), wrong);
    assert_eq!(env.run(bitcount, "BITCOUNT l"), wrong);
    assert_eq!(env.run(bitpos, "BITPOS l 1"), wrong);
    assert_eq!(env.run(bitop, "BITOP AND d l"), wrong);
    assert_eq!(env.run(bitfield, "BITFIELD l GET u8 0"), wrong);
    assert_eq!(env.run(bitfield, "BITFIELD l"), wrong);
    assert_eq!(env.run(bitfield, "BITFIELD l SET u8 0 1"), wrong);
    assert_eq!(env.run(bitfield_ro, "BITFIELD_RO l GET u8 0"), wrong);
    // Argument errors come first.
    assert_eq!(env.run(setbit, "SETBIT l x 1"), err(CmdError::BitOffset));
    assert_eq!(env.run(getbit, "GETBIT l x"), err(CmdError::BitOffset));
    assert!(env.get("d").is_none());
}

// ---- BITCOUNT ----

#[test]
fn bitcount_ranges_match_redis() {
    let mut env = Env::new();
    env.set("s", b"foobar");
    for (line, n) in [
        ("BITCOUNT s", 26),
        ("BITCOUNT s 1 1", 6),
        ("BITCOUNT s -2 -1", 7),
        ("BITCOUNT s 5 30 bit", 17),
        ("BITCOUNT s -3 -5", 0),
        ("BITCOUNT s -1 -3 bit", 0),
        ("BITCOUNT s 0 -100", 4),
        ("BITCOUNT s -100 -100", 4),
        ("BITCOUNT s -100 -200", 0),
        ("BITCOUNT s -100 -200 bit", 0),
        ("BITCOUNT s 1 2 BIT", 2),
        ("BITCOUNT s 0 0 byte", 4),
        (
            "BITCOUNT s -9223372036854775808 9223372036854775807 bit",
            26,
        ),
    ] {
        assert_eq!(env.run(bitcount, line), int(n), "{line}");
    }
    env.set("e", b"");
    assert_eq!(env.run(bitcount, "BITCOUNT e"), int(0));
    assert_eq!(env.run(bitcount, "BITCOUNT e 0 -1"), int(0));
}

#[test]
fn bitcount_syntax_errors() {
    let mut env = Env::new();
    env.set("s", b"foobar");
    assert_eq!(env.run(bitcount, "BITCOUNT s 1"), err(CmdError::Syntax));
    assert_eq!(
        env.run(bitcount, "BITCOUNT s 1 2 bit x"),
        err(CmdError::Syntax)
    );
    assert_eq!(
        env.run(bitcount, "BITCOUNT s 1 2 foo"),
        err(CmdError::Syntax)
    );
    assert_eq!(
        env.run(bitcount, "BITCOUNT s 1 x bit"),
        err(CmdError::NotInteger)
    );
    assert_eq!(
        env.run(bitcount, "BITCOUNT s x 1 foo"),
        err(CmdError::NotInteger)
    );
}

#[test]
fn bitcount_of_empty_negative_range_ignores_the_unit() {
    let mut env = Env::new();
    env.set("s", b"foobar");
    assert_eq!(env.run(bitcount, "BITCOUNT s -12 -33 foo"), int(0));
    assert_eq!(
        env.run(bitcount, "BITCOUNT s -12 -3 foo"),
        err(CmdError::Syntax)
    );
}

#[test]
fn bitcount_of_missing_key_ignores_arguments() {
    let mut env = Env::new();
    assert_eq!(env.run(bitcount, "BITCOUNT nokey 1 x"), int(0));
    assert_eq!(env.run(bitcount, "BITCOUNT nokey 1"), int(0));
    assert_eq!(env.run(bitcount, "BITCOUNT nokey 1 2 foo"), int(0));
}

// ---- BITPOS ----

#[test]
fn bitpos_matches_redis() {
    let mut env = Env::new();
    env.set("f", b"\xff\xf0\x00");
    env.set("o", b"\xff\xff");
    env.set("z", b"\x00\x00");
    env.set("e", b"");
    env.set("foo", b"foo");
    for (line, n) in [
        ("BITPOS f 0", 12),
        ("BITPOS f 1", 0),
        ("BITPOS f 0 1", 12),
        ("BITPOS f 0 1 1", 12),
        ("BITPOS f 0 0 0", -1),
        ("BITPOS f 1 2", -1),
        ("BITPOS f 1 -1", -1),
        ("BITPOS f 0 3 20 bit", 12),
        ("BITPOS f 1 3 6 bit", 3),
        ("BITPOS o 0", 16),
        ("BITPOS o 0 0", 16),
        ("BITPOS o 0 0 -1", -1),
        ("BITPOS o 0 1", 16),
        ("BITPOS o 0 5", -1),
        ("BITPOS o 1 5", -1),
        ("BITPOS o 0 0 -1 bit", -1),
        ("BITPOS o 0 5 3", -1),
        ("BITPOS o 1 -100", 0),
        ("BITPOS o 0 -100 -200", -1),
        ("BITPOS z 1", -1),
        ("BITPOS z 0", 0),
        ("BITPOS z 1 0 -1 bit", -1),
        ("BITPOS e 0", -1),
        ("BITPOS e 1", -1),
        ("BITPOS e 0 0 -1", -1),
        ("BITPOS foo 0 9223372036854775807", -1),
        (
            "BITPOS foo 0 -9223372036854775808 9223372036854775807 bit",
            0,
        ),
        ("BITPOS nokey 1", -1),
        ("BITPOS nokey 0", 0),
    ] {
        assert_eq!(env.run(bitpos, line), int(n), "{line}");
    }
}

#[test]
fn bitpos_argument_errors() {
    let mut env = Env::new();
    env.set("o", b"ab");
    let bit_err = other("ERR The bit argument must be 1 or 0.");
    assert_eq!(env.run(bitpos, "BITPOS o 2"), bit_err);
    assert_eq!(env.run(bitpos, "BITPOS nokey 2"), bit_err);
    assert_eq!(env.run(bitpos, "BITPOS o x"), err(CmdError::NotInteger));
    assert_eq!(env.run(bitpos, "BITPOS o 1 x"), err(CmdError::NotInteger));
    assert_eq!(env.run(bitpos, "BITPOS o 1 0 x"), err(CmdError::NotInteger));
    assert_eq!(
        env.run(bitpos, "BITPOS o 0 3 bit"),
        err(CmdError::NotInteger)
    );
    assert_eq!(env.run(bitpos, "BITPOS o 1 0 1 x"), err(CmdError::Syntax));
    assert_eq!(
        env.run(bitpos, "BITPOS o 1 0 1 bit x"),
        err(CmdError::Syntax)
    );
    assert_eq!(
        env.run(bitpos, "BITPOS o 1 x 1 foo"),
        err(CmdError::NotInteger)
    );
    assert_eq!(env.run(bitpos, "BITPOS o 1 1 x foo"), err(CmdError::Syntax));
    // A missing key answers before the range is parsed.
    assert_eq!(env.run(bitpos, "BITPOS nokey 1 x 1 foo"), int(-1));
    assert_eq!(env.run(bitpos, "BITPOS nokey 0 1 2 foo"), int(0));
}

// ---- BITOP ----

#[test]
fn bitop_operations_pad_shorter_sources() {
    let mut env = Env::new();
    env.set("a", b"\x0f\xf0");
    env.set("b", b"\xff");
    assert_eq!(env.run(bitop, "BITOP AND d a b"), int(2));
    assert_eq!(env.get("d").unwrap(), b"\x0f\x00");
    assert_eq!(env.run(bitop, "BITOP or d a b"), int(2));
    assert_eq!(env.get("d").unwrap(), b"\xff\xf0");
    assert_eq!(env.run(bitop, "BITOP XOR d a b nokey"), int(2));
    assert_eq!(env.get("d").unwrap(), b"\xf0\xf0");
    assert_eq!(env.run(bitop, "BITOP NOT d a"), int(2));
    assert_eq!(env.get("d").unwrap(), b"\xf0\x0f");
    assert_eq!(env.encoding("d"), "raw");
}

#[test]
fn bitop_argument_errors() {
    let mut env = Env::new();
    env.set("a", b"\x0f");
    assert_eq!(
        env.run(bitop, "BITOP NOT d a b"),
        other("ERR BITOP NOT must be called with a single source key.")
    );
    assert_eq!(env.run(bitop, "BITOP NAND d a"), err(CmdError::Syntax));
    assert!(env.get("d").is_none());
}

#[test]
fn bitop_with_empty_result_deletes_dest() {
    let mut env = Env::new();
    env.set("d", b"x");
    assert_eq!(env.run(bitop, "BITOP AND d nokey1 nokey2"), int(0));
    assert!(env.get("d").is_none());
    env.set("d", b"x");
    env.set("e", b"");
    assert_eq!(env.run(bitop, "BITOP OR d e"), int(0));
    assert!(env.get("d").is_none());
}

#[test]
fn bitop_replaces_dest_and_clears_its_ttl() {
    let mut env = Env::new();
    env.set("d", b"x");
    env.ks.set_expire(0, b"d", T0 + 100_000);
    env.set("n", b"12");
    assert_eq!(env.run(bitop, "BITOP OR d n"), int(2));
    assert_eq!(env.get("d").unwrap(), b"12");
    assert_eq!(env.encoding("d"), "raw");
    assert_eq!(env.expire_at("d"), Some(0));
    env.ks.set(0, b"l", Value::List(Box::default()), 0);
    assert_eq!(env.run(bitop, "BITOP OR l n"), int(2));
    assert_eq!(env.get("l").unwrap(), b"12");
}

// ---- BITFIELD ----

#[test]
fn bitfield_get_on_missing_key_does_not_create_it() {
    let mut env = Env::new();
    assert_eq!(env.run(bitfield, "BITFIELD k"), ints(&[]));
    assert_eq!(env.run(bitfield, "BITFIELD k GET u8 0"), ints(&[Some(0)]));
    assert!(env.get("k").is_none());
}

#[test]
fn bitfield_argument_errors() {
    let mut env = Env::new();
    for t in ["u64", "i65", "i0", "x8", "U8", "i08", "u", "i-1"] {
        assert_eq!(
            env.run(bitfield, &format!("BITFIELD k GET {t} 0")),
            other(BAD_TYPE),
            "{t}"
        );
    }
    for off in ["-1", "#-1", "x", "#", "4294967296", "#536870912"] {
        let line = format!("BITFIELD k SET u8 {off} 1");
        assert_eq!(env.run(bitfield, &line), err(CmdError::BitOffset), "{off}");
    }
    assert_eq!(
        env.run(bitfield, "BITFIELD k SET u8 0"),
        err(CmdError::Syntax)
    );
    assert_eq!(
        env.run(bitfield, "BITFIELD k SET u8 0 x"),
        err(CmdError::NotInteger)
    );
    assert_eq!(env.run(bitfield, "BITFIELD k foo"), err(CmdError::Syntax));
    assert_eq!(
        env.run(bitfield, "BITFIELD k GET u8"),
        err(CmdError::Syntax)
    );
    assert_eq!(
        env.run(bitfield, "BITFIELD k OVERFLOW"),
        err(CmdError::Syntax)
    );
    let bad_overflow = other("ERR Invalid OVERFLOW type specified");
    assert_eq!(env.run(bitfield, "BITFIELD k OVERFLOW foo"), bad_overflow);
    assert_eq!(
        env.run(bitfield, "BITFIELD k GET u8 0 OVERFLOW foo SET u8 0 x"),
        bad_overflow
    );
    assert!(env.get("k").is_none());
}

#[test]
fn bitfield_set_and_get_signed_and_unsigned() {
    let mut env = Env::new();
    assert_eq!(
        env.run(
            bitfield,
            "BITFIELD b SET u8 #1 255 GET u8 8 SET i8 0 -1 GET u4 0 GET i4 0"
        ),
        ints(&[Some(0), Some(255), Some(0), Some(15), Some(-1)])
    );
    assert_eq!(env.get("b").unwrap(), b"\xff\xff");
}

#[test]
fn bitfield_unaligned_fields() {
    let mut env = Env::new();
    assert_eq!(
        env.run(
            bitfield,
            "BITFIELD e SET i5 3 -7 GET u16 0 INCRBY i5 3 -20 GET i5 3 \
             OVERFLOW SAT INCRBY i3 13 100 INCRBY i3 13 -100 GET u16 0"
        ),
        ints(&[
            Some(0),
            Some(6400),
            Some(5),
            Some(5),
            Some(3),
            Some(-4),
            Some(1284)
        ])
    );
    assert_eq!(env.get("e").unwrap(), b"\x05\x04");
}

/// redis-server 7.0 computes the room left above a signed field's value in wrapping
/// int64 arithmetic, so SET of a value within the field's maximum of i64::MIN counts as
/// an overflow upwards: SAT writes the maximum (found by the random compat replay).
#[test]
fn bitfield_set_near_i64_min_saturates_like_redis() {
    let mut env = Env::new();
    assert_eq!(
        env.run(
            bitfield,
            "BITFIELD q OVERFLOW SAT SET i1 0 -9223372036854775808 \
             SET i8 8 -9223372036854775800 SET i8 16 -9223372036854775680 SET i8 24 -200 \
             OVERFLOW FAIL SET i8 32 -9223372036854775808 \
             OVERFLOW WRAP SET i8 32 -9223372036854775807 SET i64 40 -9223372036854775808 \
             OVERFLOW SAT INCRBY i64 40 -1 SET u8 104 -1"
        ),
        ints(&[
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            None,
            Some(0),
            Some(0),
            Some(i64::MIN),
            Some(0)
        ])
    );
    assert_eq!(
        env.get("q").unwrap(),
        b"\x00\x7f\x80\x80\x01\x80\x00\x00\x00\x00\x00\x00\x00\xff"
    );
}

#[test]
fn bitfield_incrby_overflow_policies() {
    let mut env = Env::new();
    assert_eq!(
        env.run(
            bitfield,
            "BITFIELD c INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1 OVERFLOW FAIL \
             INCRBY u2 102 5 OVERFLOW WRAP INCRBY u2 102 5 OVERFLOW SAT INCRBY u2 102 -10"
        ),
        ints(&[Some(1), Some(1), None, Some(2), Some(0)])
    );
    let mut expect = vec![0u8; 13];
    expect[12] = 4;
    assert_eq!(env.get("c").unwrap(), expect);
}

#[test]
fn bitfield_set_overflow_policies() {
    let mut env = Env::new();
    let ops = "SET u8 0 -1 SET u8 0 300 SET i8 0 -200 SET i8 0 200 GET i8 0";
    assert_eq!(
        env.run(bitfield, &format!("BITFIELD d OVERFLOW WRAP {ops}")),
        ints(&[Some(0), Some(255), Some(44), Some(56), Some(-56)])
    );
    assert_eq!(
        env.run(bitfield, &format!("BITFIELD d OVERFLOW SAT {ops}")),
        ints(&[Some(200), Some(255), Some(-1), Some(-128), Some(127)])
    );
    assert_eq!(
        env.run(bitfield, &format!("BITFIELD d OVERFLOW FAIL {ops}")),
        ints(&[None, None, None, None, Some(127)])
    );
}

#[test]
fn bitfield_64_bit_limits() {
    let mut env = Env::new();
    assert_eq!(
        env.run(
            bitfield,
            "BITFIELD a SET i64 0 -9223372036854775808 INCRBY i64 0 -1 OVERFLOW SAT \
             INCRBY i64 0 -1 INCRBY i64 0 9223372036854775807 INCRBY i64 0 1 \
             OVERFLOW FAIL INCRBY i64 0 1 SET u63 0 -1 GET u63 0 GET i64 0"
        ),
        ints(&[
            Some(0),
            Some(i64::MAX),
            Some(i64::MAX - 1),
            Some(i64::MAX),
            Some(i64::MAX),
            None,
            None,
            Some(i64::MAX / 2),
            Some(i64::MAX)
        ])
    );
    assert_eq!(env.get("a").unwrap(), b"\x7f\xff\xff\xff\xff\xff\xff\xff");
    assert_eq!(
        env.run(
            bitfield,
            "BITFIELD f OVERFLOW WRAP INCRBY u63 0 -1 INCRBY i64 63 9223372036854775807 \
             INCRBY i64 63 9223372036854775807 OVERFLOW SAT \
             INCRBY u63 0 9223372036854775807 INCRBY u63 0 -9223372036854775808"
        ),
        ints(&[
            Some(i64::MAX),
            Some(i64::MAX),
            Some(-2),
            Some(i64::MAX),
            Some(0)
        ])
    );
}

#[test]
fn bitfield_fail_still_grows_the_string() {
    let mut env = Env::new();
    assert_eq!(
        env.run(bitfield, "BITFIELD k OVERFLOW FAIL SET u8 0 300"),
        ints(&[None])
    );
    assert_eq!(env.get("k").unwrap(), b"\x00");
}

#[test]
fn bitfield_hash_offsets_multiply_and_wrap_like_redis() {
    let mut env = Env::new();
    assert_eq!(
        env.run(bitfield, "BITFIELD k GET i8 #2305843009213693953"),
        ints(&[Some(0)])
    );
    assert_eq!(
        env.run(bitfield, "BITFIELD k GET u8 4294967295 GET i64 4294967290"),
        ints(&[Some(0), Some(0)])
    );
}

#[test]
fn bitfield_reads_integer_strings_as_text() {
    let mut env = Env::new();
    env.set("s", b"12");
    assert_eq!(
        env.run(bitfield, "BITFIELD s GET u8 0 GET u16 4"),
        ints(&[Some(49), Some(4896)])
    );
    assert_eq!(env.encoding("s"), "int");
    assert_eq!(env.run(bitfield, "BITFIELD s SET u1 0 1"), ints(&[Some(0)]));
    assert_eq!(env.encoding("s"), "raw");
}

#[test]
fn bitfield_ro_allows_only_get() {
    let mut env = Env::new();
    env.set("k", b"\x7f");
    assert_eq!(
        env.run(bitfield_ro, "BITFIELD_RO k GET u8 0 OVERFLOW SAT GET i8 0"),
        ints(&[Some(127), Some(127)])
    );
    let ro = other("ERR BITFIELD_RO only supports the GET subcommand");
    assert_eq!(env.run(bitfield_ro, "BITFIELD_RO k SET u8 0 1"), ro);
    assert_eq!(env.run(bitfield_ro, "BITFIELD_RO k INCRBY u8 0 1"), ro);
    assert_eq!(env.run(bitfield_ro, "BITFIELD_RO nokey SET u8 0 1"), ro);
    assert_eq!(
        env.run(bitfield_ro, "BITFIELD_RO k SET u8 0 x"),
        err(CmdError::NotInteger)
    );
    assert_eq!(
        env.run(bitfield_ro, "BITFIELD_RO k foo"),
        err(CmdError::Syntax)
    );
    assert_eq!(env.get("k").unwrap(), b"\x7f");
    assert!(env.get("nokey").is_none());
}

// ---- Model-based property test ----

/// A bitmap as a vector of bits, a multiple of 8 long while the key exists.
#[derive(Default)]
struct Model {
    bits: Vec<bool>,
    exists: bool,
}

impl Model {
    fn grow(&mut self, bit: usize) {
        self.exists = true;
        let need = (bit / 8 + 1) * 8;
        if self.bits.len() < need {
            self.bits.resize(need, false);
        }
    }

    fn get(&self, bit: usize) -> bool {
        self.bits.get(bit).copied().unwrap_or(false)
    }

    fn bytes(&self) -> Vec<u8> {
        self.bits
            .chunks(8)
            .map(|c| c.iter().fold(0u8, |acc, &b| (acc << 1) | b as u8))
            .collect()
    }

    /// The bit indexes a start/end pair selects, by Redis's documented rules.
    fn select(&self, start: i64, end: i64, bit_unit: bool) -> Vec<usize> {
        let unit = if bit_unit { 1 } else { 8 };
        let n = (self.bits.len() / unit) as i64;
        let norm = |i: i64| if i < 0 { (n + i).max(0) } else { i };
        let (s, e) = (norm(start), norm(end).min(n - 1));
        if s > e {
            return Vec::new();
        }
        (s as usize * unit..(e as usize + 1) * unit).collect()
    }

    fn field(&self, offset: usize, bits: usize) -> u64 {
        (offset..offset + bits).fold(0, |acc, i| (acc << 1) | self.get(i) as u64)
    }

    fn set_field(&mut self, offset: usize, bits: usize, v: u64) {
        self.grow(offset + bits - 1);
        for j in 0..bits {
            self.bits[offset + j] = (v >> (bits - 1 - j)) & 1 == 1;
        }
    }
}

#[test]
fn random_bit_operations_match_a_bool_vector_model() {
    let mut env = Env::new();
    let mut model = Model::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for step in 0..4000 {
        let unit = |r: &mut Rng| r.below(2) == 0;
        match rng.below(7) {
            0 | 1 => {
                let off = rng.below(300) as usize;
                let on = rng.below(2) == 1;
                let line = format!("SETBIT k {off} {}", on as u8);
                let old = model.get(off);
                model.grow(off);
                model.bits[off] = on;
                assert_eq!(env.run(setbit, &line), int(old as i64), "{step}: {line}");
            }
            2 => {
                let off = rng.below(400) as usize;
                let line = format!("GETBIT k {off}");
                let want = int(model.get(off) as i64);
                assert_eq!(env.run(getbit, &line), want, "{step}: {line}");
            }
            3 => {
                let (s, e, bit_unit) = (rng.range(-50, 50), rng.range(-50, 50), unit(&mut rng));
                let u = if bit_unit { "BIT" } else { "BYTE" };
                let line = format!("BITCOUNT k {s} {e} {u}");
                let want = if !model.exists || (s < 0 && e < 0 && s > e) {
                    0
                } else {
                    model
                        .select(s, e, bit_unit)
                        .into_iter()
                        .filter(|&i| model.bits[i])
                        .count()
                };
                assert_eq!(env.run(bitcount, &line), int(want as i64), "{step}: {line}");
            }
            4 => {
                let want_bit = rng.below(2) == 1;
                let (s, e, bit_unit) = (rng.range(-50, 50), rng.range(-50, 50), unit(&mut rng));
                let form = rng.below(3);
                let line = match form {
                    0 => format!("BITPOS k {}", want_bit as u8),
                    1 => format!("BITPOS k {} {s}", want_bit as u8),
                    _ => format!(
                        "BITPOS k {} {s} {e} {}",
                        want_bit as u8,
                        if bit_unit { "BIT" } else { "BYTE" }
                    ),
                };
                let want = if !model.exists {
                    if want_bit {
                        -1
                    } else {
                        0
                    }
                } else {
                    let (s, e, bit_unit) = match form {
                        0 => (0, -1, false),
                        1 => (s, -1, false),
                        _ => (s, e, bit_unit),
                    };
                    let sel = model.select(s, e, bit_unit);
                    match sel.iter().find(|&&i| model.bits[i] == want_bit) {
                        Some(&i) => i as i64,
                        None if sel.is_empty() || want_bit || form == 2 => -1,
                        None => *sel.last().unwrap() as i64 + 1,
                    }
                };
                assert_eq!(env.run(bitpos, &line), int(want), "{step}: {line}");
            }
            _ => {
                let signed = rng.below(2) == 0;
                let bits = rng.range(1, 16) as usize;
                let off = rng.below(200) as usize;
                let ty = format!("{}{bits}", if signed { 'i' } else { 'u' });
                let modulus = 1i64 << bits;
                let to_reply = |raw: u64| {
                    let v = raw as i64;
                    if signed && v >= modulus / 2 {
                        v - modulus
                    } else {
                        v
                    }
                };
                let old = model.field(off, bits);
                match rng.below(3) {
                    0 => {
                        let line = format!("BITFIELD k GET {ty} {off}");
                        let want = ints(&[Some(to_reply(old))]);
                        assert_eq!(env.run(bitfield, &line), want, "{step}: {line}");
                    }
                    1 => {
                        let v = rng.range(-70_000, 70_000);
                        let line = format!("BITFIELD k SET {ty} {off} {v}");
                        model.set_field(off, bits, v.rem_euclid(modulus) as u64);
                        let want = ints(&[Some(to_reply(old))]);
                        assert_eq!(env.run(bitfield, &line), want, "{step}: {line}");
                    }
                    _ => {
                        let v = rng.range(-70_000, 70_000);
                        let line = format!("BITFIELD k INCRBY {ty} {off} {v}");
                        let new = (old as i64 + v).rem_euclid(modulus) as u64;
                        model.set_field(off, bits, new);
                        let want = ints(&[Some(to_reply(new))]);
                        assert_eq!(env.run(bitfield, &line), want, "{step}: {line}");
                    }
                }
            }
        }
    }
    assert_eq!(env.get("k").unwrap(), model.bytes());
}
