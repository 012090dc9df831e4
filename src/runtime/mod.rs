//! The shard runtime: one shard's state, its mailbox to the other shards, the gate of
//! holds and key locks, blocked clients, watched keys and connected clients.

pub mod blocking;
pub mod clients;
pub mod shard;
pub mod watch;
