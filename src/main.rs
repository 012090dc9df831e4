//! corecache: a Redis-compatible, thread-per-core in-memory cache on io_uring.

mod admin;
mod alloc;
mod blocking;
mod clients;
mod config;
mod conn;
mod cross;
mod log;
mod resp;
mod router;
mod server;
mod shard;

use clap::Parser;

#[global_allocator]
static GLOBAL: alloc::CountingAlloc = alloc::CountingAlloc;

fn main() {
    let config = config::Config::parse();
    if let Err(msg) = server::run(config) {
        eprintln!("{msg}");
        std::process::exit(1);
    }
}
