//! How a shard runs its tasks and timers. Every task of the server is spawned here
//! (never with `glommio::spawn_local` directly), so the runtime can tell whether any
//! task ran since it last looked, and every sleep goes through `sleep`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime::driver::{self, Driver};

thread_local! {
    /// Polls of spawned tasks on this thread so far.
    static POLLS: Cell<u64> = const { Cell::new(0) };
}

/// A spawned task, counting its polls.
struct Counted<F>(F);

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        POLLS.with(|p| p.set(p.get() + 1));
        // SAFETY: the inner future is never moved out of the pinned wrapper.
        unsafe { self.map_unchecked_mut(|c| &mut c.0) }.poll(cx)
    }
}

/// Spawns a detached task on this shard.
pub fn spawn(fut: impl Future<Output = ()> + 'static) {
    glommio::spawn_local(Counted(fut)).detach();
}

/// How many times spawned tasks were polled on this thread.
pub fn polls() -> u64 {
    POLLS.with(|p| p.get())
}

thread_local! {
    /// Tasks waiting for I/O on glommio's own rings (a MIGRATE's connection).
    static FOREIGN_IO: Cell<u32> = const { Cell::new(0) };
}

/// Held while a task waits for I/O on glommio's rings: the network driver then lets
/// glommio's loop run often instead of waiting in its own ring.
pub struct ForeignIo(());

impl ForeignIo {
    pub fn begin() -> ForeignIo {
        FOREIGN_IO.with(|c| c.set(c.get() + 1));
        ForeignIo(())
    }
}

impl Drop for ForeignIo {
    fn drop(&mut self) {
        FOREIGN_IO.with(|c| c.set(c.get() - 1));
    }
}

/// Whether some task waits for glommio's own I/O.
pub fn foreign_io() -> bool {
    FOREIGN_IO.with(|c| c.get() > 0)
}

/// Sleeps on glommio's timer (lets glommio's loop poll its rings meanwhile).
pub async fn glommio_sleep(d: Duration) {
    glommio::timer::sleep(d).await;
}

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
