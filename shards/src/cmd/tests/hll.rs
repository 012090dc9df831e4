//! Unit tests of the HyperLogLog commands (`cmd::hll`).

use super::*;
use crate::cmd::test_env::{Env, T0};

/// What the HyperLogLog tests set up and check beside the commands.
impl Env {
    /// PFADD of many elements given as owned strings.
    fn add_all(&mut self, key: &str, elems: impl IntoIterator<Item = String>) -> Reply {
        let mut args = vec!["PFADD".to_string(), key.to_string()];
        args.extend(elems);
        self.command(&args)
    }

    /// The string at `key`, which must exist.
    fn hll(&mut self, key: &str) -> Vec<u8> {
        self.get(key).expect("a string")
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ c as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn other(msg: &str) -> Reply {
    Reply::Error(CmdError::other(msg))
}

fn not_hll() -> Reply {
    other("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

fn corrupt() -> Reply {
    other("INVALIDOBJ Corrupted HLL object detected")
}

fn letters() -> impl Iterator<Item = String> {
    (b'a'..=b'z').map(|c| (c as char).to_string())
}

fn numbers(from: u32, to: u32) -> impl Iterator<Item = String> {
    (from..=to).map(|i| i.to_string())
}

/// A sparse HLL whose cached cardinality is stale, followed by `ops`.
fn sparse_with(ops: &[u8]) -> Vec<u8> {
    let mut v = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    v.extend_from_slice(ops);
    v
}

// Byte strings and numbers below come from redis-server 7.0.15.
const AZ_SPARSE: &str = "48594c4c01000000000000000000008044458c42268040898846e8944175\
    8440ec840e8040c484449094446680426280443c843880408f8041ac8047d18043b08042ed8441fc8c\
    43938443188840df80426d8041d080407e8408";

#[test]
fn pfadd_writes_redis_sparse_bytes() {
    let mut env = Env::new();
    assert_eq!(env.add_all("h", letters()), Reply::Int(1));
    assert_eq!(env.hll("h"), hex(AZ_SPARSE));
    assert_eq!(env.encoding("h"), "raw");
}

#[test]
fn pfcount_caches_cardinality_in_header() {
    let mut env = Env::new();
    env.add_all("h", letters());
    assert_eq!(env.call(pfcount, &["PFCOUNT", "h"]), Reply::Int(25));
    let mut expect = hex(AZ_SPARSE);
    expect[8..16].copy_from_slice(&[25, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(env.hll("h"), expect);
}

#[test]
fn pfcount_answers_from_a_valid_cache() {
    let mut env = Env::new();
    let mut v = hex(AZ_SPARSE);
    v[8..16].copy_from_slice(&[7, 1, 0, 0, 0, 0, 0, 0]);
    env.set("h", &v);
    assert_eq!(env.call(pfcount, &["PFCOUNT", "h"]), Reply::Int(263));
}

#[test]
fn pfadd_without_elements_creates_empty_hll() {
    let mut env = Env::new();
    assert_eq!(env.call(pfadd, &["PFADD", "e"]), Reply::Int(1));
    assert_eq!(env.hll("e"), hex("48594c4c0100000000000000000000807fff"));
    assert_eq!(env.call(pfadd, &["PFADD", "e"]), Reply::Int(0));
    assert_eq!(env.call(pfcount, &["PFCOUNT", "e"]), Reply::Int(0));
    assert_eq!(env.hll("e"), hex("48594c4c0100000000000000000000007fff"));
}

#[test]
fn pfadd_of_known_elements_replies_zero() {
    let mut env = Env::new();
    env.add_all("h", letters());
    assert_eq!(
        env.call(pfadd, &["PFADD", "h", "a", "b", "c"]),
        Reply::Int(0)
    );
    assert_eq!(env.call(pfadd, &["PFADD", "h", "zz"]), Reply::Int(1));
}

#[test]
fn pfcount_of_missing_key_is_zero() {
    let mut env = Env::new();
    assert_eq!(env.call(pfcount, &["PFCOUNT", "nope"]), Reply::Int(0));
    assert!(!env.ks.exists(0, b"nope"));
}

/// Adds 1..=20000 one at a time, checking the bytes (before and after PFCOUNT
/// refreshes the cache) and counts at checkpoints against redis-server, across the
/// sparse -> dense promotion at element 1649.
#[test]
fn incremental_adds_match_redis_bytes_across_promotion() {
    #[rustfmt::skip]
    let expected: &[(u32, usize, u64, i64, u64)] = &[
        (1, 21, 0x323da3c3b4f28a1f, 1, 0x446de56fd33c5174),
        (2, 24, 0xa505ad88f7bf520f, 2, 0x83c1025a7fd768a0),
        (10, 47, 0xfdad2eabb024d199, 10, 0x5cde536f74ba0a91),
        (50, 161, 0x666a93066f981608, 50, 0x55ab34d807966a10),
        (100, 287, 0x3839f8c8b045b7c5, 100, 0x3770f1dc718158cb),
        (150, 401, 0x50958af8972a248b, 151, 0x0fe448471c89e60e),
        (200, 508, 0x2790ad2b0750c9e1, 201, 0x16cb0b9e2b59800f),
        (250, 601, 0x721691264a050434, 251, 0xa23b9f1cad8ccb26),
        (300, 698, 0xc01a5b739fed2a1b, 302, 0x76b7fa7b96f23f35),
        (350, 790, 0x11f29a237a0d96d5, 352, 0x2bb9290df7ef38c7),
        (400, 878, 0x9104f1539f0598ff, 402, 0x60a9265d80682e65),
        (450, 969, 0x742cb4b44cff35d7, 451, 0x5965e1be496ee3d8),
        (500, 1061, 0x880292cfc7f33083, 503, 0xce013b1517aabf57),
        (550, 1151, 0x95e47cef7cf9efdc, 552, 0x4315b78ba77f4086),
        (600, 1238, 0x1788def7d647cb9e, 603, 0xd48ef8dad5e58055),
        (650, 1320, 0xb4c788bbcb898741, 655, 0x3b42b24051b6cad5),
        (700, 1407, 0x3defc389dcbd5aa8, 706, 0xc668ae1bb0e682b7),
        (750, 1488, 0x899ab865fa9bd356, 753, 0xb172b65b1d4d9c55),
        (800, 1570, 0x63e05c932de97c03, 802, 0x5711aceae01c42f7),
        (850, 1659, 0x24aba1e36107a22b, 852, 0xa38dd43b32d4fd7d),
        (900, 1749, 0xa57371f50eab1907, 902, 0xd95568e659489785),
        (950, 1836, 0x3980542af03357c8, 952, 0x3221ac5b669e1372),
        (1000, 1922, 0xd481315ac88925a0, 1001, 0x0a0dd3e84971cee9),
        (1050, 2009, 0x14004aaf990728f9, 1053, 0xac616fb07cf2b0a6),
        (1100, 2096, 0xed70b4379b7a84c0, 1103, 0xf692aaa4254becca),
        (1150, 2174, 0x259e18f7aeca38a9, 1153, 0xc6a25796229f36cf),
        (1200, 2259, 0x68308245d3bf5f36, 1203, 0x8991407b5fd56518),
        (1250, 2348, 0x18c68cc95700eda1, 1256, 0xff31da68acce044e),
        (1300, 2434, 0x5ebdaf10932ca089, 1307, 0xa3d6ee662e3304e1),
        (1350, 2517, 0x6bb712c12fdbd8ab, 1359, 0x832cf01d4ccd8027),
        (1400, 2602, 0xefe914a0628bd013, 1411, 0xe30fdbd97e7c9577),
        (1450, 2682, 0x6196c9b9ab6192f2, 1460, 0x83b65ba7374d9689),
        (1500, 2766, 0xd3a0071999e25735, 1512, 0xace791cd419b7f39),
        (1550, 2852, 0x78f3fee539c82339, 1563, 0xc825411c0de68c67),
        (1600, 2926, 0x9f02024ce8fd59eb, 1611, 0xa31fe3c9d980705b),
        (2000, 12304, 0xcbb123da35978876, 2006, 0x08842a2e8b28d8d8),
        (5000, 12304, 0x2b5e4ebece557b80, 4985, 0x5cc5827aadaf9e3f),
        (10000, 12304, 0xf3fa328b8ba061ef, 9988, 0x9078d254492587b6),
        (20000, 12304, 0xbec9b16a62b54e90, 19891, 0x3ebe66c2a549fec1),
    ];
    let mut env = Env::new();
    let mut next = expected.iter().peekable();
    for i in 1..=20000u32 {
        env.call(pfadd, &["PFADD", "n", &i.to_string()]);
        let dense = env.hll("n")[ENCODING_AT] == DENSE;
        assert_eq!(dense, i >= 1649, "encoding after {i} adds");
        if let Some(&&(n, len, before, count, after)) = next.peek() {
            if n == i {
                next.next();
                let b = env.hll("n");
                assert_eq!((b.len(), fnv(&b)), (len, before), "bytes after {i} adds");
                assert_eq!(env.call(pfcount, &["PFCOUNT", "n"]), Reply::Int(count));
                assert_eq!(fnv(&env.hll("n")), after, "bytes after count at {i}");
            }
        }
    }
}

#[test]
fn pfcount_of_large_sets_matches_redis() {
    let mut env = Env::new();
    for k in (0..100_000).step_by(1000) {
        env.add_all("big", numbers(k + 1, k + 1000));
    }
    assert_eq!(env.call(pfcount, &["PFCOUNT", "big"]), Reply::Int(99562));
    for k in (0..1_000_000).step_by(10_000) {
        env.add_all("big2", (k..k + 10_000).map(|i| format!("e{i}")));
    }
    assert_eq!(env.call(pfcount, &["PFCOUNT", "big2"]), Reply::Int(991657));
}

#[test]
fn pfcount_of_several_keys_estimates_the_union() {
    let mut env = Env::new();
    env.add_all("az", letters());
    env.add_all("s1", numbers(1, 300));
    env.add_all("s2", numbers(200, 500));
    env.add_all("d1", numbers(1, 5000));
    let s1 = env.hll("s1");
    assert_eq!(env.call(pfcount, &["PFCOUNT", "s1", "s2"]), Reply::Int(503));
    assert_eq!(
        env.call(pfcount, &["PFCOUNT", "az", "d1"]),
        Reply::Int(5012)
    );
    assert_eq!(
        env.call(pfcount, &["PFCOUNT", "s1", "missing"]),
        Reply::Int(302)
    );
    // The union is not cached in any key.
    assert_eq!(env.hll("s1"), s1);
}

#[test]
fn pfmerge_of_sparse_inputs_stays_sparse() {
    let mut env = Env::new();
    env.add_all("s1", numbers(1, 300));
    env.add_all("s2", numbers(200, 500));
    assert_eq!(env.call(pfmerge, &["PFMERGE", "m1", "s1", "s2"]), Reply::Ok);
    let b = env.hll("m1");
    assert_eq!((b.len(), fnv(&b)), (1061, 0x55859586ccc816ab));
    assert_eq!(env.call(pfcount, &["PFCOUNT", "m1"]), Reply::Int(503));
}

#[test]
fn pfmerge_with_a_dense_input_is_dense() {
    let mut env = Env::new();
    env.add_all("s1", numbers(1, 300));
    env.add_all("d1", numbers(1, 5000));
    assert_eq!(env.call(pfmerge, &["PFMERGE", "m2", "s1", "d1"]), Reply::Ok);
    let b = env.hll("m2");
    assert_eq!((b.len(), fnv(&b)), (DENSE_SIZE, 0xeaf7ec3d6aad4de3));
    assert_eq!(env.call(pfcount, &["PFCOUNT", "m2"]), Reply::Int(4985));
}

#[test]
fn pfmerge_without_sources_creates_empty_hll() {
    let mut env = Env::new();
    assert_eq!(env.call(pfmerge, &["PFMERGE", "m3"]), Reply::Ok);
    assert_eq!(env.hll("m3"), hex("48594c4c0100000000000000000000807fff"));
}

#[test]
fn pfmerge_into_existing_dest_includes_its_registers() {
    let mut env = Env::new();
    env.add_all("m4", ["x".to_string(), "y".to_string()]);
    assert_eq!(env.call(pfmerge, &["PFMERGE", "m4", "az"]), Reply::Ok);
    env.add_all("az", letters());
    assert_eq!(env.call(pfmerge, &["PFMERGE", "m4", "az"]), Reply::Ok);
    assert_eq!(env.hll("m4"), hex(AZ_SPARSE));
}

#[test]
fn pfmerge_keeps_dest_ttl() {
    let mut env = Env::new();
    env.add_all("d", letters());
    env.ks.set_expire(0, b"d", T0 + 10_000);
    env.add_all("s", numbers(1, 10));
    assert_eq!(env.call(pfmerge, &["PFMERGE", "d", "s"]), Reply::Ok);
    assert_eq!(env.ks.lookup(0, b"d").unwrap().expire_at(), T0 + 10_000);
}

#[test]
fn pfadd_keeps_ttl() {
    let mut env = Env::new();
    env.add_all("h", letters());
    env.ks.set_expire(0, b"h", T0 + 10_000);
    assert_eq!(env.call(pfadd, &["PFADD", "h", "new"]), Reply::Int(1));
    assert_eq!(env.ks.lookup(0, b"h").unwrap().expire_at(), T0 + 10_000);
}

#[test]
fn copied_value_stays_a_valid_hll() {
    let mut env = Env::new();
    env.add_all("h", numbers(1, 100));
    let small = env.hll("h");
    env.set("copy", &small);
    assert_eq!(env.call(pfcount, &["PFCOUNT", "copy"]), Reply::Int(100));
    assert_eq!(env.call(pfadd, &["PFADD", "copy", "101"]), Reply::Int(1));
    env.add_all("d", numbers(1, 5000));
    let dense = env.hll("d");
    env.set("dcopy", &dense);
    assert_eq!(env.call(pfcount, &["PFCOUNT", "dcopy"]), Reply::Int(4985));
    assert_eq!(env.call(pfadd, &["PFADD", "dcopy", "1"]), Reply::Int(0));
}

#[test]
fn embstr_hll_becomes_raw_when_counted() {
    let mut env = Env::new();
    env.set("sp", &hex("48594c4c0100000000000000000000007fff"));
    assert_eq!(env.encoding("sp"), "embstr");
    assert_eq!(env.call(pfcount, &["PFCOUNT", "sp"]), Reply::Int(0));
    assert_eq!(env.encoding("sp"), "raw");
}

#[test]
fn non_string_keys_are_wrongtype() {
    let mut env = Env::new();
    env.ks.set(0, b"l", Value::List(Box::default()), 0);
    let wrong = Reply::Error(CmdError::WrongType);
    assert_eq!(env.call(pfadd, &["PFADD", "l", "a"]), wrong);
    assert_eq!(env.call(pfcount, &["PFCOUNT", "l"]), wrong);
    assert_eq!(env.call(pfcount, &["PFCOUNT", "x", "l"]), wrong);
    assert_eq!(env.call(pfmerge, &["PFMERGE", "d", "l"]), wrong);
    assert!(!env.ks.exists(0, b"d"));
}

#[test]
fn strings_that_are_not_hlls_are_refused() {
    let mut env = Env::new();
    env.set("int", b"123");
    env.set("short", b"HYLL");
    env.set("magic", b"HYLX\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
    env.set("enc", b"HYLLxxxxxxxxxxxxxxxxxxx");
    let mut dense = b"HYLL".to_vec();
    dense.resize(DENSE_SIZE - 1, 0);
    env.set("dense", &dense);
    for key in ["int", "short", "magic", "enc", "dense"] {
        assert_eq!(env.call(pfadd, &["PFADD", key, "a"]), not_hll(), "{key}");
        assert_eq!(env.call(pfcount, &["PFCOUNT", key]), not_hll(), "{key}");
        assert_eq!(env.call(pfcount, &["PFCOUNT", "x", key]), not_hll());
        assert_eq!(env.call(pfmerge, &["PFMERGE", "m", key]), not_hll());
        assert_eq!(env.call(pfmerge, &["PFMERGE", key]), not_hll());
    }
    assert!(!env.ks.exists(0, b"m"));
}

#[test]
fn corrupted_sparse_hll_is_invalidobj() {
    let mut env = Env::new();
    env.set("c", &sparse_with(&[]));
    assert_eq!(env.call(pfcount, &["PFCOUNT", "c"]), corrupt());
    assert_eq!(env.call(pfadd, &["PFADD", "c", "a"]), corrupt());
    assert_eq!(env.call(pfcount, &["PFCOUNT", "c", "c"]), corrupt());
    assert_eq!(env.call(pfmerge, &["PFMERGE", "d", "c"]), corrupt());
    assert!(!env.ks.exists(0, b"d"));
}

#[test]
fn sparse_runs_past_the_last_register_are_corrupt() {
    let mut env = Env::new();
    // XZERO(16384) then VAL: Redis 7.0.15 refuses the extra run when merging.
    env.set("a", &sparse_with(&[0x7f, 0xff, 0x80]));
    assert_eq!(env.call(pfcount, &["PFCOUNT", "a"]), corrupt());
    assert_eq!(env.call(pfcount, &["PFCOUNT", "a", "zz"]), corrupt());
    assert_eq!(env.call(pfmerge, &["PFMERGE", "d", "a"]), corrupt());
    let mut buf = sparse_with(&[0x7f, 0xff, 0x80]);
    assert_eq!(sparse_to_dense(&mut buf), Err(Corrupt));
}

#[test]
fn pfadd_edits_sparse_hll_covering_too_many_registers() {
    // XZERO(16384) + ZERO(1): PFADD only needs the opcode it edits, as in Redis.
    let mut env = Env::new();
    env.set("c2", &sparse_with(&[0x7f, 0xff, 0x00]));
    assert_eq!(env.call(pfcount, &["PFCOUNT", "c2"]), corrupt());
    assert_eq!(env.call(pfadd, &["PFADD", "c2", "a"]), Reply::Int(1));
    assert_eq!(
        env.hll("c2"),
        sparse_with(&[0x71, 0xa6, 0x84, 0x4e, 0x57, 0x00])
    );
}

#[test]
fn pfadd_to_dense_string_sets_registers() {
    let mut env = Env::new();
    let mut d = b"HYLL".to_vec();
    d.resize(DENSE_SIZE, 0);
    env.set("d", &d);
    assert_eq!(env.call(pfcount, &["PFCOUNT", "d"]), Reply::Int(0));
    assert_eq!(env.call(pfadd, &["PFADD", "d", "a"]), Reply::Int(1));
    assert_eq!(env.call(pfcount, &["PFCOUNT", "d"]), Reply::Int(1));
    assert_eq!(env.hll("d").len(), DENSE_SIZE);
}

#[test]
fn sparse_register_above_32_promotes_to_dense() {
    let mut buf = empty_sparse();
    assert_eq!(sparse_set(&mut buf, 5, 3), Ok(true));
    assert_eq!(sparse_set(&mut buf, 7, 40), Ok(true));
    assert_eq!(buf.len(), DENSE_SIZE);
    assert_eq!(buf[ENCODING_AT], DENSE);
    let regs = &buf[HDR..];
    assert_eq!(
        (dense_get(regs, 5), dense_get(regs, 7), dense_get(regs, 6)),
        (3, 40, 0)
    );
}

#[test]
fn sparse_runs_split_and_merge() {
    let mut buf = empty_sparse();
    // Registers 0..4 set to 2 merge into one VAL run of length 4, then a 5th
    // starts a new run.
    for i in 0..5 {
        assert_eq!(sparse_set(&mut buf, i, 2), Ok(true));
    }
    assert_eq!(
        &buf[HDR..],
        &[val_op(2, 4), val_op(2, 1), 0x7f, 0xff - 5][..]
    );
    assert_eq!(sparse_set(&mut buf, 2, 1), Ok(false));
    // Raising the middle of a run splits it.
    assert_eq!(sparse_set(&mut buf, 1, 5), Ok(true));
    assert_eq!(
        &buf[HDR..],
        &[val_op(2, 1), val_op(5, 1), val_op(2, 3), 0x7f, 0xff - 5][..]
    );
}

#[test]
fn dense_registers_do_not_disturb_neighbours() {
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    let mut model = vec![0u8; REGISTERS];
    let mut x = 0x1234_5678u64;
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = (x % REGISTERS as u64) as usize;
        let v = ((x >> 20) & 63) as u8;
        dense_put(&mut regs, i, v);
        model[i] = v;
    }
    for (i, &v) in model.iter().enumerate() {
        assert_eq!(dense_get(&regs, i), v, "register {i}");
    }
}

#[test]
fn pfadd_sets_the_register_the_element_hashes_to() {
    let mut buf = empty_sparse();
    let (index, count) = pattern_len(b"a");
    assert_eq!(sparse_set(&mut buf, index, count), Ok(true));
    let mut env = Env::new();
    env.call(pfadd, &["PFADD", "a", "a"]);
    assert_eq!(env.hll("a"), buf);
}
