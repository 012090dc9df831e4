//! What an entry's `access` word holds, as Redis keeps it in its 24 `lru` bits: under
//! an LRU (or any non-LFU) policy the time of the last access in 10 ms ticks (Redis
//! counts seconds; the finer clock lets LRU tell apart keys used within one second;
//! it wraps after 497 days, as Redis's after 194); under an LFU policy the minute of
//! the last decrement (16 bits) and a logarithmic access counter (8 bits).
//! Switching policy at runtime reinterprets the word, as in Redis: the figures need a
//! while to mean something again.

use crate::clock::Millis;

/// The counter a new key starts with, so it is not evicted before it had a chance.
pub const LFU_INIT_VAL: u8 = 5;

/// The settings the counter follows (`lfu-log-factor`, `lfu-decay-time`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LfuParams {
    pub log_factor: u32,
    /// The counter loses one for each period of this many idle minutes; 0: never.
    pub decay_minutes: u32,
}

/// Milliseconds per tick of the LRU clock.
pub const LRU_TICK_MS: u64 = 10;

/// The LRU clock: 10 ms ticks, wrapping.
pub fn lru_clock(now: Millis) -> u32 {
    (now / LRU_TICK_MS) as u32
}

/// Milliseconds since the access recorded in an LRU word.
pub fn idle_ms(access: u32, now: Millis) -> u64 {
    u64::from(lru_clock(now).wrapping_sub(access)) * LRU_TICK_MS
}

/// Seconds since the access recorded in an LRU word (OBJECT IDLETIME).
pub fn idle_secs(access: u32, now: Millis) -> u64 {
    idle_ms(access, now) / 1000
}

/// The LRU word of an access `idle_secs` ago (RESTORE ... IDLETIME).
pub fn lru_idle_since(now: Millis, idle_secs: u64) -> u32 {
    lru_clock(now).wrapping_sub((idle_secs.saturating_mul(1000) / LRU_TICK_MS) as u32)
}

fn minutes(now: Millis) -> u32 {
    ((now / 60_000) & 0xFFFF) as u32
}

/// The LFU word of a key created now.
pub fn lfu_new(now: Millis) -> u32 {
    minutes(now) << 8 | u32::from(LFU_INIT_VAL)
}

/// The LFU word with `counter` as of now.
pub fn lfu_word(counter: u8, now: Millis) -> u32 {
    minutes(now) << 8 | u32::from(counter)
}

/// The counter of an LFU word after the decay its idle minutes call for.
pub fn lfu_counter(access: u32, now: Millis, p: LfuParams) -> u8 {
    // Masked: a word written under an LRU policy (after a switch) has more bits.
    let last = (access >> 8) & 0xFFFF;
    let counter = (access & 0xFF) as u8;
    let now = minutes(now);
    // The minute clock wraps every 2^16 minutes (about 45 days).
    let elapsed = if now >= last {
        now - last
    } else {
        0xFFFF - last + now
    };
    let periods = elapsed.checked_div(p.decay_minutes).unwrap_or(0);
    counter.saturating_sub(periods.min(255) as u8)
}

/// One access's increment: always below the initial value, then with probability
/// 1 / ((counter - LFU_INIT_VAL) * log_factor + 1). `r` is uniform in [0, 1).
pub fn lfu_increment(counter: u8, log_factor: u32, r: f64) -> u8 {
    if counter == u8::MAX {
        return counter;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// The counter that about `hits` accesses reach from `LFU_INIT_VAL` (going from c to
/// c + 1 takes about (c - LFU_INIT_VAL) * log_factor + 1 hits, so h hits climb about
/// sqrt(2 h / log_factor) steps).
pub fn lfu_counter_for_hits(hits: u8, log_factor: u32) -> u8 {
    let steps = (2.0 * f64::from(hits) / f64::from(log_factor.max(1))).sqrt();
    LFU_INIT_VAL.saturating_add(steps as u8)
}

/// The word after an access at `now`; `r` uniform in [0, 1) (only LFU uses it).
pub fn touched(access: u32, now: Millis, lfu: Option<LfuParams>, r: f64) -> u32 {
    match lfu {
        Some(p) => {
            let c = lfu_counter(access, now, p);
            lfu_word(lfu_increment(c, p.log_factor, r), now)
        }
        None => lru_clock(now),
    }
}

/// The word of an entry created at `now`.
pub fn fresh(now: Millis, lfu: bool) -> u32 {
    if lfu {
        lfu_new(now)
    } else {
        lru_clock(now)
    }
}
