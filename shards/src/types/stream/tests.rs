use super::*;

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId::new(ms, seq)
}

fn filled(n: u64, limits: NodeLimits) -> Stream {
    let mut s = Stream::new();
    for i in 1..=n {
        let v = i.to_string();
        s.append(id(i, 0), &[(b"f", v.as_bytes())], limits);
    }
    s
}

fn ids(s: &Stream, rev: bool) -> Vec<u64> {
    let mut out = Vec::new();
    s.range(StreamId::MIN, StreamId::MAX, rev, |id, _| {
        out.push(id.ms);
        true
    });
    out
}

#[test]
fn ids_parse_and_step() {
    assert_eq!(StreamId::parse(b"5-3", 0), Some(id(5, 3)));
    assert_eq!(StreamId::parse(b"5", 9), Some(id(5, 9)));
    assert_eq!(StreamId::parse(b"5-", 0), None);
    assert_eq!(StreamId::parse(b"-1", 0), None);
    assert_eq!(StreamId::parse(b"18446744073709551616", 0), None);
    assert_eq!(id(1, u64::MAX).next(), Some(id(2, 0)));
    assert_eq!(StreamId::MAX.next(), None);
    assert_eq!(id(2, 0).prev(), Some(id(1, u64::MAX)));
    assert_eq!(StreamId::MIN.prev(), None);
}

#[test]
fn next_id_follows_redis_rules() {
    let mut s = Stream::new();
    assert_eq!(s.next_id(None, true, 100), Some(id(100, 0)));
    s.append(id(100, 0), &[(b"a", b"1")], NodeLimits::default());
    // The clock went back: the sequence moves on.
    assert_eq!(s.next_id(None, true, 50), Some(id(100, 1)));
    assert_eq!(s.next_id(Some(id(100, 0)), false, 0), Some(id(100, 1)));
    assert_eq!(s.next_id(Some(id(200, 0)), false, 0), Some(id(200, 0)));
    assert_eq!(s.next_id(Some(id(100, 0)), true, 0), None);
    assert_eq!(s.next_id(Some(id(99, 7)), false, 0), None);
}

#[test]
fn ranges_both_ways_across_nodes() {
    let limits = NodeLimits {
        max_bytes: 0,
        max_entries: 3,
    };
    let s = filled(10, limits);
    assert_eq!(s.node_count(), 4);
    assert_eq!(ids(&s, false), (1..=10).collect::<Vec<_>>());
    assert_eq!(ids(&s, true), (1..=10).rev().collect::<Vec<_>>());
    let mut part = Vec::new();
    s.range(id(4, 0), id(8, 0), true, |id, f| {
        part.push((id.ms, f.map(|(_, v)| v.to_vec()).collect::<Vec<_>>()));
        part.len() < 3
    });
    assert_eq!(
        part,
        vec![
            (8, vec![b"8".to_vec()]),
            (7, vec![b"7".to_vec()]),
            (6, vec![b"6".to_vec()])
        ]
    );
}

#[test]
fn deletes_mark_and_empty_nodes_go() {
    let limits = NodeLimits {
        max_bytes: 0,
        max_entries: 2,
    };
    let mut s = filled(4, limits);
    assert!(s.delete(id(1, 0)));
    assert!(!s.delete(id(1, 0)));
    assert_eq!(s.first_id, id(2, 0));
    assert_eq!(s.node_count(), 2);
    assert!(s.delete(id(2, 0)));
    assert_eq!(s.node_count(), 1);
    assert_eq!(s.len(), 2);
    assert_eq!(s.max_deleted_id, id(2, 0));
    assert_eq!(ids(&s, false), vec![3, 4]);
    assert_eq!(s.entries_added, 4);
}

#[test]
fn trims_like_redis() {
    let limits = NodeLimits {
        max_bytes: 0,
        max_entries: 10,
    };
    // Approximate: whole nodes only.
    let mut s = filled(35, limits);
    assert_eq!(s.trim(Trim::MaxLen(12), true, 0), 20);
    assert_eq!(s.len(), 15);
    // Exact: marks inside the first node.
    assert_eq!(s.trim(Trim::MaxLen(12), false, 0), 3);
    assert_eq!(ids(&s, false), (24..=35).collect::<Vec<_>>());
    assert_eq!(s.first_id, id(24, 0));
    // LIMIT stops before a node that would pass it.
    let mut s = filled(35, limits);
    assert_eq!(s.trim(Trim::MaxLen(0), true, 15), 10);
    let mut s = filled(35, limits);
    assert_eq!(s.trim(Trim::MinId(id(15, 0)), false, 0), 14);
    assert_eq!(s.first_id, id(15, 0));
}

