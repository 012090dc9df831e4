//! corecache: a Redis-compatible, thread-per-core in-memory cache on io_uring.
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`server::run`];
//! everything lives in this library so that benchmarks can reach the pieces.

pub mod admin;
pub mod alloc;
pub mod atomic;
pub mod blocking;
pub mod clients;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod cross;
pub mod log;
pub mod migrate;
pub mod resp;
pub mod router;
pub mod script;
pub mod server;
pub mod shard;
pub mod txn;
