//! How a shard runs its tasks and timers. Every task of the server is spawned here
//! (never with `glommio::spawn_local` directly), so the runtime can tell whether any
//! task ran since it last looked, and every sleep goes through `sleep`.

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

/// Waits `d`.
pub async fn sleep(d: Duration) {
    glommio::timer::sleep(d).await;
}
