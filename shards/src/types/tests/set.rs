//! Unit tests of the set type (`types::set`).

use super::*;
use std::collections::BTreeSet;

const DEFAULT: SetLimits = SetLimits {
    intset_entries: 512,
    listpack_entries: 128,
    listpack_value: 64,
};

fn set_of(members: &[&str], lim: SetLimits) -> Set {
    let mut s = Set::for_members(members[0].as_bytes(), members.len(), lim);
    for m in members {
        s.add(m.as_bytes(), lim);
    }
    s
}

fn sorted(s: &Set) -> Vec<Vec<u8>> {
    let mut v = s.to_vecs();
    v.sort();
    v
}

#[test]
fn intset_stays_sorted_and_holds_only_canonical_integers() {
    let mut s = set_of(&["5", "-3", "12", "5"], DEFAULT);
    assert_eq!(s.repr_name(), "intset");
    assert_eq!(
        s.to_vecs(),
        vec![b"-3".to_vec(), b"5".to_vec(), b"12".to_vec()]
    );
    assert!(s.contains(b"12"));
    assert!(!s.contains(b"012"));
    assert!(!s.remove(b"+5"));
    assert!(s.remove(b"5"));
    s.add(b"05", DEFAULT);
    assert_eq!(s.repr_name(), "listpack");
    assert_eq!(s.encoding(&EngineConfig::default()), "listpack");
    assert!(s.contains(b"05") && s.contains(b"-3") && !s.contains(b"5"));
}

#[test]
fn intset_goes_to_hashtable_past_its_limit() {
    let lim = SetLimits {
        intset_entries: 4,
        ..DEFAULT
    };
    let mut s = set_of(&["1", "2", "3", "4"], lim);
    assert_eq!(s.repr_name(), "intset");
    s.add(b"5", lim);
    assert_eq!(s.repr_name(), "hashtable");
    assert_eq!(s.len(), 5);
}

#[test]
fn intset_with_a_string_goes_to_listpack_only_when_it_fits() {
    let lim = SetLimits {
        listpack_entries: 3,
        listpack_value: 4,
        ..DEFAULT
    };
    let mut s = set_of(&["1", "2"], lim);
    s.add(b"abcd", lim);
    assert_eq!(s.repr_name(), "listpack");
    let mut s = set_of(&["1", "2", "3"], lim);
    s.add(b"a", lim);
    assert_eq!(s.repr_name(), "hashtable");
    let mut s = set_of(&["1", "2"], lim);
    s.add(b"abcde", lim);
    assert_eq!(s.repr_name(), "hashtable");
    // An integer member wider than the value limit keeps it out of a listpack too.
    let mut s = set_of(&["1", "123456"], lim);
    s.add(b"a", lim);
    assert_eq!(s.repr_name(), "hashtable");
}

#[test]
fn listpack_goes_to_hashtable_past_its_limits_and_never_back() {
    let lim = SetLimits {
        listpack_entries: 3,
        listpack_value: 4,
        ..DEFAULT
    };
    let mut s = set_of(&["a", "b", "c"], lim);
    assert_eq!(s.repr_name(), "listpack");
    assert!(!s.add(b"a", lim));
    assert_eq!(s.repr_name(), "listpack");
    s.add(b"d", lim);
    assert_eq!(s.repr_name(), "hashtable");
    for m in ["a", "b", "c"] {
        s.remove(m.as_bytes());
    }
    assert_eq!(s.repr_name(), "hashtable");
    let mut s = set_of(&["a"], lim);
    s.add(b"long!", lim);
    assert_eq!(s.repr_name(), "hashtable");
}

#[test]
fn initial_encoding_follows_the_first_member_and_size_hint() {
    assert_eq!(Set::for_members(b"1", 3, DEFAULT).repr_name(), "intset");
    assert_eq!(
        Set::for_members(b"1", 600, DEFAULT).repr_name(),
        "hashtable"
    );
    assert_eq!(Set::for_members(b"a", 3, DEFAULT).repr_name(), "listpack");
    assert_eq!(
        Set::for_members(b"a", 129, DEFAULT).repr_name(),
        "hashtable"
    );
}

