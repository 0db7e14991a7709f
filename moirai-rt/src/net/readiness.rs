//! The readiness of one registered socket: which directions the driver has seen ready since the
//! socket last hit `WouldBlock`, and the task waiting for each direction.
//!
//! # Protocol
//!
//! `state` holds a READABLE and a WRITABLE bit, a READ_CLOSED and a WRITE_CLOSED bit and, above
//! them, a tick that every event moves on. READABLE and WRITABLE are edges: a task that finds the
//! socket drained clears them. The CLOSED bits are states (end of stream, hang-up, error) that no
//! later I/O undoes, so they are never cleared: a read that drained the last bytes before a FIN
//! must not then wait for an edge that already came.
//!
//! * The **driver**, for an event, sets the event's bits and moves the tick in one `SeqCst`
//!   read-modify-write, *then* takes each woken direction's waker (under its lock) and wakes it.
//! * A **task** that wants to do I/O calls [`Readiness::poll_ready`]: if the bit is set it goes
//!   ahead, remembering the state it saw; otherwise it stores its waker (under the lock) and
//!   *then* loads `state` again (`SeqCst`). Either that load sees the driver's bit, or the driver's
//!   lock comes after the task's and finds the waker: no wake-up is lost.
//! * A task whose I/O returned `WouldBlock` calls [`Readiness::clear`] with the state it saw: the
//!   bit is cleared only if the tick has not moved since, so an event that arrived while the task
//!   was reading is never wiped out by the task's stale conclusion that the socket is drained.
//!
//! The loom models at the bottom check both halves (`RUSTFLAGS="--cfg loom"`).

use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicUsize, Mutex, Ordering::Relaxed, Ordering::SeqCst};

/// A direction of I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read = 0,
    Write = 1,
}

impl Direction {
    /// The edge bit of this direction (cleared when the socket is found drained).
    fn bit(self) -> usize {
        1 << self as usize
    }

    /// The bits that make this direction ready: its edge or its closed state.
    fn ready_bits(self) -> usize {
        self.bit() | self.bit() << 2
    }
}

pub(crate) const READABLE: usize = 1;
pub(crate) const WRITABLE: usize = 2;
pub(crate) const READ_CLOSED: usize = 4;
pub(crate) const WRITE_CLOSED: usize = 8;
const ALL: usize = READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED;
const TICK: usize = 16;

/// What a task saw when [`Readiness::poll_ready`] let it go ahead; handed back to
/// [`Readiness::clear`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen(usize);

pub(crate) struct Readiness {
    state: AtomicUsize,
    wakers: [Mutex<Option<Waker>>; 2],
}

impl Readiness {
    /// A new registration counts as ready both ways: the first attempt finds out for real (and
    /// an edge that fired before the registration cannot be missed).
    pub(crate) fn new() -> Readiness {
        Readiness {
            state: AtomicUsize::new(READABLE | WRITABLE),
            wakers: [Mutex::new(None), Mutex::new(None)],
        }
    }

