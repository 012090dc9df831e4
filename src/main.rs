//! corecache: a Redis-compatible, thread-per-core in-memory cache on io_uring.

#![deny(unsafe_op_in_unsafe_fn)]

use clap::Parser;
use corecache::base::config;
use corecache::server;
use shards::alloc;

#[global_allocator]
static GLOBAL: alloc::CountingAlloc = alloc::CountingAlloc;

fn main() {
    // `corecache [config-file] [--flags]`, as redis-server.
    let (args, warnings) = match corecache::base::config_file::expand(std::env::args_os().collect())
    {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(1);
        }
    };
    let config = config::Config::parse_from(args);
    for w in warnings {
        eprintln!("corecache: {w}");
    }
    server::install_panic_hook();
    if let Err(msg) = server::run(config) {
        eprintln!("{msg}");
        std::process::exit(1);
    }
}
