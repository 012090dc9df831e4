use super::*;
use std::collections::{HashMap, HashSet};

fn key(i: u32) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

/// A seeded source of random numbers for `Dict::random`.
fn lcg(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        x >> 11
    }
}

#[test]
fn insert_get_remove_behave_like_a_map() {
    let mut d = Dict::new();
    let mut model = HashMap::new();
    let mut x: u64 = 7;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = key((x % 3000) as u32);
        match x % 5 {
            0 | 1 => assert_eq!(d.insert(&k, x), model.insert(k.clone(), x)),
            2 => assert_eq!(d.remove(&k).map(|r| r.value), model.remove(&k)),
            _ => assert_eq!(d.get(&k), model.get(&k)),
        }
        assert_eq!(d.len(), model.len());
    }
    let all: HashMap<Vec<u8>, u64> = d.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
    assert_eq!(all, model);
}

#[test]
fn scan_visits_every_stable_element_across_resizes() {
    let mut d = Dict::new();
    for i in 0..1000 {
        d.insert(&key(i), i);
    }
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut round = 0;
    loop {
        cursor = d.scan(cursor, 10, |k, _| {
            seen.insert(k.to_vec());
        });
        round += 1;
        // Grow and shrink the table while the scan runs, with temporary keys only.
        if round == 5 {
            for i in 1000..5000 {
                d.insert(&key(i), i);
            }
        }
        if round == 30 {
            for i in 1000..5000 {
                d.remove(&key(i));
            }
        }
        if cursor == 0 {
            break;
        }
    }
    for i in 0..1000 {
        assert!(seen.contains(&key(i)), "missed {i}");
    }
}

#[test]
fn get_mut_unless_unlinks_stale_values() {
    let mut d = Dict::new();
    for i in 0..50 {
        d.insert(&key(i), i);
    }
    assert!(matches!(
        d.get_mut_unless(&key(3), |n| *n.value() == 3),
        Err(Some(Removed { value: 3, .. }))
    ));
    assert!(matches!(d.get_mut_unless(&key(3), |_| false), Err(None)));
    *d.get_mut_unless(&key(4), |_| false).unwrap().value_mut() = 40;
    assert_eq!(d.get(&key(4)), Some(&40));
    assert_eq!(d.len(), 49);
}

#[test]
fn random_returns_members_and_shrinks_after_deletes() {
    let mut d = Dict::new();
    for i in 0..4096 {
        d.insert(&key(i), i);
    }
    for i in 0..4090 {
        d.remove(&key(i));
    }
    // Shrinking is incremental too: let it finish.
    while d.step(64) {}
    assert!(
        d.bucket_count() <= 64,
        "{} buckets for {} keys",
        d.bucket_count(),
        d.len()
    );
    let mut rand = lcg(1);
    for _ in 0..100 {
        let (_, v) = d.random(&mut rand).unwrap();
        assert!(*v >= 4090);
    }
    d.retain(|_, v| *v % 2 == 0);
    assert_eq!(d.len(), 3);
}

#[test]
fn resizes_move_a_bucket_per_operation_and_lose_nothing() {
    let mut d = Dict::new();
    let mut resizing_seen = 0;
    for i in 0..100_000u32 {
        d.insert(&key(i), i);
        if d.is_resizing() {
            resizing_seen += 1;
            // Everything is findable, wherever it lives right now.
            let probe = i / 2;
            assert_eq!(d.get(&key(probe)), Some(&probe));
        }
    }
    assert!(
        resizing_seen > 30_000,
        "resizes spread over {resizing_seen} inserts"
    );
    assert_eq!(d.iter().count(), 100_000);
    // Mid-resize: iteration, random sampling and SCAN see every element.
    let mut d = Dict::new();
    for i in 0..1025u32 {
        d.insert(&key(i), i);
    }
    assert!(d.is_resizing());
    assert_eq!(d.iter().count(), 1025);
    let mut rand = lcg(9);
    for _ in 0..100 {
        let (k, v) = d.random(&mut rand).unwrap();
        assert_eq!(k, &key(*v)[..]);
    }
    // The resize moves on between the scan's calls.
    assert_eq!(scan_while_resizing(&mut d, 10, 3).len(), 1025);
}

#[test]
fn scan_survives_a_shrink_in_progress() {
    let mut d = Dict::new();
    for i in 0..4096u32 {
        d.insert(&key(i), i);
    }
    while d.step(64) {}
    // Delete most keys: a shrink starts; the survivors must all be scanned.
    for i in 100..4096u32 {
        d.remove(&key(i));
    }
    assert!(d.is_resizing());
    assert_eq!(scan_while_resizing(&mut d, 5, 1).len(), 100);
}

/// A whole SCAN, `count` per call, moving `step` buckets of a resize in progress
/// between calls; the distinct keys it returned.
fn scan_while_resizing(d: &mut Dict<u32>, count: usize, step: usize) -> HashSet<Vec<u8>> {
    let mut seen = HashSet::new();
    let mut cursor = 0;
    loop {
        cursor = d.scan(cursor, count, |k, _| {
            seen.insert(k.to_vec());
        });
        d.step(step);
        if cursor == 0 {
            return seen;
        }
    }
}

#[test]
fn meta_words_and_extensions_survive_resizes_and_replacement() {
    let mut d: Dict<u32, u32> = Dict::default();
    for i in 0..5000u32 {
        let ext = (i % 3 == 0).then_some(u64::from(i) << 20);
        assert!(d.insert_full(&key(i), i, i + 1, ext).is_none());
    }
    while d.step(64) {}
    for i in 0..5000u32 {
        let n = d.node(&key(i)).unwrap();
        assert_eq!((*n.value(), n.meta()), (i, i + 1));
        assert_eq!(n.ext(), (i % 3 == 0).then_some(u64::from(i) << 20));
    }
    // Replacing hands back what the element held and takes the new extension.
    let old = d.insert_full(&key(3), 30, 7, None).unwrap();
    assert_eq!((old.value, old.meta, old.ext), (3, 4, Some(3 << 20)));
    d.node_mut(&key(4)).unwrap().set_ext(Some(99));
    assert_eq!(d.remove(&key(4)).unwrap().ext, Some(99));
    let with_ext = d.nodes().filter(|n| n.has_ext()).count();
    assert_eq!(with_ext, (0..5000).filter(|i| i % 3 == 0).count() - 1);
    // A plain insert of an existing key keeps its meta word and extension.
    d.insert(&key(6), 60);
    let n = d.node(&key(6)).unwrap();
    assert_eq!((*n.value(), n.meta(), n.ext()), (60, 7, Some(6 << 20)));
}
