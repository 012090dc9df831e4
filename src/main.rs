//! corecache: a Redis-compatible, thread-per-core in-memory cache on io_uring.

use clap::Parser;
use corecache::base::config;
use corecache::server;
use shards::alloc;

#[global_allocator]
static GLOBAL: alloc::CountingAlloc = alloc::CountingAlloc;

fn main() {
    let config = config::Config::parse();
    server::install_panic_hook();
    if let Err(msg) = server::run(config) {
        eprintln!("{msg}");
        std::process::exit(1);
    }
}
