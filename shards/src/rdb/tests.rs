//! Codec tests: payloads captured from redis-server 7.0.15, round trips of every type
//! and encoding we hold, the legacy encodings we only read, and damaged payloads.

use super::*;
use crate::types::{
    hash::{Hash, HashLimits},
    list::{List, Shape},
    set::{Set, SetLimits},
    zset::{Elem, ZSet},
};
use crate::value::Str;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn config() -> EngineConfig {
    EngineConfig::default()
}

fn string(s: &[u8]) -> Value {
    Value::Str(Str::from_bytes(s))
}

fn list(items: &[&str]) -> Value {
    Value::List(Box::new(List::build(
        Shape::of(&config()),
        items.iter().map(|s| s.as_bytes()),
    )))
}

fn set_with(members: &[&str], lim: SetLimits) -> Value {
    let mut s = Set::for_members(members[0].as_bytes(), members.len(), lim);
    for m in members {
        s.add(m.as_bytes(), lim);
    }
    Value::Set(Box::new(s))
}

fn set(members: &[&str]) -> Value {
    set_with(members, SetLimits::from_config(&config()))
}

fn hash_with(pairs: &[(&str, &str)], lim: HashLimits) -> Value {
    let mut h = Hash::default();
    for (f, v) in pairs {
        h.insert(f.as_bytes(), v.as_bytes(), lim);
    }
    Value::Hash(h)
}

fn hash(pairs: &[(&str, &str)]) -> Value {
    hash_with(pairs, HashLimits::from_config(&config()))
}

fn zset_with(elems: &[(&str, f64)], c: &EngineConfig) -> Value {
    let elems = elems
        .iter()
        .map(|(m, s)| Elem::new(m.as_bytes(), *s))
        .collect();
    Value::ZSet(Box::new(ZSet::from_elems(elems, c)))
}

fn zset(elems: &[(&str, f64)]) -> Value {
    zset_with(elems, &config())
}

/// A value's content, independent of its encoding.
fn content(v: &Value) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = match v {
        Value::Str(s) => vec![s.to_vec()],
        Value::List(l) => return l.iter().map(std::borrow::Cow::into_owned).collect(),
        Value::Set(s) => s.iter().map(|m| m.to_vec()).collect(),
        Value::Hash(h) => h.iter().map(|(f, v)| [f, b"=", v].concat()).collect(),
        Value::ZSet(z) => {
            return z
                .iter()
                .map(|(m, s)| [m, s.to_string().as_bytes()].concat())
                .collect()
        }
        Value::Stream(st) => {
            return st
                .entries()
                .into_iter()
                .map(|(id, pairs)| {
                    let mut e = id.to_string().into_bytes();
                    for (f, v) in pairs {
                        e.extend_from_slice(&[b" ", f, b"=", v].concat());
                    }
                    e
                })
                .collect()
        }
    };
    out.sort();
    out
}

fn round_trip(v: &Value) -> Value {
    let payload = dump_payload(v);
    assert!(payload_ok(&payload));
    load_payload(&payload, &config()).expect("loads")
}

/// A payload with a correct footer around `body` (type byte included).
fn payload(body: &[u8], version: u16) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn load(body: &[u8]) -> Decoded<Value> {
    load_payload(&payload(body, RDB_VERSION), &config())
}