    fn lock(&self, dir: Direction) -> crate::sync::MutexGuard<'_, Option<Waker>> {
        // No user code runs under this lock (wakers are woken after it is released).
        self.wakers[dir as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The driver saw an event for `bits` (any of the four): records it and wakes the waiting
    /// tasks of the directions it makes ready.
    pub(crate) fn set(&self, bits: usize) {
        let bits = bits & ALL;
        let mut s = self.state.load(Relaxed);
        loop {
            let next = (s | bits).wrapping_add(TICK);
            match self.state.compare_exchange_weak(s, next, SeqCst, Relaxed) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        for dir in [Direction::Read, Direction::Write] {
            if bits & dir.ready_bits() != 0 {
                let waker = self.lock(dir).take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
    }

    /// `Ready` once `dir` may be ready (the I/O should be tried); `Pending` after registering
    /// `cx`'s waker otherwise.
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<Seen> {
        let s = self.state.load(SeqCst);
        if s & dir.ready_bits() != 0 {
            return Poll::Ready(Seen(s));
        }
        {
            let mut slot = self.lock(dir);
            match slot.as_ref() {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        let s = self.state.load(SeqCst);
        if s & dir.ready_bits() != 0 {
            Poll::Ready(Seen(s))
        } else {
            Poll::Pending
        }
    }

    /// The I/O that `seen` allowed found `dir` not ready (or drained it): forget the readiness,
    /// unless an event came in since `seen`.
    pub(crate) fn clear(&self, dir: Direction, seen: Seen) {
        let mut s = self.state.load(Relaxed);
        while s & !ALL == seen.0 & !ALL && s & dir.bit() != 0 {
            match self
                .state
                .compare_exchange_weak(s, s & !dir.bit(), SeqCst, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
    }

    #[cfg(test)]
    fn bits(&self) -> usize {
        self.state.load(SeqCst) & ALL
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);
    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// What `poll_ready` saw, for a read that must be allowed to go ahead.
    fn may_read(r: &Readiness) -> Seen {
        match r.poll_ready(Direction::Read, &mut Context::from_waker(Waker::noop())) {
            Poll::Ready(seen) => seen,
            Poll::Pending => panic!("a read should go ahead here"),
        }
    }

    #[test]
    fn a_new_registration_is_ready_both_ways() {
        let r = Readiness::new();
        assert_eq!(r.bits(), READABLE | WRITABLE);
    }

    #[test]
    fn a_waiting_task_is_woken_by_the_event_for_its_direction_only() {
        let r = Readiness::new();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(seen) = r.poll_ready(Direction::Read, &mut cx) else {
            panic!("new registrations are ready")
        };
        r.clear(Direction::Read, seen);
        assert!(r.poll_ready(Direction::Read, &mut cx).is_pending());
        r.set(WRITABLE);
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        r.set(READABLE);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(r.poll_ready(Direction::Read, &mut cx).is_ready());
    }

    #[test]
    fn end_of_stream_stays_ready_after_the_data_before_it_is_drained() {
        // Data and FIN in one event; the task reads the data (a short read clears READABLE):
        // the next read must still go ahead and see end-of-stream.
        let r = Readiness::new();
        r.clear(Direction::Read, may_read(&r));
        r.set(READABLE | READ_CLOSED);
        r.clear(Direction::Read, may_read(&r));
        may_read(&r);
        assert_eq!(r.bits(), WRITABLE | READ_CLOSED);
    }

    #[test]
    fn a_stale_clear_keeps_an_event_that_came_in_meanwhile() {
        let r = Readiness::new();
        let seen = may_read(&r);
        r.set(READABLE); // arrives while the task reads
        r.clear(Direction::Read, seen); // the task's read had come back WouldBlock
        assert_eq!(r.bits() & READABLE, READABLE);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// A task waiting for readability and a driver event racing: the task always gets to go.
    #[test]
    fn waiting_task_and_event_no_lost_wakeup() {
        loom::model(|| {
            let r = Arc::new(Readiness::new());
            // Start drained.
            let seen = Seen(r.state.load(SeqCst));
            r.clear(Direction::Read, seen);
            let driver = {
                let r = r.clone();
                loom::thread::spawn(move || r.set(READABLE))
            };
            loom::future::block_on(std::future::poll_fn(|cx| {
                r.poll_ready(Direction::Read, cx).map(|_| ())
            }));
            driver.join().unwrap();
        });
    }

    /// A task concluding "drained" from a stale look, racing an event: the event survives.
    #[test]
    fn stale_clear_and_event_keep_the_event() {
        loom::model(|| {
            let r = Arc::new(Readiness::new());
            let seen = Seen(r.state.load(SeqCst));
            let driver = {
                let r = r.clone();
                loom::thread::spawn(move || r.set(READABLE))
            };
            r.clear(Direction::Read, seen);
            driver.join().unwrap();
            assert_eq!(r.bits() & READABLE, READABLE);
        });
    }
}
