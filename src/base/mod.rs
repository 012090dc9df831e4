//! The bottom layer: what every other layer uses and that knows nothing of shards at
//! work: configuration, the RESP codec, Prometheus's text format, logging. (The
//! counting allocator is the engine's, `shards::alloc`: eviction measures with it.)

pub mod config;
pub mod config_file;
pub mod exposition;
pub mod ids;
pub mod log;
pub mod output_limits;
pub mod redis_directives;
pub mod resp;
