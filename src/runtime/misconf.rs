//! Redis's MISCONF rule: after a failed snapshot, with save points set and
//! `stop-writes-on-bgsave-error yes`, write commands are refused until a snapshot
//! succeeds again. The snapshot code (`commands::save`) records the outcome here; the
//! shards check it before every write.

use std::sync::atomic::{AtomicBool, Ordering};

use shards::CmdError;

use crate::base::config::Settings;

static LAST_SAVE_FAILED: AtomicBool = AtomicBool::new(false);

/// Records the outcome of the last snapshot.
pub fn record_save(ok: bool) {
    LAST_SAVE_FAILED.store(!ok, Ordering::Relaxed);
}

/// The error a write gets while writes are refused, if they are.
pub fn check_write(s: &Settings) -> Result<(), CmdError> {
    if LAST_SAVE_FAILED.load(Ordering::Relaxed)
        && s.stop_writes_on_bgsave_error
        && !s.save.is_empty()
    {
        return Err(CmdError::other(
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to \
             persist to disk. Commands that may modify the data set are disabled, because this \
             instance is configured to report errors during writes if RDB snapshotting fails \
             (stop-writes-on-bgsave-error option). Please check the Redis logs for details \
             about the RDB error.",
        ));
    }
    Ok(())
}
