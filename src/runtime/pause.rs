//! CLIENT PAUSE: one process-wide state (every shard reads it with one atomic load per
//! command). While it holds, a command it applies to waits before it runs (the
//! client's later commands wait behind it): with ALL every command of a normal client,
//! with WRITE the commands that may write or replicate (write commands, EVAL, EVALSHA,
//! FCALL, PUBLISH, SPUBLISH, PFCOUNT, and EXEC of a transaction holding one). It ends
//! at its deadline or with CLIENT UNPAUSE. A second pause keeps the later deadline and
//! the stricter mode, as Redis.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use shards::cmd::{flags, CommandSpec};

const OFF: u8 = 0;
pub const WRITE: u8 = 1;
pub const ALL: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(OFF);
/// The deadline, in milliseconds since `base()`.
static UNTIL_MS: AtomicU64 = AtomicU64::new(0);
/// Serializes pause and unpause (the check reads without it).
static CHANGE: Mutex<()> = Mutex::new(());

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    base().elapsed().as_millis() as u64
}

/// CLIENT PAUSE: `mode` (WRITE or ALL) for `ms` milliseconds from now.
pub fn pause(mode: u8, ms: u64) {
    let _g = CHANGE.lock().unwrap_or_else(|e| e.into_inner());
    let until = now_ms().saturating_add(ms);
    let (cur_mode, cur_until) = current();
    let (mode, until) = if cur_mode == OFF {
        (mode, until)
    } else {
        (mode.max(cur_mode), until.max(cur_until))
    };
    UNTIL_MS.store(until, Ordering::Release);
    MODE.store(mode, Ordering::Release);
}

/// CLIENT UNPAUSE.
pub fn unpause() {
    let _g = CHANGE.lock().unwrap_or_else(|e| e.into_inner());
    MODE.store(OFF, Ordering::Release);
}

/// The mode in force and its deadline (OFF once the deadline passed).
fn current() -> (u8, u64) {
    let mode = MODE.load(Ordering::Acquire);
    if mode == OFF {
        return (OFF, 0);
    }
    let until = UNTIL_MS.load(Ordering::Acquire);
    if now_ms() >= until {
        return (OFF, 0);
    }
    (mode, until)
}

/// Whether a pause may be in force (the cheap check on every command).
#[inline]
pub fn maybe_paused() -> bool {
    MODE.load(Ordering::Relaxed) != OFF
}

/// Whether the pause in force holds a command (`writes`: it may write or replicate).
pub fn holds(writes: bool) -> bool {
    match current().0 {
        ALL => true,
        WRITE => writes,
        _ => false,
    }
}

/// Whether a command may write or replicate, as WRITE pauses judge it.
pub fn may_write(spec: &CommandSpec) -> bool {
    spec.has(flags::WRITE)
        || matches!(
            spec.name,
            "eval" | "evalsha" | "fcall" | "publish" | "spublish" | "pfcount"
        )
}

/// Waits while the pause holds a command.
pub async fn wait(writes: bool) {
    while holds(writes) {
        let left = UNTIL_MS.load(Ordering::Acquire).saturating_sub(now_ms());
        crate::runtime::sleep::sleep(Duration::from_millis(left.clamp(1, 10))).await;
    }
}