#[test]
fn set_behaves_like_a_btreeset_in_every_encoding() {
    let mut rng = Rng::new(11);
    let limits = [
        DEFAULT,
        SetLimits {
            intset_entries: 8,
            listpack_entries: 8,
            listpack_value: 3,
        },
        SetLimits {
            intset_entries: 0,
            listpack_entries: 0,
            listpack_value: 0,
        },
    ];
    for lim in limits {
        let mut s = Set::default();
        let mut model = BTreeSet::new();
        for step in 0..4000 {
            let m = if rng.below(2) == 0 {
                rng.below(60).to_string()
            } else {
                format!("m{}", rng.below(30))
            }
            .into_bytes();
            match rng.below(4) {
                0 | 1 => assert_eq!(s.add(&m, lim), model.insert(m.clone())),
                2 => assert_eq!(s.remove(&m), model.remove(&m)),
                _ => {
                    if let Some(p) = s.pop_random(&mut rng) {
                        assert!(model.remove(&p));
                    }
                }
            }
            assert_eq!(s.len(), model.len(), "step {step}");
            assert_eq!(s.contains(&m), model.contains(&m));
        }
        assert_eq!(sorted(&s), model.iter().cloned().collect::<Vec<_>>());
        assert_eq!(s.clone(), s);
    }
}

#[test]
fn pop_many_and_random_distinct_return_distinct_members() {
    let mut rng = Rng::new(5);
    for members in [
        (0..100).map(|i| i.to_string()).collect::<Vec<_>>(),
        (0..100).map(|i| format!("m{i}")).collect(),
        (0..1000).map(|i| format!("m{i}")).collect(),
    ] {
        let refs: Vec<&str> = members.iter().map(|s| s.as_str()).collect();
        for count in [1, 10, 40, 60, 99, 100, 150] {
            let mut s = set_of(&refs, DEFAULT);
            let n = s.len();
            let pick = s.random_distinct(count, &mut rng);
            let uniq: BTreeSet<_> = pick.iter().cloned().collect();
            assert_eq!(uniq.len(), pick.len());
            assert_eq!(pick.len(), count.min(n));
            assert!(pick.iter().all(|m| s.contains(m)));

            let popped = s.pop_many(count, &mut rng);
            let uniq: BTreeSet<_> = popped.iter().cloned().collect();
            assert_eq!(uniq.len(), count.min(n));
            assert_eq!(s.len(), n - count.min(n));
            assert!(popped.iter().all(|m| !s.contains(m)));
        }
    }
}

#[test]
fn random_with_repeats_returns_members() {
    let mut rng = Rng::new(9);
    let s = set_of(&["a", "b", "c"], DEFAULT);
    let got = s.random_with_repeats(50, &mut rng);
    assert_eq!(got.len(), 50);
    assert!(got.iter().all(|m| s.contains(m)));
    // Every member comes up in 50 draws from 3.
    let uniq: BTreeSet<_> = got.into_iter().collect();
    assert_eq!(uniq.len(), 3);
}

#[test]
fn equality_ignores_encoding() {
    let a = set_of(&["1", "2", "3"], DEFAULT);
    let mut b = Set::Table(Box::default());
    for m in ["3", "1", "2"] {
        b.add(m.as_bytes(), DEFAULT);
    }
    assert_eq!(a, b);
    b.add(b"x", DEFAULT);
    assert_ne!(a, b);
}

#[test]
fn integers_format_like_redis() {
    let mut buf = [0u8; 20];
    for v in [0i64, 7, -7, i64::MIN, i64::MAX, 1234567890] {
        assert_eq!(fmt_i64(v, &mut buf), v.to_string().as_bytes());
    }
}

#[test]
fn values_stay_small() {
    // Sets do not make every `Value` larger: a `Value` stays three words, so a key's
    // node in the table (link, value, access word, key length, a 10-byte key) is 48
    // bytes, one of the allocator's classes.
    const {
        assert!(std::mem::size_of::<Set>() <= 32);
        assert!(std::mem::size_of::<crate::value::Value>() <= 24);
    }
    assert_eq!(
        crate::dict::Dict::<crate::value::Value, u32>::node_bytes(10, false),
        48
    );
}
