//! The bottom layer: what every other layer uses and that knows nothing of shards at
//! work: configuration, the RESP codec, logging. (The counting allocator is the
//! engine's, `shards::alloc`: eviction measures with it.)

pub mod config;
pub mod config_file;
pub mod ids;
pub mod log;
pub mod output_limits;
pub mod redis_directives;
pub mod resp;