#[test]
fn dumps_are_byte_identical_to_redis_7_0() {
    let cases: Vec<(Value, &str)> = vec![
        (string(b"hello"), "000568656c6c6f0a006372df766534200a"),
        (string(b"12345"), "00c139300a009d94ea2793fc08b9"),
        (
            string(b"1234567890123"),
            "000d313233343536373839303132330a005e0c12ae0429bc1e",
        ),
        (
            string(&[b'a'; 105]),
            "00c3094069016161e05c000161610a00f2c9c5b9ff2f716b",
        ),
        (
            string(b"hello world hello world hello world hello world, abcabcabc"),
            "00c31c3a0c68656c6c6f20776f726c642068e0190b042c2061626340020162630a0088a3a2bbbb66756c",
        ),
        (
            list(&["a", "b", "1", "300", "-5"]),
            "120102151500000005008161028162020101c12c02dffb02ff0a004fa1e8c2c4f29832",
        ),
        (
            set(&["1", "2", "70000"]),
            "0b1404000000030000000100000002000000701101000a0085d5c1065b1dd055",
        ),
        (
            hash(&[("f", "v"), ("n", "7")]),
            "1012120000000400816602817602816e020701ff0a00b82adea8407ffaa8",
        ),
        (
            zset(&[("a", 1.0), ("b", 2.5)]),
            "1114140000000400816102010181620283322e3504ff0a00d44c6ea4f644d9d7",
        ),
        (
            zset_with(
                &[("a", 1.5), ("b", f64::NEG_INFINITY), ("c", 3.0)],
                &EngineConfig {
                    zset_max_listpack_entries: 0,
                    ..config()
                },
            ),
            "0503016300000000000008400161000000000000f83f0162000000000000f0ff0a009aa25325610ceafb",
        ),
        (
            hash_with(
                &[("field", "value")],
                HashLimits {
                    max_entries: 0,
                    max_value: 64,
                },
            ),
            "0401056669656c640576616c75650a00b8c1f9a156f9aba9",
        ),
        (set(&["member"]), "0201066d656d6265720a00782717cf5e5d03c4"),
    ];
    for (value, redis) in cases {
        let redis = hex(redis);
        assert_eq!(dump_payload(&value), redis, "dump of {value:?}");
        // Loading picks encodings from our (default) limits; compare the content.
        let loaded = load_payload(&redis, &config()).unwrap();
        assert_eq!(content(&loaded), content(&value));
    }
}

#[test]
fn strings_round_trip_in_every_encoding() {
    let mut long_raw = Vec::new();
    for i in 0..400u32 {
        long_raw.extend_from_slice(&(i.wrapping_mul(2654435761)).to_le_bytes());
    }
    for v in [
        string(b""),
        string(b"0"),
        string(b"-128"),
        string(b"-32769"),
        string(b"2147483647"),
        string(b"2147483648"),
        string(b"-9223372036854775808"),
        string(b"007"),
        string(&[b'z'; 44]),
        string(&[b'z'; 5000]),
        string(&long_raw),
        Value::Str(Str::raw(b"12".to_vec())),
    ] {
        let back = round_trip(&v);
        let (Value::Str(a), Value::Str(b)) = (&v, &back) else {
            panic!("not a string")
        };
        assert_eq!(a.to_vec(), b.to_vec());
    }
}

#[test]
fn collections_round_trip_keeping_their_encoding() {
    let c = config();
    let many: Vec<String> = (0..2000).map(|i| format!("element-{i}")).collect();
    let many_refs: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
    let ints: Vec<String> = (0..600).map(|i| (i * 7 - 2000).to_string()).collect();
    let int_refs: Vec<&str> = ints.iter().map(|s| s.as_str()).collect();
    let pairs: Vec<(&str, &str)> = many_refs.iter().map(|m| (*m, "v")).collect();
    let scored: Vec<(&str, f64)> = many_refs
        .iter()
        .enumerate()
        .map(|(i, m)| (*m, i as f64 / 3.0))
        .collect();
    let values = [
        list(&["only"]),
        list(&many_refs),
        set(&["1", "-5", "1000000000000"]),
        set(&int_refs),
        set(&["a", "b", "c"]),
        set(&many_refs),
        hash(&[("a", "1"), ("b", "")]),
        hash(&pairs),
        zset(&[("x", 0.1), ("y", f64::INFINITY), ("z", -1e300)]),
        zset(&scored),
        zset(&[("neg", -0.0), ("big", 1e17)]),
    ];
    for v in values {
        let back = round_trip(&v);
        assert_eq!(back.encoding(&c), v.encoding(&c), "{}", v.type_name());
        assert_eq!(back, v);
    }
}

#[test]
fn reads_the_plain_types() {
    // LIST, SET, ZSET (text scores), HASH.
    assert_eq!(load(b"\x01\x02\x01a\xc0\x07").unwrap(), list(&["a", "7"]));
    assert_eq!(load(b"\x02\x02\x01a\x01b").unwrap(), set(&["a", "b"]));
    assert_eq!(
        load(b"\x03\x03\x01a\x031.5\x01b\xfe\x01c\xff").unwrap(),
        zset(&[("a", 1.5), ("b", f64::INFINITY), ("c", f64::NEG_INFINITY)])
    );
    assert_eq!(load(b"\x04\x01\x01f\x01v").unwrap(), hash(&[("f", "v")]));
}

