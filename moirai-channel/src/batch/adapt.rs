//! Batch-threshold adaptation: pure logic, driven by an injectable clock.
//!
//! The receiver feeds an [`Adapter`] the number of messages it takes and the time it took them
//! (from a [`Clock`]). Every `window` the adapter turns the items seen into a throughput sample
//! and folds it into an exponential moving average (weight [`Adapter::ALPHA`] for the newest
//! sample). The threshold is the number of messages one sender produces in half of `max_delay`
//! at that rate, clamped to `min_batch..=max_batch`:
//!
//! ```text
//! threshold = clamp(ema_rate * max_delay / (2 * senders), min_batch, max_batch)
//! ```
//!
//! So a sender under sustained load fills its batch well before the delay bound, and when load
//! stops (samples near zero, including the idle time the receiver reports while it waits) the
//! threshold falls back towards `min_batch`. The adapter holds no clock itself: callers pass
//! `now`, which keeps it deterministic in tests ([`ManualClock`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A monotonic time source in nanoseconds since an arbitrary origin.
pub trait Clock {
    /// Nanoseconds since this clock's origin; never decreases.
    fn now_nanos(&self) -> u64;
}

/// The real clock: nanoseconds since the clock was created.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that only moves when told to, for tests.
///
/// ```
/// use moirai_channel::batch::adapt::{Clock, ManualClock};
/// let clock = ManualClock::new();
/// clock.advance_nanos(1_500);
/// assert_eq!(clock.now_nanos(), 1_500);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance_nanos(&self, nanos: u64) {
        self.now.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }
}

/// Tracks throughput and derives the batch threshold from it.
///
/// ```
/// use moirai_channel::batch::adapt::Adapter;
/// let mut a = Adapter::new(1, 256, 100_000, 0);
/// // 10 items per microsecond for a few windows: the threshold climbs to max_batch.
/// let mut now = 0;
/// for _ in 0..20 {
///     now += 100_000;
///     a.observe(now, 1_000_000, 1);
/// }
/// assert_eq!(a.threshold(), 256);
/// ```
#[derive(Debug, Clone)]
pub struct Adapter {
    min: usize,
    max: usize,
    horizon_nanos: u64,
    window_nanos: u64,
    window_start: u64,
    window_items: u64,
    ema_items_per_nano: f64,
    threshold: usize,
}

impl Adapter {
    /// Weight of the newest throughput sample in the moving average.
    pub const ALPHA: f64 = 0.25;

    /// An adapter for thresholds in `min..=max` and delay bound `max_delay_nanos`, starting at
    /// time `now` with threshold `min`. Samples are taken once per `max(max_delay, 10 µs)`.
    ///
    /// # Panics
    /// If `min` is zero or greater than `max`.
    pub fn new(min: usize, max: usize, max_delay_nanos: u64, now: u64) -> Self {
        assert!(
            min >= 1 && min <= max,
            "Adapter needs 1 <= min ({min}) <= max ({max})"
        );
        Self {
            min,
            max,
            horizon_nanos: max_delay_nanos,
            window_nanos: max_delay_nanos.max(10_000),
            window_start: now,
            window_items: 0,
            ema_items_per_nano: 0.0,
            threshold: min,
        }
    }

    /// Records that `items` messages arrived by time `now` while `senders` senders were live,
    /// and returns the (possibly updated) threshold. `items == 0` reports idle time.
    pub fn observe(&mut self, now: u64, items: usize, senders: usize) -> usize {
        self.window_items = self.window_items.saturating_add(items as u64);
        let elapsed = now.saturating_sub(self.window_start);
        if elapsed >= self.window_nanos {
            let sample = self.window_items as f64 / elapsed as f64;
            self.ema_items_per_nano =
                Self::ALPHA * sample + (1.0 - Self::ALPHA) * self.ema_items_per_nano;
            self.window_start = now;
            self.window_items = 0;
            let per_sender =
                self.ema_items_per_nano * self.horizon_nanos as f64 / (2.0 * senders.max(1) as f64);
            // `as usize` saturates for large or non-finite values; clamp keeps it in range.
            self.threshold = (per_sender.round() as usize).clamp(self.min, self.max);
        }
        self.threshold
    }

