//! Unit tests of the list type (`types::list`).

use std::borrow::Cow;

use super::*;

fn items(l: &List) -> Vec<String> {
    l.iter()
        .map(|e| String::from_utf8_lossy(&e).into_owned())
        .collect()
}

fn quick(fill: i64, vals: &[&str]) -> List {
    quick_shaped(Shape::fill(fill), vals)
}

fn quick_shaped(shape: Shape, vals: &[&str]) -> List {
    let mut l = List::new();
    l.try_grow(shape, usize::MAX / 2, 1);
    assert!(l.is_quicklist());
    for v in vals {
        l.push(End::Tail, v.as_bytes());
    }
    l.check();
    l
}

#[test]
fn handle_stays_small() {
    assert!(std::mem::size_of::<List>() <= 24);
}

#[test]
fn listpack_sizes_match_redis_entry_encodings() {
    assert_eq!(lp_entry_size(b"0"), 2);
    assert_eq!(lp_entry_size(b"127"), 2);
    assert_eq!(lp_entry_size(b"128"), 3);
    assert_eq!(lp_entry_size(b"-4096"), 3);
    assert_eq!(lp_entry_size(b"4096"), 4);
    assert_eq!(lp_entry_size(b"100000"), 5);
    assert_eq!(lp_entry_size(b"10000000"), 6);
    assert_eq!(lp_entry_size(b"10000000000"), 10);
    assert_eq!(lp_entry_size(b"007"), 5);
    assert_eq!(lp_entry_size(b""), 2);
    assert_eq!(lp_entry_size(&[b'a'; 63]), 65);
    assert_eq!(lp_entry_size(&[b'a'; 64]), 66 + 1);
    assert_eq!(lp_entry_size(&[b'a'; 200]), 202 + 2);
    assert_eq!(lp_entry_size(&[b'a'; 5000]), 5005 + 2);
}

#[test]
fn long_entries_walk_both_ways() {
    let mut l = List::new();
    let big = vec![b'x'; 300];
    let huge = vec![b'y'; 20000];
    l.push(End::Tail, &big);
    l.push(End::Head, b"a");
    l.push(End::Tail, &huge);
    l.push(End::Tail, b"");
    l.check();
    assert_eq!(l.get(0).as_deref(), Some(&b"a"[..]));
    assert_eq!(l.get(1).as_deref(), Some(&big[..]));
    assert_eq!(l.get(-2).as_deref(), Some(&huge[..]));
    assert_eq!(l.get(-1).as_deref(), Some(&b""[..]));
    assert_eq!(l.get(4).as_deref(), None);
    assert_eq!(l.get(-5).as_deref(), None);
    assert_eq!(l.pop(End::Tail), Some(vec![]));
    assert_eq!(l.pop(End::Tail), Some(huge));
    l.check();
}

