//! The state of a coordinated failover (FAILOVER, `commands/failover.rs`): its phase,
//! target, deadline and FORCE; process-wide, read by INFO, PSYNC (no syncs while it
//! runs) and a replica's link (which asks the target to take over, then ends it).

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::runtime::{pause, upstream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    None,
    /// Writes paused, waiting for a replica to acknowledge everything.
    WaitForSync,
    /// Following the target, whose PSYNC FAILOVER answer is awaited.
    InProgress,
}

struct Failover {
    phase: Phase,
    target: Option<(String, u16)>,
    deadline: Option<Instant>,
    force: bool,
}

static STATE: Mutex<Failover> = Mutex::new(Failover {
    phase: Phase::None,
    target: None,
    deadline: None,
    force: false,
});

fn state() -> MutexGuard<'static, Failover> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// INFO's `master_failover_state`.
pub fn state_name() -> &'static str {
    match state().phase {
        Phase::None => "no-failover",
        Phase::WaitForSync => "waiting-for-sync",
        Phase::InProgress => "failover-in-progress",
    }
}

/// Whether a failover runs (replicas may not sync meanwhile).
pub fn running() -> bool {
    state().phase != Phase::None
}

/// Whether the link being set up should ask its primary to take over.
pub fn in_progress() -> bool {
    state().phase == Phase::InProgress
}

fn clear(st: &mut Failover) {
    st.phase = Phase::None;
    st.target = None;
    st.deadline = None;
    st.force = false;
    pause::unpause();
}

/// The failover's end, from the link: the target took over (`ok`), or refused.
pub fn finished(ok: bool, why: &str) {
    let mut st = state();
    if st.phase != Phase::InProgress {
        return;
    }
    if ok {
        crate::base::log::notice("Failover target accepted: this server is a replica now");
    } else {
        crate::base::log::notice(&format!("FAILOVER aborted: {why}"));
        upstream::stop();
    }
    clear(&mut st);
}

pub fn abort(why: &str) {
    let mut st = state();
    if st.phase == Phase::InProgress {
        upstream::stop();
    }
    crate::base::log::notice(&format!("FAILOVER aborted: {why}"));
    clear(&mut st);
}

/// A failover starts: writes paused until it ends.
pub fn begin(target: Option<(String, u16)>, deadline: Option<Instant>, force: bool) {
    let mut st = state();
    st.phase = Phase::WaitForSync;
    st.target = target;
    st.deadline = deadline;
    st.force = force;
    pause::pause(pause::WRITE, u64::MAX / 4);
}

/// (phase, target, deadline, force) now.
pub fn current() -> (Phase, Option<(String, u16)>, Option<Instant>, bool) {
    let st = state();
    (st.phase, st.target.clone(), st.deadline, st.force)
}

/// The chosen replica caught up: this server follows it now.
pub fn set_in_progress() {
    state().phase = Phase::InProgress;
}
