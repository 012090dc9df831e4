//! How a shard runs its tasks. Every task of the server is spawned here (never with
//! `glommio::spawn_local` directly), so the runtime can tell whether any task ran since
//! it last looked; every sleep goes through `runtime::sleep`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;

use std::task::{Context, Poll};
use std::time::Duration;

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
        // SAFETY: structural pinning of field 0: the inner future is never moved out of
        // the pinned wrapper, `Counted` has no `Drop` impl, and it is `Unpin` only when
        // `F` is (the auto impl).
        unsafe { self.map_unchecked_mut(|c| &mut c.0) }.poll(cx)
    }
}

/// Spawns a detached task on this shard. glommio polls it at once, inside this call,
/// until it first waits.
pub fn spawn(fut: impl Future<Output = ()> + 'static) {
    glommio::spawn_local(Counted(fut)).detach();
}

/// Lets the tasks runnable now run first (note that glommio runs a task it spawns at
/// once, inside `spawn`, until the task first waits).
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
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