#[test]
fn entries_read_estimates() {
    let mut s = filled(5, NodeLimits::default());
    assert_eq!(s.entries_read_at(id(5, 0)), Some(5));
    assert_eq!(s.entries_read_at(id(1, 0)), Some(1));
    assert_eq!(s.entries_read_at(id(0, 5)), Some(0));
    assert_eq!(s.entries_read_at(id(3, 0)), None);
    assert_eq!(s.entries_read_at(id(9, 0)), None);
    s.delete(id(3, 0));
    assert!(s.range_has_tombstones(id(2, 0), StreamId::MAX));
    assert!(!s.range_has_tombstones(id(4, 0), StreamId::MAX));
}

/// Redis 7.0 computes a group's lag as a plain difference: a group whose entries-read
/// was set past the stream's entries-added (XGROUP CREATE ... ENTRIESREAD 10) lags by a
/// negative number; it is not clamped to 0.
#[test]
fn lag_may_be_negative() {
    let s = filled(7, NodeLimits::default());
    assert_eq!(s.lag(&Group::new(id(3, 0), Some(10))), Some(-3));
    assert_eq!(s.lag(&Group::new(id(3, 0), Some(2))), Some(5));
    assert_eq!(s.lag(&Group::new(id(7, 0), None)), Some(0));
    assert_eq!(Stream::new().lag(&Group::new(id(3, 0), Some(10))), Some(0));
}

/// An entry's owned field/value pairs.
type OwnedPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Random appends, deletions and trims against a plain ordered map: the live entries,
/// the length, the first ID and the node bookkeeping always agree.
#[test]
fn random_operations_match_a_simple_model() {
    use crate::types::hash::Rng;
    use std::collections::BTreeMap;
    for seed in 0..20 {
        let mut rng = Rng::new(seed);
        let limits = NodeLimits {
            max_bytes: 200,
            max_entries: 1 + rng.below(8),
        };
        let mut s = Stream::new();
        let mut model: BTreeMap<StreamId, OwnedPairs> = BTreeMap::new();
        let mut next_ms = 1;
        for step in 0..2_000 {
            match rng.below(10) {
                0..=5 => {
                    next_ms += rng.below(3) as u64;
                    let id = s.next_id(Some(id(next_ms, 0)), false, 0).unwrap();
                    let v = format!("v{step}").repeat(1 + rng.below(4)).into_bytes();
                    // Mostly the node's first field names, sometimes others.
                    let pairs: Vec<(&[u8], &[u8])> = match rng.below(4) {
                        0 => vec![(b"g", &v), (b"h", b"1")],
                        1 => vec![(b"f", b""), (b"x", &v)],
                        _ => vec![(b"f", &v)],
                    };
                    s.append(id, &pairs, limits);
                    model.insert(
                        id,
                        pairs
                            .iter()
                            .map(|(f, v)| (f.to_vec(), v.to_vec()))
                            .collect(),
                    );
                }
                6..=7 => {
                    if let Some(&victim) = model.keys().nth(rng.below(model.len().max(1))) {
                        assert!(s.delete(victim));
                        model.remove(&victim);
                    }
                }
                8 => {
                    let keep = rng.below(model.len() + 3) as u64;
                    let approx = rng.below(2) == 0;
                    let removed = s.trim(Trim::MaxLen(keep), approx, 0);
                    let gone: Vec<_> = model.keys().take(removed as usize).copied().collect();
                    for g in gone {
                        model.remove(&g);
                    }
                    if !approx {
                        assert!(s.len() <= keep);
                    }
                }
                _ => {
                    let min = id(rng.below(next_ms as usize + 2) as u64, 0);
                    let removed = s.trim(Trim::MinId(min), false, 0);
                    let before = model.len();
                    model.retain(|k, _| *k >= min);
                    assert_eq!(removed as usize, before - model.len());
                }
            }
            assert_eq!(s.len() as usize, model.len(), "seed {seed} step {step}");
            assert_eq!(
                s.first_id,
                model.keys().next().copied().unwrap_or(StreamId::MIN)
            );
        }
        let got: Vec<(StreamId, OwnedPairs)> = s
            .entries()
            .into_iter()
            .map(|(id, pairs)| {
                let pairs = pairs
                    .iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect();
                (id, pairs)
            })
            .collect();
        let want: Vec<_> = model.into_iter().collect();
        assert_eq!(got, want, "seed {seed}");
    }
}