#[test]
fn positive_fill_bounds_entries_per_node() {
    let mut l = quick(3, &[]);
    for i in 0..10 {
        l.push(End::Tail, i.to_string().as_bytes());
    }
    assert_eq!(l.nodes(), 4);
    l.check();
    assert_eq!(
        items(&l),
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
}

#[test]
fn insert_into_full_node_splits_and_merges() {
    let mut l = quick(4, &["a", "b", "c", "d", "e", "f", "g", "h"]);
    assert_eq!(l.nodes(), 2);
    assert!(l.insert(b"b", b"X", true));
    l.check();
    assert_eq!(items(&l), ["a", "b", "X", "c", "d", "e", "f", "g", "h"]);
    assert_eq!(l.nodes(), 3);
    // Before the head of a full node whose previous node has room.
    assert!(l.insert(b"e", b"Y", false));
    l.check();
    assert_eq!(
        items(&l),
        ["a", "b", "X", "c", "d", "Y", "e", "f", "g", "h"]
    );
    assert_eq!(l.nodes(), 3);
    // After the tail of the last full node: a new node.
    assert!(l.insert(b"h", b"Z", true));
    l.check();
    assert_eq!(items(&l).last().unwrap(), "Z");
    assert!(!l.insert(b"nope", b"Z", true));
}

#[test]
fn remove_matches_both_directions() {
    let mut l = quick(2, &["a", "x", "b", "x", "x", "c", "x"]);
    assert_eq!(l.remove(b"x", -2), 2);
    l.check();
    assert_eq!(items(&l), ["a", "x", "b", "x", "c"]);
    assert_eq!(l.remove(b"x", 1), 1);
    assert_eq!(items(&l), ["a", "b", "x", "c"]);
    assert_eq!(l.remove(b"x", 0), 1);
    assert_eq!(l.remove(b"x", 0), 0);
    l.check();
    assert_eq!(items(&l), ["a", "b", "c"]);
}

#[test]
fn ranges_iterate_both_ways() {
    let vals: Vec<String> = (0..50).map(|i| format!("v{i}")).collect();
    let l = quick(4, &vals.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    let got: Vec<Cow<[u8]>> = l.range(7, 20).collect();
    let want: Vec<&[u8]> = vals[7..27].iter().map(|s| s.as_bytes()).collect();
    assert_eq!(got, want);
    let got: Vec<Cow<[u8]>> = l.range(7, 20).rev().collect();
    let want: Vec<&[u8]> = vals[7..27].iter().rev().map(|s| s.as_bytes()).collect();
    assert_eq!(got, want);
    assert_eq!(l.range(60, 5).count(), 0);
    assert_eq!(l.range(45, 100).count(), 5);
}

#[test]
fn range_removal_drops_empty_nodes() {
    let vals: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    let mut l = quick(3, &vals.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    l.remove_range(2, 10);
    l.check();
    assert_eq!(
        items(&l),
        ["0", "1", "12", "13", "14", "15", "16", "17", "18", "19"]
    );
    l.trim(1, 2);
    l.check();
    assert_eq!(items(&l), ["1", "12", "13", "14", "15", "16", "17"]);
}

#[test]
fn built_lists_pick_their_encoding() {
    let small = List::build(Shape::fill(-2), ["a", "b"]);
    assert!(!small.is_quicklist());
    small.check();
    let big = List::build(Shape::fill(4), ["a", "b", "c", "d", "e"]);
    assert!(big.is_quicklist());
    big.check();
    assert_eq!(
        big,
        List::build(Shape::fill(100), ["a", "b", "c", "d", "e"])
    );
}

/// Elements that LZF compresses well, long enough for nodes past Redis's 48-byte floor.
fn compressible(i: usize) -> String {
    format!("element-{i:05}-{}", "abc".repeat(8))
}

#[test]
fn interior_nodes_compress_beyond_the_depth() {
    let vals: Vec<String> = (0..40).map(compressible).collect();
    let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
    for depth in [1, 2, 3] {
        let l = quick_shaped(Shape { fill: 4, depth }, &refs);
        assert_eq!(l.nodes(), 10);
        assert_eq!(l.compressed_nodes(), 10 - 2 * depth, "depth {depth}");
        assert_eq!(items(&l), vals);
        assert_eq!(l.get(17).as_deref(), Some(vals[17].as_bytes()));
        let back: Vec<String> = l
            .range(5, 30)
            .rev()
            .map(|e| String::from_utf8_lossy(&e).into_owned())
            .collect();
        let want: Vec<String> = vals[5..35].iter().rev().cloned().collect();
        assert_eq!(back, want);
    }
    // A depth covering every node compresses none; depth 0 none either.
    assert_eq!(
        quick_shaped(Shape { fill: 4, depth: 5 }, &refs).compressed_nodes(),
        0
    );
    assert_eq!(
        quick_shaped(Shape { fill: 4, depth: 0 }, &refs).compressed_nodes(),
        0
    );
}

#[test]
fn small_or_incompressible_nodes_stay_plain_bytes() {
    // Nodes under 48 listpack bytes are left alone, as in Redis.
    let l = quick_shaped(
        Shape { fill: 2, depth: 1 },
        &["a", "b", "c", "d", "e", "f", "g", "h"],
    );
    assert_eq!(l.compressed_nodes(), 0);
    // Bytes LZF cannot shrink by more than 8 bytes stay uncompressed.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<String> = (0..12)
        .map(|_| {
            (0..40)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'!' + (x % 90) as u8)
                })
                .collect()
        })
        .collect();
    let refs: Vec<&str> = noise.iter().map(String::as_str).collect();
    let l = quick_shaped(Shape { fill: 2, depth: 1 }, &refs);
    assert_eq!(l.compressed_nodes(), 0);
    assert_eq!(items(&l), noise);
}

