//! When a busy worker takes a non-blocking turn of async-io's reactor.
//!
//! Busy workers never park, so without these turns only async-io's helper thread would see I/O
//! and timers under load, waking tasks from outside the workers (see `worker.rs`). A worker
//! checks every [`FAIRNESS_INTERVAL`](super::worker) ticks; the turn itself costs five system
//! calls (`polling` arms a timer descriptor and re-arms its notifier around each wait), which
//! is about 2 us: on a workload of short polls, such as `yield_many` at ~40 ns a poll, turning
//! every 61 ticks was a tenth of the run (`perf`: `polling`'s `wait_deadline`, `fdget`,
//! `do_epoll_ctl`). So the turns are also spaced in time: a worker whose check comes due takes
//! the turn only if nobody in the runtime took one in the last [`MIN_INTERVAL`].
//!
//! [`MIN_INTERVAL`] stays below 50 us, async-io's helper thread's shortest sleep: the helper takes
//! the reactor for itself whenever no turn happened while it slept, and once it has, it sleeps
//! that short and comes back as long as the workers leave such gaps (measured: with busy-worker
//! turns three times rarer, a quarter to a half of all reactor turns of the HTTP load ran on
//! it). Under that load the turns are about 400 us apart anyway, so the spacing only thins
//! out turns on workloads that poll fast and do little I/O.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

/// Shortest time between two busy-worker reactor turns of one runtime.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_micros(40);

pub(crate) struct ReactorTurns {
    epoch: Instant,
    /// Nanoseconds from `epoch` to the start of the last turn claimed.
    last: CachePadded<AtomicU64>,
}

impl ReactorTurns {
    pub(crate) fn new() -> ReactorTurns {
        ReactorTurns {
            epoch: Instant::now(),
            last: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Whether the caller should take a reactor turn now; if so, the turn is counted as taken.
    /// At most one caller wins per [`MIN_INTERVAL`] (the first one to ask after it).
    pub(crate) fn claim(&self) -> bool {
        self.claim_at(self.epoch.elapsed().as_nanos() as u64)
    }

    /// [`ReactorTurns::claim`] at `now` nanoseconds from `epoch`.
    fn claim_at(&self, now: u64) -> bool {
        let last = self.last.load(Relaxed);
        now.saturating_sub(last) >= MIN_INTERVAL.as_nanos() as u64
            && self
                .last
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_interval() {
        let turns = ReactorTurns::new();
        let interval = MIN_INTERVAL.as_nanos() as u64;
        assert!(!turns.claim_at(interval - 1), "too early after the start");
        assert!(turns.claim_at(interval));
        assert!(!turns.claim_at(interval), "a second claim at the same time");
        assert!(
            !turns.claim_at(2 * interval - 1),
            "a claim within the interval"
        );
        assert!(turns.claim_at(2 * interval + 5));
        // Time read on another thread may lag behind the last claim: not a turn.
        assert!(!turns.claim_at(interval));
    }
}