    /// The current threshold.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// The moving average of throughput, in messages per second.
    pub fn rate_per_sec(&self) -> f64 {
        self.ema_items_per_nano * 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: u64 = 100_000; // 100 µs

    /// Feeds `per_window` items per window for `windows` windows.
    fn run(
        a: &mut Adapter,
        clock: &ManualClock,
        windows: usize,
        per_window: usize,
        senders: usize,
    ) -> Vec<usize> {
        (0..windows)
            .map(|_| {
                clock.advance_nanos(DELAY);
                a.observe(clock.now_nanos(), per_window, senders)
            })
            .collect()
    }

    #[test]
    fn starts_at_min() {
        assert_eq!(Adapter::new(4, 64, DELAY, 0).threshold(), 4);
    }

    #[test]
    fn threshold_rises_under_sustained_load_and_falls_when_it_stops() {
        let clock = ManualClock::new();
        let mut a = Adapter::new(1, 256, DELAY, clock.now_nanos());
        // 100k items per 100 µs window: 1 item/ns; one sender would fill 50k in max_delay / 2.
        let rising = run(&mut a, &clock, 30, 100_000, 1);
        assert!(
            rising.windows(2).all(|w| w[1] >= w[0]),
            "monotone rise: {rising:?}"
        );
        assert_eq!(*rising.last().unwrap(), 256);
        assert!(a.rate_per_sec() > 5e8);
        // Load stops: only idle observations.
        let falling = run(&mut a, &clock, 60, 0, 1);
        assert!(
            falling.windows(2).all(|w| w[1] <= w[0]),
            "monotone fall: {falling:?}"
        );
        assert_eq!(*falling.last().unwrap(), 1);
    }

    #[test]
    fn moderate_load_settles_between_bounds() {
        let clock = ManualClock::new();
        let mut a = Adapter::new(1, 256, DELAY, 0);
        // 1 item per 100 ns per sender, 2 senders: 2000 per window; per sender 1000 per window,
        // half a window's worth is 500 -> clamp to 256? Use 100 items per window: 50 per sender
        // per window, threshold -> 25.
        let t = run(&mut a, &clock, 80, 100, 2);
        assert_eq!(*t.last().unwrap(), 25);
    }

    #[test]
    fn more_senders_means_smaller_batches_each() {
        let clock = ManualClock::new();
        let mut one = Adapter::new(1, 1024, DELAY, 0);
        let mut four = one.clone();
        let a = *run(&mut one, &clock, 80, 400, 1).last().unwrap();
        let clock = ManualClock::new();
        let b = *run(&mut four, &clock, 80, 400, 4).last().unwrap();
        assert_eq!((a, b), (200, 50));
    }

    #[test]
    fn observations_within_a_window_accumulate() {
        let mut a = Adapter::new(1, 1000, DELAY, 0);
        for i in 1..10 {
            assert_eq!(
                a.observe(i * 1_000, 1_000, 1),
                1,
                "no sample before the window ends"
            );
        }
        // 9000 + 1000 items in 100 µs: 0.1/ns; ema = 0.025/ns -> 0.025 * 50_000 = 1250 -> 1000.
        assert_eq!(a.observe(DELAY, 1_000, 1), 1000);
    }

    #[test]
    fn long_idle_gap_drops_threshold_at_once() {
        let mut a = Adapter::new(2, 256, DELAY, 0);
        let mut now = 0;
        for _ in 0..40 {
            now += DELAY;
            a.observe(now, 100_000, 1);
        }
        assert_eq!(a.threshold(), 256);
        // One very long window with a single message: the sample is ~0, so the average drops by
        // a quarter at once, and keeps dropping with further idle windows.
        now += 1_000_000_000;
        let after_gap = a.observe(now, 1, 1);
        assert_eq!(after_gap, 256, "the EMA damps a single idle sample");
        for _ in 0..60 {
            now += DELAY;
            a.observe(now, 0, 1);
        }
        assert_eq!(a.threshold(), 2);
    }

    #[test]
    #[should_panic(expected = "min")]
    fn rejects_min_above_max() {
        Adapter::new(10, 5, DELAY, 0);
    }

    #[test]
    fn manual_clock_only_moves_when_told() {
        let c = ManualClock::new();
        assert_eq!(c.now_nanos(), 0);
        c.advance_nanos(5);
        c.advance_nanos(7);
        assert_eq!(c.now_nanos(), 12);
        let m = MonotonicClock::new();
        let a = m.now_nanos();
        assert!(m.now_nanos() >= a);
    }
}