/// A ziplist of short strings, laid out as Redis 6 writes it.
fn ziplist(items: &[&str]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for it in items {
        let start = body.len();
        tail = 10 + start;
        body.push(prev as u8);
        body.push(it.len() as u8);
        body.extend_from_slice(it.as_bytes());
        prev = body.len() - start;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&((10 + body.len() + 1) as u32).to_le_bytes());
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(items.len() as u16).to_le_bytes());
    out.extend(body);
    out.push(0xff);
    out
}

fn with_blob(kind: u8, blob: &[u8]) -> Vec<u8> {
    let mut body = vec![kind];
    write_string(&mut body, blob);
    body
}

#[test]
fn reads_the_legacy_encodings() {
    let zl = ziplist(&["a", "b", "c"]);
    assert_eq!(
        load(&with_blob(types::LIST_ZIPLIST, &zl)).unwrap(),
        list(&["a", "b", "c"])
    );
    let mut quick = vec![types::LIST_QUICKLIST, 2];
    write_string(&mut quick, &ziplist(&["a"]));
    write_string(&mut quick, &ziplist(&["b", "c"]));
    assert_eq!(load(&quick).unwrap(), list(&["a", "b", "c"]));
    let zl = ziplist(&["f", "v", "g", "w"]);
    assert_eq!(
        load(&with_blob(types::HASH_ZIPLIST, &zl)).unwrap(),
        hash(&[("f", "v"), ("g", "w")])
    );
    let zl = ziplist(&["m", "2.5", "n", "-1"]);
    assert_eq!(
        load(&with_blob(types::ZSET_ZIPLIST, &zl)).unwrap(),
        zset(&[("m", 2.5), ("n", -1.0)])
    );
    let zm = b"\x01\x01f\x01\x00v\xff";
    assert_eq!(
        load(&with_blob(types::HASH_ZIPMAP, zm)).unwrap(),
        hash(&[("f", "v")])
    );
    let lp = listpack::encode([&b"x"[..], b"y"]);
    assert_eq!(
        load(&with_blob(types::SET_LISTPACK, &lp)).unwrap(),
        set(&["x", "y"])
    );
    // A quicklist 2 with a plain node.
    let mut q2 = vec![types::LIST_QUICKLIST_2, 1, 1];
    write_string(&mut q2, b"big element");
    assert_eq!(load(&q2).unwrap(), list(&["big element"]));
}

#[test]
fn footer_checks_version_and_checksum() {
    let good = dump_payload(&string(b"v"));
    assert!(payload_ok(&good));
    let mut flipped = good.clone();
    flipped[1] ^= 1;
    assert!(!payload_ok(&flipped));
    assert!(payload_ok(&payload(b"\x00\x01v", 11)));
    assert!(!payload_ok(&payload(b"\x00\x01v", 12)));
    assert!(!payload_ok(&good[..9]));
}

#[test]
fn refuses_malformed_values() {
    for body in [
        &b""[..],
        b"\x00",
        b"\x00\x05ab",
        b"\x01\x00",
        b"\x02\x02\x01a\x01a",
        b"\x04\x02\x01f\x01v\x01f\x01w",
        b"\x05\x01\x01a\x00\x00\x00\x00\x00\x00\xf8\x7f",
        b"\x03\x01\x01a\xfd",
        b"\x0f\x00",
        b"\x07\x00",
        b"\x02\x81\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x00\xc3\x02\x05\x00a",
    ] {
        assert!(load(body).is_err(), "{body:?} should not load");
    }
    let lp = listpack::encode([&b"only-a-field"[..]]);
    assert!(load(&with_blob(types::HASH_LISTPACK, &lp)).is_err());
    let lp = listpack::encode([&b"m"[..], b"not-a-score"]);
    assert!(load(&with_blob(types::ZSET_LISTPACK, &lp)).is_err());
}

#[test]
fn damaged_payloads_never_panic() {
    let big: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let big: Vec<&str> = big.iter().map(|s| s.as_str()).collect();
    let values = [
        string(&b"abc".repeat(40)),
        list(&["a", "1", "-300", "long element here"]),
        list(&big),
        set(&["1", "2", "3"]),
        set(&big),
        hash(&[("f", "v"), ("g", "12")]),
        zset(&[("a", 1.0), ("b", 2.5)]),
        zset(&big.iter().map(|m| (*m, 1.5)).collect::<Vec<_>>()),
    ];
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for v in &values {
        let good = dump_payload(v);
        let body = &good[..good.len() - 10];
        for _ in 0..2000 {
            let mut b = body.to_vec();
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            if next() % 4 == 0 {
                b.truncate((next() as usize) % b.len());
            }
            // Only "no panic" matters; a mutation may well still be a valid value.
            let _ = load(&b);
        }
    }
}

