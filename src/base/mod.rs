//! The bottom layer: what every other layer uses and that knows nothing of shards at
//! work: configuration, the RESP codec, the counting allocator, logging.

pub mod alloc;
pub mod config;
pub mod ids;
pub mod log;
pub mod resp;
