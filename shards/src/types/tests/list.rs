//! Unit tests of the list type (`types::list`).

use super::*;

fn items(l: &List) -> Vec<String> {
    l.iter()
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

fn quick(fill: i64, vals: &[&str]) -> List {
    let mut l = List::new();
    l.try_grow(fill, usize::MAX / 2, 1);
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
    assert_eq!(l.get(0), Some(&b"a"[..]));
    assert_eq!(l.get(1), Some(&big[..]));
    assert_eq!(l.get(-2), Some(&huge[..]));
    assert_eq!(l.get(-1), Some(&b""[..]));
    assert_eq!(l.get(4), None);
    assert_eq!(l.get(-5), None);
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
    let got: Vec<&[u8]> = l.range(7, 20).collect();
    let want: Vec<&[u8]> = vals[7..27].iter().map(|s| s.as_bytes()).collect();
    assert_eq!(got, want);
    let got: Vec<&[u8]> = l.range(7, 20).rev().collect();
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
    let small = List::build(-2, ["a", "b"]);
    assert!(!small.is_quicklist());
    small.check();
    let big = List::build(4, ["a", "b", "c", "d", "e"]);
    assert!(big.is_quicklist());
    big.check();
    assert_eq!(big, List::build(100, ["a", "b", "c", "d", "e"]));
}
