//! [`yield_now`]: lets other tasks run before continuing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler once: the task goes to the back of its worker's queue, behind every
/// task that was waiting there.
///
/// ```
/// moirai_rt::block_on(async { moirai_rt::yield_now().await });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Woken while running: async-task reports it as a yield and the scheduler queues the task
        // at the back rather than in the LIFO slot.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
