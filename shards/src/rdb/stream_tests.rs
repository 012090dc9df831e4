//! Stream codec tests: payloads captured from redis-server 7.0.15 (one read back in full,
//! two re-encoded byte for byte), round trips, the Redis 5/6 and 7.2 stream types, and
//! damaged payloads.

use super::*;
use crate::types::stream::{Consumer, Group, NodeLimits, Pending, Stream, StreamId};

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId::new(ms, seq)
}

fn stream_of(v: &Value) -> &Stream {
    match v {
        Value::Stream(s) => s,
        other => panic!("not a stream: {}", other.type_name()),
    }
}

/// Everything a stream holds but its node layout: entries, counters, groups.
fn assert_same(a: &Stream, b: &Stream) {
    let (va, vb) = (
        Value::Stream(Box::new(a.clone())),
        Value::Stream(Box::new(b.clone())),
    );
    assert_eq!(content(&va), content(&vb), "entries");
    assert_eq!(a.len(), b.len(), "length");
    assert_eq!(a.last_id, b.last_id, "last_id");
    assert_eq!(a.first_id, b.first_id, "first_id");
    assert_eq!(a.max_deleted_id, b.max_deleted_id, "max_deleted_id");
    assert_eq!(a.entries_added, b.entries_added, "entries_added");
    assert_eq!(a.groups, b.groups, "groups");
}

fn stream_round_trip(s: &Stream) -> Stream {
    let back = round_trip(&Value::Stream(Box::new(s.clone())));
    let back = stream_of(&back).clone();
    assert_same(s, &back);
    back
}

fn add(s: &mut Stream, id: StreamId, pairs: &[(&str, &str)]) {
    let pairs: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(f, v)| (f.as_bytes(), v.as_bytes()))
        .collect();
    s.append(id, &pairs, NodeLimits::default());
}

fn pending(consumer: &str, delivery_time: u64, delivery_count: u64) -> Pending {
    Pending {
        consumer: consumer.as_bytes().to_vec(),
        delivery_time,
        delivery_count,
    }
}

/// A group whose PEL entries are owned as `pel` says (consumers created as needed).
fn group(last_id: StreamId, read: Option<u64>, pel: &[(StreamId, Pending)]) -> Group {
    let mut g = Group::new(last_id, read);
    for (id, p) in pel {
        g.consumers
            .entry(p.consumer.clone())
            .or_insert_with(|| Consumer {
                seen_time: 1_700_000_000_123,
                pel: Default::default(),
            })
            .pel
            .insert(*id);
        g.pel.insert(*id, p.clone());
    }
    g
}

/// `DUMP s1` after: XADD s1 1000-0 name alice age 30; XADD 1000-1 name bob age -7;
/// XADD 1001-5 other x n 123456789012; XADD 2000-0 name carol age ""; XADD 3000-0 name
/// dave age 41; XDEL 1000-1; XGROUP CREATE g1 0; XGROUP CREATE g2 $ ENTRIESREAD 5;
/// XREADGROUP GROUP g1 c1 COUNT 2 >; XREADGROUP GROUP g1 c2 COUNT 1 >; XACK g1 1000-0;
/// XCLAIM g1 c2 0 1001-5 TIME 1700000000000 RETRYCOUNT 4; XGROUP CREATECONSUMER g1
/// idle; XGROUP CREATE g3 1500-0.
const REDIS_S1: &str = "13011000000000000003e80000000000000000407f7f0000002700040101010201846e616d65058361676504000102010001000185616c696365061e01050103010001010183626f6204dff90205010001010105010201856f7468657206817802816e02f4141a99be1c0000000908010201c3e8020001856361726f6c06800105010201c7d002000184646176650529010501ff044bb80043e80043e801050302673147d00081ffffffffffffffff0200000000000003e900000000000000050068e5cf8b0100000400000000000007d000000000000000007e5ba74ca201000001030263317d5ba74ca2010000000263327e5ba74ca20100000200000000000003e9000000000000000500000000000007d000000000000000000469646c657e5ba74ca2010000000267324bb80005000002673345dc0081ffffffffffffffff00000a00c0e017d971fb9e93";

