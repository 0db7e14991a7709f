//! Shared channel state and the wait/notify protocol around the ring.
//!
//! Waiting is the classic *try / register / try again / wait* dance:
//!
//! 1. try the operation (spinning briefly first);
//! 2. register a listener on the side's [`Event`], increment the side's waiter counter, then a
//!    *heavy* barrier ([`crate::barrier::heavy`]: `membarrier` on Linux, a `SeqCst` fence
//!    elsewhere);
//! 3. try again (the state may have changed before the listener existed); on failure, wait.
//!
//! The side's waiter counter counts registrations that no notifier has taken yet. The other
//! side, after it changed the ring (publish or release), issues a *light* barrier (a compiler
//! fence where the heavy one is `membarrier`, else a `SeqCst` fence) and reads the counter; only
//! when it is non-zero does it take one registration (decrement) and notify one *additional*
//! listener. The two barriers make this a Dekker pair: either the notifier sees the
//! registration, or the waiter's second try sees the change. So no wake-up is lost, the fast
//! path touches no shared waiter state, and a burst of messages arriving while a woken receiver
//! has not run yet costs one atomic load each instead of a lock each (event-listener's `notify`
//! always takes its lock).
//!
//! Invariant: counter >= number of parked, not-yet-notified listeners (each registration adds
//! one to both; each notification removes one from both). So while anybody is parked, the
//! counter is non-zero and every publish/release notifies somebody.
//!
//! Nobody else decrements the counter: a waiter that leaves without being notified (its retry
//! succeeded, or its future was cancelled) leaves its count behind, which costs one spurious
//! notification later. A notified listener that is dropped unconsumed passes its notification
//! on to another listener (event-listener does that, and so does the loom event).

use crossbeam_utils::CachePadded;

use super::recycle::Recycle;
use super::ring::{Ring, TryError};
use super::stats::Stats;
use core::future::Future;

use crate::sync::{stack_listener, AtomicUsize, Event, Listener, Ordering};

/// How many rounds of exponential spinning an async operation does before it registers to wait.
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 2;

/// A sender that found the ring full waits, while it spins and yields, for this fraction of the
/// capacity to be free (see [`Ring::try_reserve_with_room`]).
const ROOM_DIVISOR: usize = 4;

/// How many times an async operation yields to the executor before it registers to wait.
#[cfg(not(loom))]
const YIELDS: u32 = 4;

/// One direction of waiting: senders waiting for room, or receivers waiting for messages.
pub(crate) struct Side {
    waiters: CachePadded<AtomicUsize>,
    event: Event,
    waits: AtomicUsize,
}

impl Side {
    fn new() -> Self {
        Self {
            waiters: CachePadded::new(AtomicUsize::new(0)),
            event: Event::new(),
            waits: AtomicUsize::new(0),
        }
    }

    /// Called after the ring changed in this side's favour: wakes one waiter if any.
    #[inline]
    pub(crate) fn wake_one(&self) {
        // The hot half of the Dekker pair with `register` (see `crate::barrier`).
        crate::barrier::light();
        if self.waiters.load(Ordering::Relaxed) != 0 {
            self.wake_registered();
        }
    }

    /// Takes one untaken registration and notifies one more listener.
    #[cold]
    fn wake_registered(&self) {
        let mut n = self.waiters.load(Ordering::Relaxed);
        while n != 0 {
            // AcqRel: the listener a waiter inserted before its increment is visible to `notify`.
            match self
                .waiters
                .compare_exchange_weak(n, n - 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.event.notify_additional(1);
                    return;
                }
                Err(now) => n = now,
            }
        }
    }

    /// Counts one more registered waiter (after its listener was inserted).
    pub(crate) fn register(&self) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // The rare half: pays for the ordering of both sides.
        crate::barrier::heavy();
    }

    /// The `poll`-based form of [`wait_for`] for `Stream`/`Sink`, which cannot keep a listener
    /// on a stack frame: `listener` (kept in the handle) holds the registration between polls.
    /// The same try / register / try again steps, without the spinning and yielding.
    pub(crate) fn poll_wait(
        &self,
        listener: &mut Option<Listener>,
        cx: &mut core::task::Context<'_>,
        mut attempt: impl FnMut() -> Result<usize, TryError>,
    ) -> core::task::Poll<Result<usize, TryError>> {
        loop {
            let result = attempt();
            if result != Err(TryError::WouldBlock) {
                *listener = None;
                return core::task::Poll::Ready(result);
            }
            match listener.as_mut() {
                Some(l) => {
                    if core::pin::Pin::new(l).poll(cx).is_pending() {
                        return core::task::Poll::Pending;
                    }
                    *listener = None;
                }
                None => {
                    self.count_wait();
                    *listener = Some(self.event.listen());
                    self.register();
                }
            }
        }
    }

    pub(crate) fn count_wait(&self) {
        self.waits.fetch_add(1, Ordering::Relaxed);
    }
}