#[path = "stream_tests.rs"]
mod streams;

mod files {
    use super::super::file::{self, read_file, write_db_start, write_footer, write_header};
    use super::*;
    use crate::clock::Clock;
    use crate::keyspace::Keyspace;

    /// A file of one keyspace, as the server assembles it from shards' parts.
    fn file_of(ks: &Keyspace, checksum: bool) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, &[("redis-ver", "7.0.0".into())]);
        for db in 0..ks.db_count() {
            let mut part = Vec::new();
            let how = file::EntryFormat::of(ks);
            let mut w = file::Written::default();
            let mut scratch = Vec::new();
            ks.for_each_key(db, |key, e| {
                w.add(how.write(&mut part, &mut scratch, key, e))
            });
            if w.keys > 0 {
                write_db_start(&mut out, db, w.keys, w.expires);
                out.extend_from_slice(&part);
            }
        }
        let crc = if checksum { crc64::crc64(0, &out) } else { 0 };
        write_footer(&mut out, crc, checksum);
        out
    }

    fn loaded(buf: &[u8], now: u64) -> Vec<(usize, Vec<u8>, Value, u64)> {
        let mut got = Vec::new();
        read_file(buf, &config(), now, |l| {
            got.push((l.db, l.key, l.entry.value, l.entry.expire_at))
        })
        .expect("a good file");
        got.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        got
    }

    #[test]
    fn keyspaces_round_trip_through_a_file() {
        let (clock, _) = Clock::manual(1_000_000);
        let mut ks = Keyspace::new(4, clock);
        ks.set(0, b"s", string(b"hello"), 0);
        ks.set(0, b"t", string(b"12"), 5_000_000);
        ks.set(3, b"l", list(&["a", "b"]), 0);
        ks.set(3, b"z", zset(&[("m", 1.5)]), 0);
        for checksum in [true, false] {
            let got = loaded(&file_of(&ks, checksum), 1_000_000);
            assert_eq!(got.len(), 4);
            assert_eq!(got[0], (0, b"s".to_vec(), string(b"hello"), 0));
            assert_eq!(got[1], (0, b"t".to_vec(), string(b"12"), 5_000_000));
            assert_eq!((got[2].0, &got[2].1[..]), (3, &b"l"[..]));
            assert_eq!(got[3].2, zset(&[("m", 1.5)]));
        }
        // A key whose TTL passed before the load is skipped and counted.
        let info = read_file(&file_of(&ks, true), &config(), 6_000_000, |_| {}).unwrap();
        assert_eq!((info.keys, info.expired), (3, 1));
    }

    #[test]
    fn streams_round_trip_through_a_file() {
        let (clock, _) = Clock::manual(1);
        let mut ks = Keyspace::new(1, clock);
        let stream = Value::Stream(Box::new(super::streams::big_stream()));
        ks.set(0, b"st", stream.clone(), 0);
        let got = loaded(&file_of(&ks, true), 1);
        assert_eq!(content(&got[0].2), content(&stream));
        assert_eq!(dump_payload(&got[0].2), dump_payload(&stream));
    }

    #[test]
    fn damaged_files_are_refused_never_panic() {
        let (clock, _) = Clock::manual(1);
        let mut ks = Keyspace::new(1, clock);
        for i in 0..50 {
            ks.set(0, format!("k{i}").as_bytes(), list(&["x", "y", "z"]), 0);
        }
        let good = file_of(&ks, true);
        let mut flipped = good.clone();
        let n = flipped.len();
        flipped[n / 2] ^= 0x55;
        assert!(read_file(&flipped, &config(), 1, |_| {}).is_err());
        assert!(read_file(b"REDIS", &config(), 1, |_| {}).is_err());
        assert!(read_file(b"RUBBISH00010", &config(), 1, |_| {}).is_err());
        assert!(read_file(b"REDIS0099\xff", &config(), 1, |_| {}).is_err());
        for cut in 0..good.len() {
            let _ = read_file(&good[..cut], &config(), 1, |_| {});
        }
    }
}
