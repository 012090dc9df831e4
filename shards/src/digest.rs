//! DEBUG DIGEST and DIGEST-VALUE: a 20-byte SHA-1 based digest of a value and of a
//! whole dataset, equal for equal data whatever its encoding or history (so two
//! servers, or one before and after a reload, compare by digest). Following the idea
//! of Redis's (not its exact bytes): ordered contents (strings, lists, sorted sets,
//! streams) are chained, unordered ones (set members, hash fields) are XORed, a key's
//! digest chains its database, name, value and whether it has a TTL, and a dataset's
//! is the XOR of its keys'.

use sha1_smol::Sha1;

use crate::keyspace::Stored;
use crate::value::{Str, Value};

pub type Digest = [u8; 20];

fn sha1(parts: &[&[u8]]) -> Digest {
    let mut h = Sha1::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.digest().bytes()
}

/// Chains `bytes` into `d` (order matters).
fn mix(d: &mut Digest, bytes: &[u8]) {
    *d = sha1(&[&d[..], bytes]);
}

/// XORs `bytes`' digest into `d` (order does not matter).
fn xor(d: &mut Digest, parts: &[&[u8]]) {
    for (a, b) in d.iter_mut().zip(sha1(parts)) {
        *a ^= b;
    }
}

/// The digest of a value's contents.
pub fn value_digest(value: &Value) -> Digest {
    let mut d = [0u8; 20];
    mix(&mut d, value.type_name().as_bytes());
    match value {
        Value::Str(s) => match s {
            Str::Int(i) => mix(&mut d, i.to_string().as_bytes()),
            Str::Emb(b) => mix(&mut d, b),
            Str::Raw(b) => mix(&mut d, b),
        },
        Value::List(l) => {
            for item in l.iter() {
                mix(&mut d, &item);
            }
        }
        Value::Set(s) => {
            for m in s.iter() {
                m.with_bytes(|b| xor(&mut d, &[b]));
            }
        }
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                xor(&mut d, &[f, v]);
            }
        }
        Value::ZSet(z) => {
            for (m, score) in z.iter() {
                mix(&mut d, m);
                mix(&mut d, crate::args::format_double(score).as_bytes());
            }
        }
        Value::Stream(_) => {
            // A stream's RDB form is a function of its contents (entries, groups).
            let mut out = Vec::new();
            crate::rdb::write_object(&mut out, value);
            mix(&mut d, &out);
        }
    }
    d
}

/// The digest of one key with its value, database and TTL's presence.
pub fn key_digest(db: usize, key: &[u8], entry: &Stored) -> Digest {
    let mut d = [0u8; 20];
    mix(&mut d, &(db as u64).to_le_bytes());
    mix(&mut d, key);
    mix(&mut d, &value_digest(entry.value()));
    if entry.expire_at() != 0 {
        mix(&mut d, b"!!expire!!");
    }
    d
}

/// XORs `other` into `d` (adding up shards' dataset digests).
pub fn combine(d: &mut Digest, other: &Digest) {
    for (a, b) in d.iter_mut().zip(other) {
        *a ^= b;
    }
}

pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}