/// State shared by all senders and receivers of one channel.
pub(crate) struct Chan<T, R> {
    pub(crate) ring: Ring<T>,
    pub(crate) recycle: R,
    /// Senders waiting for room.
    pub(crate) send_side: Side,
    /// Receivers waiting for messages.
    pub(crate) recv_side: Side,
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

impl<T, R: Recycle<T>> Chan<T, R> {
    pub(crate) fn new(capacity: usize, recycle: R) -> Self {
        // Before the channel exists: both sides rely on the barrier mode never changing.
        crate::barrier::init();
        Self {
            ring: Ring::new(capacity, || recycle.new_element()),
            recycle,
            send_side: Side::new(),
            recv_side: Side::new(),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }
}

impl<T, R> Chan<T, R> {
    /// Publishes a reserved position and wakes a receiver if one waits.
    #[inline]
    pub(crate) fn publish(&self, pos: usize, skip: bool) {
        self.ring.publish(pos, skip);
        self.recv_side.wake_one();
    }

    /// Releases a claimed position and wakes a sender if one waits.
    #[inline]
    pub(crate) fn release(&self, pos: usize) {
        self.ring.release(pos);
        self.send_side.wake_one();
    }

    /// Claims the next position that carries a message, releasing abandoned (skip) slots.
    #[inline]
    pub(crate) fn try_claim(&self) -> Result<usize, TryError> {
        loop {
            let pos = self.ring.try_claim()?;
            if !self.ring.take_skip(pos) {
                return Ok(pos);
            }
            self.release(pos);
        }
    }

    /// Reserves a slot, waiting for room. `Err` once the channel is closed.
    pub(crate) async fn reserve(&self) -> Result<usize, TryError> {
        let room = self.ring.capacity() / ROOM_DIVISOR;
        wait_for(
            &self.send_side,
            || self.ring.try_reserve(),
            || self.ring.try_reserve_with_room(room),
        )
        .await
    }

    /// Claims a message, waiting for one. `Err` once the channel is closed and drained.
    pub(crate) async fn claim(&self) -> Result<usize, TryError> {
        wait_for(&self.recv_side, || self.try_claim(), || self.try_claim()).await
    }

    /// Closes the channel and wakes everybody. Returns `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        let closed = self.ring.close();
        if closed {
            self.send_side.event.notify_all();
            self.recv_side.event.notify_all();
        }
        closed
    }

    pub(crate) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_receiver(&self) {
        self.receivers.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops a sender handle; the last one closes the channel.
    pub(crate) fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    /// Drops a receiver handle; the last one closes the channel.
    pub(crate) fn drop_receiver(&self) {
        if self.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            sent: self.ring.reserved() as u64,
            received: self.ring.claimed() as u64,
            full_waits: self.send_side.waits.load(Ordering::Relaxed) as u64,
            empty_waits: self.recv_side.waits.load(Ordering::Relaxed) as u64,
        }
    }
}

/// Runs `attempt` until it succeeds or reports `Closed`, parking on `side` in between.
///
/// Cancel-safe: `attempt` only takes effect when it returns `Ok`, and that is returned at once.
async fn wait_for(
    side: &Side,
    mut attempt: impl FnMut() -> Result<usize, TryError>,
    mut patient_attempt: impl FnMut() -> Result<usize, TryError>,
) -> Result<usize, TryError> {
    match attempt() {
        Err(TryError::WouldBlock) => {}
        done => return done,
    }
    // Spin before the next try: retrying at once would repeat the attempt that just failed.
    match spin_then_retry(&mut patient_attempt) {
        Err(TryError::WouldBlock) => {}
        done => return done,
    }
    // Let the executor run other tasks (often the other end of this channel) before paying for
    // a registration and a possible thread park.
    #[cfg(not(loom))]
    for _ in 0..YIELDS {
        YieldNow(false).await;
        match attempt_spinning(&mut patient_attempt) {
            Err(TryError::WouldBlock) => {}
            done => return done,
        }
    }
    side.count_wait();
    loop {
        stack_listener!(side.event => listener);
        side.register();
        match attempt() {
            Err(TryError::WouldBlock) => {}
            done => return done,
        }
        listener.await;
        match attempt() {
            Err(TryError::WouldBlock) => {}
            done => return done,
        }
    }
}

/// Returns `Pending` once (waking itself at once), then `Ready`: a cooperative yield.
#[cfg(not(loom))]
struct YieldNow(bool);

#[cfg(not(loom))]
impl core::future::Future for YieldNow {
    type Output = ();

    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        if self.0 {
            return core::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        core::task::Poll::Pending
    }
}

/// Tries `attempt` once, then again after each of a few rounds of exponential spinning.
#[cfg(not(loom))]
#[inline]
fn attempt_spinning(
    attempt: &mut impl FnMut() -> Result<usize, TryError>,
) -> Result<usize, TryError> {
    match attempt() {
        Err(TryError::WouldBlock) => spin_then_retry(attempt),
        done => done,
    }
}

/// Spins with exponential back-off, retrying `attempt` after each round (under loom, where
/// spinning only adds schedules, it gives up at once).
#[inline]
fn spin_then_retry(
    attempt: &mut impl FnMut() -> Result<usize, TryError>,
) -> Result<usize, TryError> {
    #[cfg(not(loom))]
    for round in 0..SPIN_ROUNDS {
        for _ in 0..(1u32 << round) {
            core::hint::spin_loop();
        }
        match attempt() {
            Err(TryError::WouldBlock) => {}
            done => return done,
        }
    }
    #[cfg(loom)]
    let _ = attempt;
    Err(TryError::WouldBlock)
}
