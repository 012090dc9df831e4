//! Unit tests: a test host over a real keyspace, and one module per area.

mod common;
mod conversions;
mod diff;
mod errors;
mod functions;
mod libs;
mod runs;
mod sandbox;
