//! [`Sleep`]: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;

/// Waits until `duration` has elapsed.
///
/// The sleep never completes early; it may complete later than asked when the machine is busy.
/// A duration too large to represent as an [`Instant`] sleeps forever.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// moirai_rt::block_on(async {
///     let start = Instant::now();
///     moirai_rt::time::sleep(Duration::from_millis(2)).await;
///     assert!(start.elapsed() >= Duration::from_millis(2));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    match Instant::now().checked_add(duration) {
        Some(deadline) => sleep_until(deadline),
        None => Sleep {
            timer: Timer::never(),
            deadline: None,
            done: false,
        },
    }
}

/// Waits until `deadline`. A deadline in the past completes on the first poll.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// moirai_rt::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(2);
///     moirai_rt::time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        timer: Timer::at(deadline),
        deadline: Some(deadline),
        done: false,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`]. Dropping it cancels the timer.
///
/// It is `Unpin`, so it can be polled by `&mut` (in `select!`, for example) and moved to a new
/// deadline with [`reset`](Self::reset).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    timer: Timer,
    /// `None` for a sleep that never ends.
    deadline: Option<Instant>,
    done: bool,
}

impl Sleep {
    /// When the sleep completes; `None` for a sleep too long to represent, which never does.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has been reached (by the clock, polled or not).
    pub fn is_elapsed(&self) -> bool {
        self.done || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Moves the deadline, whether or not the sleep has already completed; the next poll waits
    /// for the new one.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// moirai_rt::block_on(async {
    ///     let mut sleep = moirai_rt::time::sleep(Duration::from_secs(3600));
    ///     let soon = Instant::now() + Duration::from_millis(1);
    ///     sleep.reset(soon);
    ///     (&mut sleep).await;
    ///     assert!(Instant::now() >= soon);
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.timer.set_at(deadline);
        self.deadline = Some(deadline);
        self.done = false;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        std::task::ready!(moirai_channel::coop::poll_proceed(cx));
        if self.done {
            return Poll::Ready(());
        }
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Ready(_) => {
                self.done = true;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("done", &self.done)
            .finish()
    }
}
