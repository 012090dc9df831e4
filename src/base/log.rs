//! Minimal leveled logging to stderr, in the spirit of Redis's log lines.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(2);

pub fn set_level(name: &str) {
    let l = match name {
        "debug" => 0,
        "verbose" => 1,
        "notice" => 2,
        _ => 3,
    };
    LEVEL.store(l, Ordering::Relaxed);
}

fn emit(level: u8, mark: char, msg: &str) {
    if level >= LEVEL.load(Ordering::Relaxed) {
        eprintln!(
            "{}:M {} {mark} {msg}",
            std::process::id(),
            shards::clock::system_ms()
        );
    }
}

pub fn notice(msg: &str) {
    emit(2, '*', msg);
}

pub fn warning(msg: &str) {
    emit(3, '#', msg);
}

pub fn verbose(msg: &str) {
    emit(1, '-', msg);
}
