//! corecache's per-shard engine: hash slots, the keyspace and its values, expiry, the
//! command table and its handlers. Synchronous and socket-free: the server feeds it
//! parsed commands and encodes its typed replies.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod alloc;
pub mod aof;
pub mod args;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod dict;
pub mod digest;
pub mod error;
pub mod evict;
pub mod glob;
pub mod keyspace;
pub mod longdouble;
pub mod lzf;
pub mod notify;
pub mod ops;
pub mod propagate;
pub mod rdb;
pub mod reply;
pub mod slot;
pub mod smallbytes;
pub mod snapshot;
pub mod types;
pub mod value;
pub mod varint;
pub mod words;

// The tests measure memory as the server does (eviction's tests need real bytes).
#[cfg(test)]
#[global_allocator]
static GLOBAL: alloc::CountingAlloc = alloc::CountingAlloc;

pub use bytes::Bytes;
pub use clock::{Clock, Millis};
pub use cmd::{lookup, CommandSpec, Ctx, Route};
pub use error::{CmdError, CmdResult};
pub use keyspace::{Entry, Keyspace, Stored};
pub use reply::Reply;
pub use slot::{key_slot, ShardId, Slot, SlotMap};
