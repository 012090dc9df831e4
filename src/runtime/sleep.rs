//! Sleeping: on the network driver's timers when the shard runs a driver, else on
//! glommio's.

use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::runtime::driver::{self, Driver};

/// Waits `d`: on the network driver's timers when the shard has a driver, else on
/// glommio's.
pub async fn sleep(d: Duration) {
    let Some(driver) = driver::current() else {
        return glommio::timer::sleep(d).await;
    };
    let at = Instant::now() + d;
    let mut id = None;
    let guard = CancelOnDrop(&driver, &mut id);
    std::future::poll_fn(|cx| match *guard.1 {
        None => {
            *guard.1 = Some(guard.0.add_timer(at, cx.waker().clone()));
            Poll::Pending
        }
        Some(t) if guard.0.timer_fired(t) => Poll::Ready(()),
        Some(t) => {
            guard.0.update_timer(t, cx.waker());
            Poll::Pending
        }
    })
    .await;
}

/// Cancels a driver timer when its sleep is dropped early.
struct CancelOnDrop<'a>(&'a Rc<Driver>, &'a mut Option<u64>);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(t) = *self.1 {
            self.0.cancel_timer(t);
        }
    }
}
