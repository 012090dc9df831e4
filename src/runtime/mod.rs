//! The shard runtime: one shard's state, its mailbox to the other shards, the gate of
//! holds and key locks, blocked clients, watched keys, connected clients, and how its
//! tasks and timers run.

pub mod acl;
pub mod aof;
pub mod backlog;
pub mod blocking;
pub mod clients;
pub mod cmdstats;
pub mod driver;
pub mod exec;
pub mod gate;
pub mod handover;
pub mod instant;
pub mod invalidate;
pub mod latency;
pub mod mailbox;
pub mod memory;
pub mod misconf;
pub mod notify;
pub mod pause;
pub mod peer;
pub mod pubsub;
pub mod replicas;
pub mod shard;
pub mod sleep;
pub mod slowlog;
pub mod tls;
pub mod tracking;
pub mod upstream;
pub mod watch;
pub mod work;