/// `DUMP s2`: 130 entries (1700000000000+3i)-(i%4) for i in 1..=130: i < 70: f <37i> g
/// v<i>; i < 90: h <"x" * (i%7)> f <-i>; then big "payload-<i>-" + 150 "y"; then XGROUP
/// CREATE grp 0, XREADGROUP GROUP grp worker COUNT 3 >, XREADGROUP GROUP grp other
/// COUNT 2 >. Three nodes: one closed at 100 entries, one at 4096 bytes.
const REDIS_S2: &str = "1303100000018bcfe568030000000000000001c344d94e4511450e0000a5026401000102018166028167024009000020010625018276310305201704030101014a200d0032600d00062011006f200d0033600d0a0901dfff02c09402827634600f000c203901c0b9200e0035600e000f203a01c0de200e0036600e0012203b01c103200e0037600e0015403c01c128200f0038600f0018203c01c14d200e0039600e001b203c07c1720283763130044087001e403d0097400f0031600f0021603e00bc4010003260100024403f00e1400f0033600f0027204001c206400f0034600f002a204001c22b400f0035600f002d404001c2504010003660100030204001c275400f0037600f00334040009a400f0038600f0036404000bf400f0039600f0039604000e42010003280a2003c204001c309400f80a2003f204001c32e400f80a10042204001c353400f80a10045404001c378401080a200484040009d400f80a2004b404000c2400f80a1004e404000e7400f80a10051404001c40c401080a20054204001c431400f80a20057204001c456200f003380a1005a204001c47b400f80a1005d604000a0401080a20060404000c5400f80a20063404000ea400f80a10066204001c50f400f80a10069404001c534401080a2006c204001c559400f80a2006f204001c57e400f80a10072404000a3400f80a10075604000c82010003480a20078404000ed400f80a2007b204001c612400f80a1007e204001c637400f80a102c08102228402c65c02204180a301c08422c601c681401080a402c08702204300a6401080a402c08a02204400cb401080a501c08d604400f0401180a701c090204401c715401080a801c093204401c73a2010003580a801c096204401c75f401080a901c099404401c784401180ab01c09c404400a94010a0ac009f404400ce4010a0ab00a2404400f34010a0ab00a5404401c8184011a0ac00a8204401c83d4010a0ac00ab204401c8624010a0ab00ae204401c8874010a0ab00b1604400ac20110036a0ac00b4404400d14010a0ac00b7404400f64010a0ab00ba204401c91b4010a0ab00bd404401c9404011a0ac00c0204401c9654010a0ac00c3204401c98a4010a0ab00c6404400af4010a0ab00c9604400d44011a0ac00cc404400f9401040ac243000cf2044247f02680280448403dfba0208401500d22049601502817802249b01dfb9801600d5404f60170382787803401800b8801800d820566017048378787804401800b7801800dbc05e00842018017805401900b6801900de204860320085201802787806401a00b5801a00e1e000660086201920000007401c00b4801c00e4c06a80b000b3801500e7c067a0b000b2801600eac064c0af00b1801700ede00061e000b000b0801900f0c05ee001b000af801900f3c062e002b000ae801a00f6c066e003af00ad801b00f9e0006a80b000ac801600fcc067a0b000ab801600ffc064c0b000aa601701c102c061e000af00a980180005e0005ee001b000a8801a0008c062e002b000a7801a000b20661401018362696704e0a17061796c6f61642d39302d79e08c000201a306229401c10e2103e009b40031e095b40011419fe009b50032e095b50014223ae009b40033e095b400172167e009b40034e095b4001ae20cd40035e095b4001de20dd40036e095b50020e20cd40037e095b40023e20cd40038e095b40026e20cd40039e095b40029e203d400a2c714013130e7901503a40601ff100000018bcfe5692f0000000000000001c3410e4fbb13bb0f000078001701000101018362696704000102200c100001e0a27061796c6f61642d3130312d79e08c000201a40420ad000320bae003ad0032e094ad000620b1e003ad0033e094ad040901dfff02e003ae0034e094ae000ce206b80035e094ad000fe206b80036e094ad0012e206b80037e094ad0015e207b80038e094ae0018e206b80039e094ad001be205b8013130e094ad001ee205b80031e695cd0021e206b80031e695ce0024e205b80031e695ce0027e206b8e695cd002ae206b8e695cd002de207b8e695ce0030e206b8e695ce0033e206b8e695cd0036e206b8e695cd0039e206b80032e695ce003ce205b80032e695ce003fe205b80032e695cd0042e205b80032e692cd0101ff100000018bcfe569740000000000000000c3407844d613d604000028000701000101018362696704000102200c100001e0a27061796c6f61642d3132342d79e08c000201a40420ad000320bae003ad0035e094ad000620b1e003ad0036e094ad0009215de003ad0037e094ad000ce206b70038e094ad000fe206b70039e094ad0012e205b7013330e091ad0101ff4082810000018bcfe5698602810000018bcfe5680301000040820103677270810000018bcfe5680f0105050000018bcfe568030000000000000001865ba74ca2010000010000018bcfe568060000000000000002865ba74ca2010000010000018bcfe568090000000000000003865ba74ca2010000010000018bcfe5680c0000000000000000865ba74ca2010000010000018bcfe5680f0000000000000001865ba74ca20100000102056f74686572865ba74ca2010000020000018bcfe5680c00000000000000000000018bcfe5680f000000000000000106776f726b6572865ba74ca2010000030000018bcfe5680300000000000000010000018bcfe5680600000000000000020000018bcfe5680900000000000000030a00fdc80df9b278279f";

