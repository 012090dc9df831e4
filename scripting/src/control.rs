//! State shared between a shard's engine and every other thread: whether a script is
//! running, whether it is past the busy threshold (other clients then get `-BUSY`),
//! and SCRIPT KILL / FUNCTION KILL requests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use shards::{CmdError, Reply};

/// Redis's default `busy-reply-threshold` (alias `lua-time-limit`), in milliseconds.
pub const DEFAULT_BUSY_THRESHOLD_MS: u64 = 5000;

const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
const BUSY_SCRIPT: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// One per engine (shard thread), shared through an `Arc` with the threads that answer
/// other clients.
#[derive(Debug)]
pub struct ScriptControl {
    busy_threshold_ms: AtomicU64,
    running: AtomicBool,
    busy: AtomicBool,
    kill_requested: AtomicBool,
    wrote: AtomicBool,
    is_function: AtomicBool,
    /// The running script's SHA-1 or function name, and when it started.
    name: Mutex<(String, Option<Instant>)>,
}

impl Default for ScriptControl {
    fn default() -> Self {
        Self::new(DEFAULT_BUSY_THRESHOLD_MS)
    }
}

impl ScriptControl {
    pub fn new(busy_threshold_ms: u64) -> Self {
        ScriptControl {
            busy_threshold_ms: AtomicU64::new(busy_threshold_ms),
            running: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            kill_requested: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            is_function: AtomicBool::new(false),
            name: Mutex::new((String::new(), None)),
        }
    }

    /// `CONFIG SET busy-reply-threshold` / `lua-time-limit`.
    pub fn set_busy_threshold_ms(&self, ms: u64) {
        self.busy_threshold_ms.store(ms, Ordering::Relaxed);
    }

    pub fn busy_threshold_ms(&self) -> u64 {
        self.busy_threshold_ms.load(Ordering::Relaxed)
    }

    /// A script or function is executing (busy or not).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// A script is executing and has run past the busy threshold.
    pub fn is_busy(&self) -> bool {
        self.is_running() && self.busy.load(Ordering::Acquire)
    }

    /// Whether the running script has already run a write command (it cannot be killed).
    pub fn has_written(&self) -> bool {
        self.wrote.load(Ordering::Acquire)
    }

    /// Whether the running code is a function (FCALL) rather than an EVAL script.
    pub fn is_function(&self) -> bool {
        self.is_function.load(Ordering::Acquire)
    }

    /// The running script's SHA-1 or function name.
    pub fn running_name(&self) -> Option<String> {
        self.running_script().map(|(name, _)| name)
    }

    /// The running script's SHA-1 or function name and how long it has run, in
    /// milliseconds (FUNCTION STATS' `running_script`, answered by another thread).
    pub fn running_script(&self) -> Option<(String, u64)> {
        if !self.is_running() {
            return None;
        }
        let guard = self.name.lock().ok()?;
        let ms = guard.1.map_or(0, |t| t.elapsed().as_millis() as u64);
        Some((guard.0.clone(), ms))
    }

    /// The `-BUSY` error other clients get while a script is past the threshold.
    pub fn busy_error(&self) -> Option<Reply> {
        if !self.is_busy() {
            return None;
        }
        let msg = if self.is_function() {
            BUSY_FUNCTION
        } else {
            BUSY_SCRIPT
        };
        Some(Reply::Error(CmdError::other(msg)))
    }

    /// SCRIPT KILL (`function == false`) or FUNCTION KILL (`function == true`).
    pub fn kill(&self, function: bool) -> Reply {
        if !self.is_busy() {
            return Reply::Error(CmdError::other(NOTBUSY));
        }
        if self.has_written() {
            return Reply::Error(CmdError::other(UNKILLABLE));
        }
        match (function, self.is_function()) {
            (false, true) => return Reply::Error(CmdError::other(BUSY_FUNCTION)),
            (true, false) => return Reply::Error(CmdError::other(BUSY_SCRIPT)),
            _ => {}
        }
        self.kill_requested.store(true, Ordering::Release);
        Reply::Ok
    }

    pub(crate) fn kill_requested(&self) -> bool {
        self.kill_requested.load(Ordering::Acquire)
    }

    pub(crate) fn begin(&self, name: &str, is_function: bool, now: Instant) {
        if let Ok(mut n) = self.name.lock() {
            n.0.clear();
            n.0.push_str(name);
            n.1 = Some(now);
        }
        self.busy.store(false, Ordering::Release);
        self.kill_requested.store(false, Ordering::Release);
        self.wrote.store(false, Ordering::Release);
        self.is_function.store(is_function, Ordering::Release);
        self.running.store(true, Ordering::Release);
    }

    pub(crate) fn mark_busy(&self) {
        self.busy.store(true, Ordering::Release);
    }

    pub(crate) fn mark_wrote(&self) {
        self.wrote.store(true, Ordering::Release);
    }

    pub(crate) fn end(&self) {
        self.running.store(false, Ordering::Release);
        self.busy.store(false, Ordering::Release);
        self.kill_requested.store(false, Ordering::Release);
    }
}
