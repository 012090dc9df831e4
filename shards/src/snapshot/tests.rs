use super::*;
use crate::clock::Clock;
use crate::rdb::file::read_file;
use crate::value::{Str, Value};

fn s(v: &str) -> Value {
    Value::Str(Str::from_bytes(v.as_bytes()))
}

/// What a completed snapshot holds, as (db, key, value) sorted.
fn contents(snap: &Snapshot) -> Vec<(usize, String, String)> {
    let mut file = crate::rdb::file::MAGIC.to_vec();
    for (db, (bytes, w)) in snap.parts.iter().enumerate() {
        if w.keys > 0 {
            crate::rdb::file::write_db_start(&mut file, db, w.keys, w.expires);
            file.extend_from_slice(bytes);
        }
    }
    crate::rdb::file::write_footer(&mut file, 0, false);
    let mut out = Vec::new();
    read_file(&file, &Default::default(), 0, |l| {
        let Value::Str(v) = l.entry.value else {
            panic!("strings only here")
        };
        out.push((
            l.db,
            String::from_utf8(l.key).unwrap(),
            String::from_utf8(v.to_vec()).unwrap(),
        ));
    })
    .expect("a readable snapshot");
    out.sort();
    out
}

#[test]
fn a_snapshot_is_the_keyspace_at_its_start_whatever_changes_meanwhile() {
    let (clock, _) = Clock::manual(1_000);
    let mut ks = Keyspace::new(2, clock);
    for i in 0..5_000 {
        ks.set(i % 2, format!("k{i}").as_bytes(), s(&format!("v{i}")), 0);
    }
    let mut want: Vec<(usize, String, String)> = (0..5_000)
        .map(|i| (i % 2, format!("k{i}"), format!("v{i}")))
        .collect();
    want.sort();
    for round in 0..3 {
        ks.snapshot_begin();
        let mut i = 0u64;
        // Change, delete and add keys between the walker's steps, and grow the tables
        // (resizes move nodes while the cursor walks).
        while !ks.snapshot_step(97) {
            let n = (i * 7919) % 5_000;
            let db = (n % 2) as usize;
            let key = format!("k{n}");
            match i % 4 {
                0 => ks.set(db, key.as_bytes(), s("changed"), 0),
                1 => {
                    ks.remove(db, key.as_bytes());
                }
                2 => ks.set(db, format!("new{round}-{i}").as_bytes(), s("new"), 0),
                _ => {
                    ks.write_lookup(db, key.as_bytes(), true);
                }
            }
            i += 1;
        }
        let snap = ks.snapshot_take().expect("done");
        assert_eq!(contents(&snap), want, "round {round}");
        // The next snapshot must see the keyspace as it is now.
        want = Vec::new();
        for db in 0..2 {
            ks.for_each_key(db, |k, e| {
                let Value::Str(v) = e.value() else { panic!() };
                want.push((
                    db,
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                ));
            });
        }
        want.sort();
    }
}

#[test]
fn flushing_or_swapping_mid_snapshot_keeps_the_snapshot_whole() {
    let (clock, _) = Clock::manual(1_000);
    let mut ks = Keyspace::new(2, clock);
    for i in 0..1_000 {
        ks.set(0, format!("k{i}").as_bytes(), s("v"), 0);
    }
    ks.snapshot_begin();
    ks.snapshot_step(10);
    drop(ks.flush_db(0));
    ks.set(0, b"after", s("v"), 0);
    let snap = ks.snapshot_take().expect("finished by the flush");
    assert_eq!(contents(&snap).len(), 1_000);
    // Keys added after the flush are in the next snapshot.
    ks.snapshot_begin();
    ks.snapshot_finish_now();
    let snap = ks.snapshot_take().unwrap();
    assert_eq!(contents(&snap), vec![(0, "after".into(), "v".into())]);
}