/// `DUMP s3`: XADD s3 5-1 a 1; XGROUP CREATE s3 g $; XDEL s3 5-1.
const REDIS_S3: &str = "13000005010000050101010167050181ffffffffffffffff00000a0029bcc7f8e8cf657c";

#[test]
fn reads_a_redis_7_0_stream_with_deletions_groups_and_pels() {
    let bytes = hex(REDIS_S1);
    assert!(payload_ok(&bytes));
    let v = load_payload(&bytes, &config()).expect("loads");
    let s = stream_of(&v);
    let entries: Vec<&[u8]> = vec![
        b"1000-0 name=alice age=30",
        b"1001-5 other=x n=123456789012",
        b"2000-0 name=carol age=",
        b"3000-0 name=dave age=41",
    ];
    assert_eq!(content(&v), entries);
    assert_eq!(s.len(), 4);
    assert_eq!(s.last_id, id(3000, 0));
    assert_eq!(s.first_id, id(1000, 0));
    assert_eq!(s.max_deleted_id, id(1000, 1));
    assert_eq!(s.entries_added, 5);
    assert!(!s.contains(id(1000, 1)));

    let names: Vec<&[u8]> = s.groups.keys().map(|k| &k[..]).collect();
    assert_eq!(names, [&b"g1"[..], b"g2", b"g3"]);
    let g1 = &s.groups[&b"g1"[..]];
    assert_eq!((g1.last_id, g1.entries_read), (id(2000, 0), None));
    let pel: Vec<_> = g1.pel.iter().map(|(id, p)| (*id, p.clone())).collect();
    assert_eq!(
        pel,
        [
            (id(1001, 5), pending("c2", 1_700_000_000_000, 4)),
            (id(2000, 0), pending("c2", 1_796_582_366_078, 1)),
        ]
    );
    let consumers: Vec<_> = g1
        .consumers
        .iter()
        .map(|(n, c)| {
            (
                &n[..],
                c.seen_time,
                c.pel.iter().copied().collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        consumers,
        [
            (&b"c1"[..], 1_796_582_366_077, vec![]),
            (b"c2", 1_796_582_366_078, vec![id(1001, 5), id(2000, 0)]),
            (b"idle", 1_796_582_366_078, vec![]),
        ]
    );
    assert_eq!(s.groups[&b"g2"[..]], Group::new(id(3000, 0), Some(5)));
    assert_eq!(s.groups[&b"g3"[..]], Group::new(id(1500, 0), None));

    // Our dump drops the deleted entry from its node; everything else survives.
    stream_round_trip(s);
}

#[test]
fn dumps_streams_without_deletions_byte_identical_to_redis_7_0() {
    for (text, length, nodes) in [(REDIS_S2, 130, 3), (REDIS_S3, 0, 0)] {
        let bytes = hex(text);
        let v = load_payload(&bytes, &config()).expect("loads");
        let s = stream_of(&v);
        assert_eq!(s.len(), length);
        assert_eq!(bytes[1], nodes, "node count");
        assert_eq!(dump_payload(&v), bytes);
    }
    let v = load_payload(&hex(REDIS_S2), &config()).unwrap();
    let s = stream_of(&v);
    assert_eq!(s.last_id, id(1_700_000_000_390, 2));
    assert_eq!(s.first_id, id(1_700_000_000_003, 1));
    assert_eq!(s.entries_added, 130);
    assert_eq!(
        s.get(id(1_700_000_000_264, 0)).unwrap(),
        [
            (b"h".to_vec(), b"xxxx".to_vec()),
            (b"f".to_vec(), b"-88".to_vec())
        ]
    );
    let g = &s.groups[&b"grp"[..]];
    assert_eq!(g.entries_read, Some(5));
    assert_eq!(g.consumers[&b"worker"[..]].pel.len(), 3);
    assert_eq!(g.consumers[&b"other"[..]].pel.len(), 2);
    let v = load_payload(&hex(REDIS_S3), &config()).unwrap();
    let s = stream_of(&v);
    assert_eq!(
        (s.last_id, s.max_deleted_id, s.entries_added),
        (id(5, 1), id(5, 1), 1)
    );
    assert_eq!(s.groups[&b"g"[..]], Group::new(id(5, 1), None));
}

/// A stream of 450 entries over several nodes (several field sets, long values, IDs
/// whose sequence goes down within a node), with deletions and three groups.
pub(super) fn big_stream() -> Stream {
    let mut s = Stream::new();
    let long = "L".repeat(700);
    for i in 0..450u64 {
        let id = id(1_000 + i / 3, (i % 3) * 1000 + (i * 7) % 5);
        let i_s = i.to_string();
        match i % 5 {
            0 | 1 => add(&mut s, id, &[("f", &i_s), ("g", "same")]),
            2 => add(&mut s, id, &[("g", &i_s), ("f", "swapped")]),
            3 => add(&mut s, id, &[("only", &long[..(i as usize) % 700])]),
            _ => add(&mut s, id, &[("f", &i_s), ("g", "same"), ("extra", "-12")]),
        }
    }
    let all: Vec<StreamId> = s.entries().iter().map(|(id, _)| *id).collect();
    for (n, del) in all.iter().enumerate() {
        if n % 7 == 3 || n < 2 || (200..300).contains(&n) {
            assert!(s.delete(*del));
        }
    }
    let live: Vec<StreamId> = s.entries().iter().map(|(id, _)| *id).collect();
    s.groups.insert(
        b"readers".to_vec(),
        group(
            live[40],
            Some(123),
            &[
                (live[3], pending("alice", 1_700_000_000_000, 1)),
                (live[10], pending("bob", 1_700_000_000_500, 7)),
                (live[11], pending("alice", 1_700_000_001_000, 2)),
            ],
        ),
    );
    let mut idle = Group::new(StreamId::MIN, Some(0));
    idle.consumers
        .insert(b"nobody".to_vec(), Consumer::default());
    s.groups.insert(b"idle".to_vec(), idle);
    s.groups
        .insert(b"12345".to_vec(), Group::new(s.last_id, None));
    s
}

#[test]
fn streams_round_trip() {
    let big = big_stream();
    assert!(big.node_count() > 3);
    let back = stream_round_trip(&big);
    // The dump holds nodes of at most 100 entries and about 4 KB.
    let payload = dump_payload(&Value::Stream(Box::new(big.clone())));
    assert!(payload[1] >= 4, "node count {}", payload[1]);
    // A second dump of what we loaded is the same bytes.
    assert_eq!(dump_payload(&Value::Stream(Box::new(back))), payload);

    // Extreme IDs and counters; an empty field value; a huge value (4-byte listpack
    // string header, LZF in the node string).
    let mut s = Stream::new();
    add(&mut s, id(1, u64::MAX), &[("a", "")]);
    add(&mut s, id(2, 0), &[("a", &"z".repeat(70_000))]);
    add(
        &mut s,
        id(u64::MAX, u64::MAX - 1),
        &[("9223372036854775807", "-1")],
    );
    s.set_meta(StreamId::MAX, u64::MAX - 1, id(u64::MAX, 0));
    stream_round_trip(&s);

    // Empty streams: fresh, and with every entry deleted and groups kept.
    stream_round_trip(&Stream::new());
    let mut s = Stream::new();
    add(&mut s, id(7, 7), &[("k", "v")]);
    add(&mut s, id(8, 0), &[("k", "w")]);
    assert!(s.delete(id(7, 7)) && s.delete(id(8, 0)));
    s.groups
        .insert(b"g".to_vec(), Group::new(id(8, 0), Some(2)));
    let mut g = Group::new(id(8, 0), None);
    g.consumers.insert(
        b"c".to_vec(),
        Consumer {
            seen_time: 42,
            pel: Default::default(),
        },
    );
    s.groups.insert(b"h".to_vec(), g);
    let back = stream_round_trip(&s);
    assert_eq!((back.len(), back.first_id), (0, StreamId::MIN));
}

/// A consumer group of a hand-made payload: name, last ID, entries read (as saved),
/// PEL IDs, and consumers with the IDs of their PELs.
type GroupSpec = (
    &'static str,
    StreamId,
    u64,
    Vec<StreamId>,
    Vec<(&'static str, Vec<StreamId>)>,
);

/// A hand-made stream payload of type `kind`, with one node under master ID 100-1
/// holding 100-1 (a=1 b=x), 100-2 deleted, and 105-0 (c=z; seq-diff -1); the counters
/// and groups are fields, so tests can break them.
struct Spec {
    kind: u8,
    length: u64,
    last_id: StreamId,
    entries_added: u64,
    groups: Vec<GroupSpec>,
}

impl Spec {
    /// As loaded: 2 entries, last ID 105-0, first 100-1, max deleted 100-2, 3 added;
    /// g1 at 100-1 with 100-1 pending for "c" (delivered at 1234 twice; c seen at 5678,
    /// active at 9999 in 7.2), g2 at 105-0, g3 at 102-0, each with 9 entries read.
    fn new(kind: u8) -> Spec {
        let p = id(100, 1);
        Spec {
            kind,
            length: 2,
            last_id: id(105, 0),
            entries_added: 3,
            groups: vec![
                ("g1", p, 9, vec![p], vec![("c", vec![p])]),
                ("g2", id(105, 0), 9, vec![], vec![]),
                ("g3", id(102, 0), 9, vec![], vec![]),
            ],
        }
    }

    fn body(&self) -> Vec<u8> {
        let node = listpack::encode(
            [
                "2", "1", "2", "a", "b", "0", // master entry
                "2", "0", "0", "1", "x", "5", // 100-1, same fields
                "3", "0", "1", "2", "y", "5", // 100-2, deleted
                "0", "5", "-1", "1", "c", "z", "6", // 105-0
            ]
            .map(str::as_bytes),
        );
        let v2 = self.kind != types::STREAM_LISTPACKS;
        let mut b = vec![self.kind, 1];
        write_string(&mut b, &raw(id(100, 1)));
        write_string(&mut b, &node);
        let mut lens = vec![self.length, self.last_id.ms, self.last_id.seq];
        if v2 {
            lens.extend([100, 1, 100, 2, self.entries_added]);
        }
        lens.push(self.groups.len() as u64);
        lens.into_iter().for_each(|n| write_len(&mut b, n));
        for (name, last, read, pel, consumers) in &self.groups {
            write_string(&mut b, name.as_bytes());
            write_len(&mut b, last.ms);
            write_len(&mut b, last.seq);
            if v2 {
                write_len(&mut b, *read);
            }
            write_len(&mut b, pel.len() as u64);
            for p in pel {
                b.extend(raw(*p));
                b.extend(1234u64.to_le_bytes());
                write_len(&mut b, 2);
            }
            write_len(&mut b, consumers.len() as u64);
            for (cname, ids) in consumers {
                write_string(&mut b, cname.as_bytes());
                b.extend(5678u64.to_le_bytes());
                if self.kind == types::STREAM_LISTPACKS_3 {
                    b.extend(9999u64.to_le_bytes());
                }
                write_len(&mut b, ids.len() as u64);
                ids.iter().for_each(|p| b.extend(raw(*p)));
            }
        }
        b
    }
}

fn raw(id: StreamId) -> [u8; 16] {
    ((u128::from(id.ms) << 64) | u128::from(id.seq)).to_be_bytes()
}

#[test]
fn reads_redis_5_6_and_7_2_stream_types() {
    for kind in [
        types::STREAM_LISTPACKS,
        types::STREAM_LISTPACKS_2,
        types::STREAM_LISTPACKS_3,
    ] {
        let v = load(&Spec::new(kind).body()).expect("loads");
        let s = stream_of(&v);
        let entries: Vec<&[u8]> = vec![b"100-1 a=1 b=x", b"105-0 c=z"];
        assert_eq!(content(&v), entries, "type {kind}");
        assert_eq!(
            (s.len(), s.last_id, s.first_id),
            (2, id(105, 0), id(100, 1))
        );
        let g1 = &s.groups[&b"g1"[..]];
        assert_eq!(g1.pel[&id(100, 1)], pending("c", 1234, 2));
        assert_eq!(g1.consumers[&b"c"[..]].seen_time, 5678);
        let read: Vec<Option<u64>> = s.groups.values().map(|g| g.entries_read).collect();
        if kind == types::STREAM_LISTPACKS {
            // Redis 7's estimates: the first entry's 1, the last ID's the entries
            // added (the length), a middle ID's unknown; no deletion is known.
            assert_eq!(read, [Some(1), Some(2), None]);
            assert_eq!((s.entries_added, s.max_deleted_id), (2, StreamId::MIN));
        } else {
            assert_eq!(read, [Some(9); 3]);
            assert_eq!((s.entries_added, s.max_deleted_id), (3, id(100, 2)));
        }
        stream_round_trip(s);
    }
}

/// A payload of one node (listpack of `items`, master ID `master`) and two entries,
/// last ID 9-9.
fn node_body(items: &[&str], master: &[u8]) -> Vec<u8> {
    let mut b = vec![types::STREAM_LISTPACKS_2, 1];
    write_string(&mut b, master);
    write_string(
        &mut b,
        &listpack::encode(items.iter().map(|s| s.as_bytes())),
    );
    b.extend([2, 9, 9, 0, 0, 0, 0, 2, 0]);
    b
}

#[test]
fn refuses_malformed_streams() {
    let good = Spec::new(types::STREAM_LISTPACKS_2);
    assert!(load(&good.body()).is_ok());
    let p = id(100, 1);
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut case = |why, f: &dyn Fn(&mut Spec)| {
        let mut spec = Spec::new(types::STREAM_LISTPACKS_2);
        f(&mut spec);
        cases.push((why, spec.body()));
    };
    case("length mismatch", &|s| s.length = 3);
    case("last ID before the last entry", &|s| s.last_id = id(104, 0));
    case("fewer added than held", &|s| s.entries_added = 1);
    case("negative entries-read", &|s| s.groups[1].2 = u64::MAX - 1);
    case("duplicate group", &|s| s.groups[2].0 = "g2");
    case("duplicate group PEL entry", &|s| s.groups[0].3.push(p));
    case("unknown PEL entry", &|s| {
        s.groups[0].4[0].1 = vec![id(100, 7)]
    });
    case("PEL entry without owner", &|s| s.groups[0].4[0].1.clear());
    case("owned twice by one", &|s| s.groups[0].4[0].1.push(p));
    case("owned by two", &|s| s.groups[0].4.push(("d", vec![p])));
    case("duplicate consumer", &|s| s.groups[0].4.push(("c", vec![])));

    // Node layouts. Two entries, 5-5 and 5-6, are fine.
    let m = raw(id(5, 5));
    let ok = [
        "2", "0", "1", "a", "0", "2", "0", "0", "v", "4", "2", "0", "1", "w", "4",
    ];
    assert!(load(&node_body(&ok, &m)).is_ok());
    let broken = |at: usize, with: &'static str| {
        let mut items = ok.to_vec();
        items[at] = with;
        items
    };
    for (why, items, master) in [
        ("lp-count", broken(9, "5"), &m[..]),
        ("ID going down", broken(12, "-1"), &m),
        ("entry 0-0", ok.to_vec(), &raw(StreamId::MIN)),
        ("terminator", broken(4, "1"), &m),
        ("live count", [&["1", "1"], &ok[2..]].concat(), &m),
        ("more entries than elements", broken(0, "3"), &m),
        ("field count", broken(2, "-1"), &m),
        ("flags", broken(5, "flag"), &m),
        ("stray element", [&ok[..], &["x"]].concat(), &m),
        ("empty node", vec![], &m),
        ("short master ID", ok.to_vec(), &m[1..]),
    ] {
        cases.push((why, node_body(&items, master)));
    }
    // Two nodes under one master ID.
    let mut dup = vec![types::STREAM_LISTPACKS_2, 2];
    for _ in 0..2 {
        write_string(&mut dup, &m);
        write_string(&mut dup, &listpack::encode(ok.map(str::as_bytes)));
    }
    dup.extend([2, 9, 9, 0, 0, 0, 0, 2, 0]);
    cases.push(("duplicate node", dup));

    for (why, body) in cases {
        assert!(load(&body).is_err(), "{why} should not load");
    }
    // Truncated anywhere.
    let body = good.body();
    for cut in 0..body.len() {
        assert!(load(&body[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn damaged_stream_payloads_never_panic() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut small = Stream::new();
    for i in 1..40 {
        add(
            &mut small,
            id(i, i % 3),
            &[("f", "v"), ("n", &i.to_string())],
        );
    }
    small.groups.insert(
        b"g".to_vec(),
        group(id(10, 0), Some(4), &[(id(3, 0), pending("c", 9, 1))]),
    );
    let bodies = [
        hex(REDIS_S1),
        payload(&Spec::new(types::STREAM_LISTPACKS).body(), 11),
        payload(&Spec::new(types::STREAM_LISTPACKS_3).body(), 11),
        dump_payload(&Value::Stream(Box::new(small))),
    ];
    for good in &bodies {
        let body = &good[..good.len() - 10];
        for _ in 0..3000 {
            let mut b = body.to_vec();
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            let _ = load(&b);
        }
    }
}
