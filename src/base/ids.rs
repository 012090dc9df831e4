//! Identities that travel between shards: transactions, watchers and waiters. Each is
//! unique across the process without coordination: it carries its home shard, or (for
//! watchers) a client id, which is unique across shards already.

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
