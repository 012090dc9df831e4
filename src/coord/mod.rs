//! Coordination across shards: split, merge and spread commands over shards, atomic
//! multi-shard steps, and the multi-key commands that need entry-level steps.

pub mod atomic;
pub mod cross;
pub mod spread;