/// Random operations on compressed lists against a VecDeque model; the structure is
/// checked after each (nodes within the depth never compressed).
#[test]
fn compressed_lists_match_a_model_under_random_operations() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    for (fill, depth) in [(4, 1), (3, 2), (-1, 1), (8, 3)] {
        let mut l = quick_shaped(Shape { fill, depth }, &[]);
        let mut model: std::collections::VecDeque<String> = Default::default();
        let mut most_compressed = 0;
        for step in 0..2000 {
            let v = compressible(rnd(600));
            match rnd(12) {
                0 | 1 | 9 | 10 => {
                    l.push(End::Tail, v.as_bytes());
                    model.push_back(v);
                }
                2 | 11 => {
                    l.push(End::Head, v.as_bytes());
                    model.push_front(v);
                }
                3 => {
                    let end = if rnd(2) == 0 { End::Head } else { End::Tail };
                    let want = match end {
                        End::Head => model.pop_front(),
                        End::Tail => model.pop_back(),
                    };
                    assert_eq!(l.pop(end), want.map(String::into_bytes));
                }
                4 if !model.is_empty() => {
                    let i = rnd(model.len());
                    assert!(l.set(i as i64, v.as_bytes()));
                    model[i] = v;
                }
                5 if !model.is_empty() => {
                    let pivot = model[rnd(model.len())].clone();
                    let after = rnd(2) == 0;
                    assert!(l.insert(pivot.as_bytes(), v.as_bytes(), after));
                    let at = model.iter().position(|e| *e == pivot).unwrap();
                    model.insert(if after { at + 1 } else { at }, v);
                }
                6 => {
                    let count = rnd(5) as i64 - 2;
                    let removed = l.remove(v.as_bytes(), count);
                    let mut want = 0;
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        count.unsigned_abs() as usize
                    };
                    if count >= 0 {
                        while want < limit {
                            let Some(at) = model.iter().position(|e| *e == v) else {
                                break;
                            };
                            model.remove(at);
                            want += 1;
                        }
                    } else {
                        while want < limit {
                            let Some(at) = model.iter().rposition(|e| *e == v) else {
                                break;
                            };
                            model.remove(at);
                            want += 1;
                        }
                    }
                    assert_eq!(removed, want);
                }
                7 if model.len() > 10 => {
                    let start = rnd(model.len());
                    let n = rnd(6);
                    l.remove_range(start, n);
                    let end = (start + n).min(model.len());
                    model.drain(start..end);
                }
                _ => {
                    let i = rnd(model.len() + 1) as i64;
                    assert_eq!(
                        l.get(i).map(|e| e.into_owned()),
                        model.get(i as usize).map(|s| s.clone().into_bytes())
                    );
                }
            }
            most_compressed = most_compressed.max(l.compressed_nodes());
            if step % 20 == 0 {
                l.check();
                assert_eq!(
                    items(&l),
                    Vec::from(model.clone()),
                    "fill {fill} depth {depth}"
                );
            }
        }
        assert_eq!(items(&l), Vec::from(model));
        assert!(
            most_compressed >= 5,
            "fill {fill}: {most_compressed} compressed nodes at most"
        );
    }
}
