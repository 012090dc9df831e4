//! Identities: those that travel between shards (transactions, watchers and waiters),
//! each unique across the process without coordination: it carries its home shard, or
//! (for watchers) a client id, which is unique across shards already; and the random
//! 40-hex ids of nodes and of the process (run id, replication id).

use std::fmt::Write as _;

pub use shards::ShardId;

/// A transaction (a coordinator's holds, key locks and steps), unique across shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxnId {
    pub home: ShardId,
    pub id: u64,
}

/// A client watching keys (WATCH); client ids are unique across shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WatcherId(pub u64);

/// A client waiting in a blocking command, registered on the shards of its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WaiterId {
    pub home: ShardId,
    pub id: u64,
}

/// 40 random hex digits.
pub fn random_id() -> String {
    let mut bytes = [0u8; 8];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_ok();
    let mut seed = u64::from_le_bytes(bytes);
    if !ok {
        seed = shards::clock::system_ms() ^ ((std::process::id() as u64) << 32);
    }
    hex_words(&mut seed)
}

/// Five 32-bit words of a splitmix64 sequence from `state`, as 40 hex digits.
pub fn hex_words(state: &mut u64) -> String {
    let mut out = String::with_capacity(40);
    for _ in 0..5 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let _ = write!(out, "{:08x}", z as u32);
    }
    out
}

/// A random 40-hex id for this process, fixed for its life: 0 is `run_id`, 1 the
/// replication id (`master_replid`).
pub fn process_id(which: usize) -> &'static str {
    static IDS: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    &IDS.get_or_init(|| [random_id(), random_id()])[which]
}
