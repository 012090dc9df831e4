//! A watchdog for the network driver. The driver task only ever waits by yielding to
//! glommio (it wakes itself), or, while some task uses glommio's own I/O, on a glommio
//! timer; glommio should therefore never find nothing to run. Twice a server was seen
//! with every shard thread parked in glommio's reactor and no client answered (not
//! reproduced since): the driver task had stopped being scheduled. The watchdog, a
//! task of its own on a one-second glommio timer, notices a driver that has not gone on
//! from a wait since its last look, says so in the log (with where the driver waits),
//! and wakes the driver's task again.

use std::cell::Cell;
use std::rc::Rc;
use std::task::Waker;
use std::time::Duration;

use super::Driver;
use crate::base::log;
use crate::runtime::exec;

/// Where the driver task waits (for the watchdog's report).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Running (between its waits).
    #[default]
    Running,
    /// Yielded to let the other tasks run.
    Yielded,
    /// On glommio's timer, while a task uses glommio's I/O.
    GlommioSleep,
}

/// What the driver keeps for its watchdog.
#[derive(Default)]
pub struct Watch {
    pub phase: Cell<Phase>,
    /// Times the driver task went on after a wait.
    beats: Cell<u64>,
    waker: std::cell::RefCell<Option<Waker>>,
}

impl Watch {
    /// Keeps the waker of the task that polls this (the driver's).
    pub async fn remember_waker(&self) {
        std::future::poll_fn(|cx| {
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            std::task::Poll::Ready(())
        })
        .await
    }

    /// The driver goes on after a wait.
    pub fn resumed(&self) {
        self.phase.set(Phase::Running);
        self.beats.set(self.beats.get() + 1);
    }

    fn wake(&self) {
        if let Some(w) = self.waker.borrow().as_ref() {
            w.wake_by_ref();
        }
    }
}

/// A driver that has not gone on for this long is reported (then once a minute).
const REPORT_AFTER: u32 = 5;

/// Watches `driver` (of shard `shard`) for as long as it runs.
pub fn spawn(driver: Rc<Driver>, shard: usize) {
    exec::spawn(async move {
        let mut last = driver.watch.beats.get();
        let mut still = 0u32;
        while !driver.stopped.get() {
            exec::glommio_sleep(Duration::from_secs(1)).await;
            let beats = driver.watch.beats.get();
            if beats != last {
                if still >= REPORT_AFTER {
                    log::warning(&format!(
                        "corecache: shard {shard}'s network driver runs again after {still} s"
                    ));
                }
                last = beats;
                still = 0;
                continue;
            }
            still += 1;
            if still == REPORT_AFTER || (still > REPORT_AFTER && still.is_multiple_of(60)) {
                log::warning(&format!(
                    "corecache: shard {shard}'s network driver has not run for {still} s \
                     (waiting: {:?}, tasks on glommio's I/O: {}); waking it",
                    driver.watch.phase.get(),
                    exec::foreign_io()
                ));
            }
            driver.watch.wake();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::driver::DriverConfig;
    use std::task::Poll;

    /// A driver task that waits without anyone to wake it is woken by the watchdog.
    #[test]
    fn a_driver_task_left_unwoken_is_woken() {
        let handle = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .io_memory(256 * 1024)
            .spawn(|| async {
                let driver = Driver::new(DriverConfig {
                    buffers: 4,
                    fixed_files: 0,
                    ..DriverConfig::default()
                })
                .expect("io_uring");
                spawn(driver.clone(), 0);
                let started = std::time::Instant::now();
                driver.watch.remember_waker().await;
                // Pending once with no waker kept anywhere: a lost wake-up.
                let mut first = true;
                std::future::poll_fn(|_| {
                    if std::mem::take(&mut first) {
                        Poll::Pending
                    } else {
                        Poll::Ready(())
                    }
                })
                .await;
                driver.stop();
                started.elapsed()
            })
            .unwrap();
        let waited = handle.join().unwrap();
        assert!(waited >= Duration::from_millis(900), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    }
}
