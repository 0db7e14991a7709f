//! [`Interval`]: ticks on a fixed period.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures::Stream;

/// An [`Interval`] whose first tick is immediate and whose later ticks come every `period`.
///
/// # Missed ticks
/// When a tick is taken late (the task was busy for longer than a period), the ticks missed in the
/// meantime are **skipped**, not made up in a burst: the next tick is the first point of the
/// original schedule (`start + k * period`) that lies in the future. The instant each tick
/// returns is the scheduled one, not the moment it was observed.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
///
/// moirai_rt::block_on(async {
///     let mut ticks = moirai_rt::time::interval(Duration::from_millis(2));
///     let first = ticks.tick().await; // immediate
///     let second = ticks.tick().await;
///     assert!(second - first >= Duration::from_millis(2));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// An [`Interval`] whose first tick is at `start` (immediate if `start` has passed).
///
/// # Panics
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "moirai::time::interval: the period must be greater than zero"
    );
    Interval {
        timer: Timer::at(start),
        next: Some(start),
        period,
    }
}

/// Ticks every `period` (see [`interval`] for the schedule and how missed ticks are handled).
///
/// Take ticks with [`tick`](Self::tick), or use it as a never-ending [`Stream`] of the scheduled
/// tick instants.
pub struct Interval {
    timer: Timer,
    /// The scheduled instant of the next tick; `None` once the schedule runs past what an
    /// `Instant` can represent (the interval then never ticks again).
    next: Option<Instant>,
    period: Duration,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// Cancel-safe: dropping the future before it completes loses no tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick, registering `cx`'s waker if it has not come yet.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let Some(scheduled) = self.next else {
            return Poll::Pending;
        };
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => {
                self.next = next_tick(scheduled, self.period, Instant::now());
                match self.next {
                    Some(next) => self.timer.set_at(next),
                    None => self.timer.clear(),
                }
                Poll::Ready(scheduled)
            }
        }
    }

    /// Restarts the schedule: the next tick comes one period from now.
    pub fn reset(&mut self) {
        self.next = Instant::now().checked_add(self.period);
        match self.next {
            Some(next) => self.timer.set_at(next),
            None => self.timer.clear(),
        }
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// The first instant of the schedule `scheduled + k * period` (k ≥ 1) that is after `now`.
fn next_tick(scheduled: Instant, period: Duration, now: Instant) -> Option<Instant> {
    let behind = now.saturating_duration_since(scheduled).as_nanos();
    let periods = behind / period.as_nanos() + 1;
    let ahead = periods.checked_mul(period.as_nanos())?;
    let ahead = Duration::new(
        u64::try_from(ahead / 1_000_000_000).ok()?,
        (ahead % 1_000_000_000) as u32,
    );
    scheduled.checked_add(ahead)
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.next)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::next_tick;
    use std::time::{Duration, Instant};

    #[test]
    fn on_time_tick_moves_one_period() {
        let t0 = Instant::now();
        let p = Duration::from_millis(10);
        assert_eq!(next_tick(t0, p, t0), Some(t0 + p));
        assert_eq!(
            next_tick(t0, p, t0 + Duration::from_millis(9)),
            Some(t0 + p)
        );
    }

    #[test]
    fn late_tick_skips_to_the_first_future_slot() {
        let t0 = Instant::now();
        let p = Duration::from_millis(10);
        // Exactly on a later slot: that slot has come, so the next is the one after.
        assert_eq!(next_tick(t0, p, t0 + 3 * p), Some(t0 + 4 * p));
        assert_eq!(
            next_tick(t0, p, t0 + Duration::from_millis(35)),
            Some(t0 + 4 * p)
        );
    }

    #[test]
    fn overflow_means_no_more_ticks() {
        let t0 = Instant::now();
        assert_eq!(next_tick(t0, Duration::MAX, t0), None);
    }
}
