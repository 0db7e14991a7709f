//! `moirai::time` inside a Moirai runtime: sleeps last at least as asked and end in deadline
//! order, timeouts tell a late future from a ready one, intervals tick on their schedule.
//!
//! Only lower bounds on elapsed time are checked: a loaded machine may run timers late, never
//! early.

mod common;

use std::future::{pending, Future};
use std::time::{Duration, Instant};

use common::DropCounter;
use futures::{FutureExt, StreamExt};
use moirai::time::{interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed};
use moirai::Runtime;

/// Runs `fut` as a task on a worker of a fresh two-worker runtime.
fn on_worker<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(rt.spawn(fut)).unwrap()
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn sleep_lasts_at_least_its_duration() {
    on_worker(async {
        for ms in [0, 1, 15, 30] {
            let start = Instant::now();
            let s = sleep(ms * MS);
            assert_eq!(s.deadline().map(|d| d >= start + ms * MS), Some(true));
            s.await;
            assert!(
                start.elapsed() >= ms * MS,
                "slept {:?} < {ms}ms",
                start.elapsed()
            );
        }
    });
}

#[test]
fn sleep_until_reaches_its_deadline_and_a_past_deadline_is_ready() {
    on_worker(async {
        let past = Instant::now();
        sleep_until(past).await;
        let deadline = Instant::now() + 20 * MS;
        let s = sleep_until(deadline);
        assert_eq!(s.deadline(), Some(deadline));
        s.await;
        assert!(Instant::now() >= deadline);
    });
}

#[test]
fn a_sleep_too_long_to_represent_never_ends() {
    on_worker(async {
        let forever = sleep(Duration::MAX);
        assert_eq!(forever.deadline(), None);
        assert!(timeout(10 * MS, forever).await.is_err());
    });
}

#[test]
fn the_shorter_sleep_finishes_first() {
    on_worker(async {
        // Biased towards the long sleep: it can only lose if timers really run in deadline order.
        futures::select_biased! {
            _ = sleep(Duration::from_secs(3600)).fuse() => panic!("an hour passed before 10ms"),
            _ = sleep(10 * MS).fuse() => {}
        }
    });
}

#[test]
fn sleeps_in_many_tasks_each_end_after_their_own_deadline() {
    on_worker(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..64u32)
            .map(|i| {
                let deadline = start + (i % 8) * 5 * MS;
                moirai::spawn(async move {
                    sleep_until(deadline).await;
                    (deadline, Instant::now())
                })
            })
            .collect();
        for t in tasks {
            let (deadline, woke) = t.await.unwrap();
            assert!(woke >= deadline);
        }
    });
}

#[test]
fn sequential_sleeps_wake_in_order() {
    on_worker(async {
        let start = Instant::now();
        let mut woke = Vec::new();
        for k in 1..=5u32 {
            sleep_until(start + k * 3 * MS).await;
            woke.push(Instant::now());
        }
        for (k, w) in (1..=5u32).zip(&woke) {
            assert!(*w >= start + k * 3 * MS);
        }
        assert!(woke.windows(2).all(|w| w[0] <= w[1]));
    });
}

#[test]
fn sleep_reset_moves_the_deadline() {
    on_worker(async {
        let mut s = sleep(Duration::from_secs(3600));
        let soon = Instant::now() + 5 * MS;
        s.reset(soon);
        (&mut s).await;
        assert!(Instant::now() >= soon && s.is_elapsed());
    });
}

#[test]
fn timeout_of_a_pending_future_is_elapsed_after_its_duration() {
    on_worker(async {
        let start = Instant::now();
        let res: Result<u32, Elapsed> = timeout(20 * MS, pending::<u32>()).await;
        assert!(res.is_err());
        assert!(start.elapsed() >= 20 * MS);

        let deadline = Instant::now() + 5 * MS;
        let err = timeout_at(deadline, pending::<()>()).await.unwrap_err();
        assert!(Instant::now() >= deadline);
        assert_eq!(err.to_string(), "deadline has elapsed");
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    });
}

#[test]
fn timeout_of_a_ready_future_is_ok() {
    on_worker(async {
        assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        // Already past the deadline: the future is still polled first.
        assert_eq!(
            timeout_at(Instant::now() - 10 * MS, async { "ready" }).await,
            Ok("ready")
        );
        // Finishes well before its generous deadline.
        let slow_but_in_time = async {
            sleep(5 * MS).await;
            6
        };
        assert_eq!(
            timeout(Duration::from_secs(3600), slow_but_in_time).await,
            Ok(6)
        );
    });
}

#[test]
fn an_elapsed_timeout_drops_its_future_once() {
    let counter = DropCounter::default();
    let tracked = counter.track();
    on_worker(async move {
        let fut = async move {
            let _t = tracked;
            pending::<()>().await
        };
        assert!(timeout(5 * MS, fut).await.is_err());
    });
    assert_eq!(counter.dropped(), 1);
}

#[test]
fn interval_first_tick_is_immediate_then_every_period() {
    on_worker(async {
        let period = 4 * MS;
        let before = Instant::now();
        let mut iv = interval(period);
        assert_eq!(iv.period(), period);
        let first = iv.tick().await;
        // The first tick is scheduled at creation time, and has come by the time it returns.
        assert!(first >= before && first <= Instant::now());
        let mut prev = first;
        for _ in 0..5 {
            let t = iv.tick().await;
            assert!(Instant::now() >= t);
            let gap = (t - prev).as_nanos();
            assert!(
                gap > 0 && gap % period.as_nanos() == 0,
                "ticks off the schedule: {gap}ns"
            );
            prev = t;
        }
    });
}

#[test]
fn interval_at_starts_at_its_start() {
    on_worker(async {
        let start = Instant::now() + 10 * MS;
        let mut iv = interval_at(start, 3 * MS);
        assert_eq!(iv.tick().await, start);
        assert!(Instant::now() >= start);
    });
}

#[test]
fn missed_ticks_are_skipped_not_burst() {
    on_worker(async {
        let period = 10 * MS;
        let mut iv = interval(period);
        let t0 = iv.tick().await;
        sleep(35 * MS).await; // miss the ticks at t0+10, t0+20, t0+30
                              // The late tick reports its scheduled instant...
        assert_eq!(iv.tick().await, t0 + period);
        // ...and the next one is back on the grid, in the future: no burst of t0+20, t0+30.
        let next = iv.tick().await;
        let from_start = next - t0;
        assert!(from_start >= 4 * period, "burst: tick at t0+{from_start:?}");
        assert_eq!(from_start.as_nanos() % period.as_nanos(), 0);
    });
}

#[test]
fn interval_is_a_stream_of_increasing_instants() {
    on_worker(async {
        let ticks: Vec<Instant> = interval(2 * MS).take(4).collect().await;
        assert_eq!(ticks.len(), 4);
        assert!(ticks.windows(2).all(|w| w[0] < w[1]));
    });
}

#[test]
fn interval_reset_restarts_the_schedule() {
    on_worker(async {
        // The first tick is an hour away until the reset brings it to one period from now.
        let mut iv = interval_at(Instant::now() + Duration::from_secs(3600), 5 * MS);
        let before = Instant::now();
        iv.reset();
        let t = iv.tick().await;
        assert!(t >= before + 5 * MS && Instant::now() >= t);
    });
}

#[test]
#[should_panic(expected = "period must be greater than zero")]
fn a_zero_period_interval_is_rejected() {
    let _ = interval(Duration::ZERO);
}
