//! corecache: a Redis-compatible, thread-per-core in-memory cache on io_uring.
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`server::run`];
//! everything lives in this library so that benchmarks can reach the pieces. The layers
//! import downwards only: `base` -> `runtime` -> `coord` -> `commands` -> `net`, and
//! `server` (start-up) wires them together. ARCHITECTURE.md traces a few commands
//! through them.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod base;
pub mod commands;
pub mod coord;
pub mod net;
pub mod runtime;
pub mod server;
