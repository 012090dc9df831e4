//! Collection values: lists, hashes, sets and sorted sets, each with a compact encoding
//! for small sizes and a scalable one above Redis's configurable thresholds; streams.

pub mod hash;
pub mod intset;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;
