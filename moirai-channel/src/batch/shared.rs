//! The state senders and the receiver share, and the publish/pickup protocol over it.
//!
//! * Each sender owns a [`Slot`]: its partial batch behind an
//!   [`OwnerLock`](super::sync::OwnerLock). A `send` locks only its own slot (plain stores and
//!   loads, no read-modify-write and no fence: the receiver pays for the ordering with a
//!   `membarrier`, see [`crate::barrier`]), pushes, and decides whether to publish.
//! * Publishing moves the slot's whole `Vec` into the shared queue of batches under the state
//!   mutex: one synchronisation per batch. The queue is bounded in *items* (`capacity`); a batch
//!   that does not fit waits, except that an empty queue takes any batch, so a batch larger than
//!   the capacity cannot deadlock.
//! * The receiver takes whole batches. When the queue is empty it registers its waker, raises
//!   `rx_waiting` and then *picks up* a non-empty slot itself (all under the state mutex, so no
//!   publish can slip between what it saw and what it takes). A sender that pushes after that
//!   scan took its slot lock after the receiver released it, so it sees `rx_waiting` and
//!   publishes at once: a message can never be stranded in a slot while the receiver sleeps.
//! * Under measured load (threshold above `min_batch`), a receiver that finds the queue empty
//!   but partial batches younger than `max_delay` (at most 200 µs) yields (wakes itself,
//!   returns `Pending`) instead of taking tiny batches and going to sleep; a batch that reaches
//!   that age is taken. A *full* batch still in its slot belongs to a sender waiting for room,
//!   which every pop of a batch wakes: it publishes the batch itself (no barrier), so the
//!   receiver leaves it alone until it is that old too. Under light load the threshold is at
//!   its minimum and this never happens. (Under loom time stands still and the threshold never
//!   leaves the minimum.)
//! * While the queue is not empty the receiver also moves slots older than `max_delay` to the
//!   *back* of the queue (behind that sender's earlier batches, so per-sender order holds).
//! * Emptied `Vec`s go back to a small free list that publishers take their next buffer from.

use std::collections::VecDeque;
use std::mem;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Poll, Waker};

use crossbeam_utils::CachePadded;

use super::adapt::{Adapter, Clock};
use super::stats::{Cause, Stats};
use super::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize, Mutex, SlotLock};
use crate::barrier;

/// The longest a receiver polls (yielding) for a partial batch to fill before taking it, so that
/// a long `max_delay` cannot turn into a long busy wait.
const MAX_PATIENCE_NANOS: u64 = 200_000;

/// Requests every sender's slot lock, then issues the one heavy barrier they share: after this,
/// [`Slot::take_requested`] (or `cancel_request`) may be called on each slot, under the state
/// mutex. The barrier also orders every sender's last push before our look at its slot.
fn request_every_slot<T>(st: &State<T>) {
    st.slots.iter().for_each(|s| s.partial.request());
    barrier::heavy();
}

/// The channel's time source.
#[cfg(not(loom))]
type ChannelClock = super::adapt::MonotonicClock;
/// Loom models must be deterministic, so under loom time stands still (at zero).
#[cfg(loom)]
type ChannelClock = super::adapt::ManualClock;

/// Validated channel settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) capacity: usize,
    pub(crate) min_batch: usize,
    pub(crate) max_batch: usize,
    pub(crate) max_delay_nanos: u64,
}

/// A sender's partial batch, on its own cache line: each `send` writes its slot's lock, which
/// must not share a line with another sender's.
pub(crate) struct Slot<T> {
    partial: CachePadded<SlotLock<Partial<T>>>,
    /// `started + 1` of the partial batch, 0 when empty: written under the lock, read without
    /// it by a receiver deciding whether to wait for this batch to fill, so that polling does
    /// not pull the lock's cache line away from a busy sender. Only a hint: a receiver that
    /// reads 0 falls back to the locked scan.
    since: CachePadded<AtomicU64>,
}

struct Partial<T> {
    buf: Vec<T>,
    /// Clock reading when the first message of `buf` was pushed.
    started: u64,
}

impl<T> Slot<T> {
    fn new() -> Self {
        Self {
            partial: CachePadded::new(SlotLock::new(Partial {
                buf: Vec::new(),
                started: 0,
            })),
            since: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// The sender's own take: replaces the partial batch with `spare` and returns it.
    fn take_owned(&self, spare: Vec<T>) -> Vec<T> {
        self.partial.with_owner(|p| self.swap(p, spare))
    }

    /// The receiver's take, after [`OwnerLock::request`](super::sync::OwnerLock::request) and a
    /// heavy barrier.
    ///
    /// # Safety
    /// As [`OwnerLock::with_requested`](super::sync::OwnerLock::with_requested): requested,
    /// barrier since, and the caller holds the state mutex (so it is the only remote).
    unsafe fn take_requested(&self, spare: Vec<T>) -> Vec<T> {
        // SAFETY: forwarded from the caller.
        unsafe { self.partial.with_requested(|p| self.swap(p, spare)) }
    }

    /// Under the lock: replaces the partial batch with `spare` and returns it.
    fn swap(&self, p: &mut Partial<T>, spare: Vec<T>) -> Vec<T> {
        self.since.store(0, Relaxed);
        mem::replace(&mut p.buf, spare)
    }
}

/// Fields every `send` reads; written rarely.
struct Hot {
    rx_waiting: AtomicBool,
    rx_closed: AtomicBool,
    threshold: AtomicUsize,
}

struct State<T> {
    queue: VecDeque<Vec<T>>,
    /// Messages in `queue`.
    queued: usize,
    slots: Vec<Arc<Slot<T>>>,
    free: Vec<Vec<T>>,
    rx_waker: Option<Waker>,
    space_waiters: Vec<Waker>,
    senders: usize,
    rx_closed: bool,
    stats: Stats,
    last_aged_scan: u64,
    scan_from: usize,
}

/// What a push into a slot did.
pub(crate) enum Push<T> {
    /// The message is in the slot; publish now for this cause, if any.
    Pushed(Option<Cause>),
    /// The slot is at the threshold: publish before pushing.
    Full(T),
}

/// What a publish did.
pub(crate) enum Publish<T> {
    /// The batch is in the queue.
    Done,
    /// The slot was empty.
    Empty,
    /// No room in the queue (the waker, if given, is registered).
    Full,
    /// The receiver is gone; these messages were taken from the slot to be dropped.
    Closed(Vec<T>),
}

/// What a receiver that `poll_batch` told to wait for partial batches to fill may skip the
/// state mutex for (see [`Shared::still_young`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patience {
    events: u64,
    ripe_at: u64,
}

/// What [`Shared::take_ripe`] found.
enum Ripe<T> {
    Taken(Vec<T>),
    /// Partial batches are filling; the oldest becomes ripe at this clock reading.
    Young(u64),
    None,
}

/// The channel's shared half.
pub(crate) struct Shared<T> {
    hot: CachePadded<Hot>,
    /// Counts changes that can end a receiver's patience (a batch enqueued, a sender gone), so
    /// that a patient receiver can poll without the state mutex (see [`Shared::still_young`]).
    /// Written under the mutex.
    events: CachePadded<AtomicU64>,
    state: Mutex<State<T>>,
    config: Config,
    clock: ChannelClock,
}

impl<T> Shared<T> {
    /// A channel with one sender, whose slot is returned alongside.
    pub(crate) fn new(config: Config) -> (Arc<Self>, Arc<Slot<T>>) {
        // Before any slot exists: senders rely on the barrier mode never changing.
        barrier::init();
        let slot = Arc::new(Slot::new());
        let shared = Arc::new(Self {
            events: CachePadded::new(AtomicU64::new(0)),
            hot: CachePadded::new(Hot {
                rx_waiting: AtomicBool::new(false),
                rx_closed: AtomicBool::new(false),
                threshold: AtomicUsize::new(config.min_batch),
            }),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued: 0,
                slots: vec![Arc::clone(&slot)],
                free: Vec::new(),
                rx_waker: None,
                space_waiters: Vec::new(),
                senders: 1,
                rx_closed: false,
                stats: Stats::default(),
                last_aged_scan: 0,
                scan_from: 0,
            }),
            config,
            clock: ChannelClock::new(),
        });
        (shared, slot)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_nanos()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn rx_closed(&self) -> bool {
        self.hot.rx_closed.load(Relaxed)
    }

    /// Registers one more sender and returns its slot.
    pub(crate) fn add_sender(&self) -> Arc<Slot<T>> {
        let slot = Arc::new(Slot::new());
        let mut st = self.state.lock();
        st.senders += 1;
        st.slots.push(Arc::clone(&slot));
        slot
    }

    /// Pushes `value` into `slot` unless the slot is at the threshold (`force` pushes anyway).
    #[inline]
    pub(crate) fn push(&self, slot: &Slot<T>, value: T, force: bool) -> Push<T> {
        let threshold = self.hot.threshold.load(Relaxed);
        slot.partial.with_owner(|p| {
            if !force && p.buf.len() >= threshold {
                return Push::Full(value);
            }
            p.buf.push(value);
            let len = p.buf.len();
            if len == 1 {
                p.started = self.clock.now_nanos();
                slot.since.store(p.started + 1, Relaxed);
            }
            // Read under the slot lock: a receiver that scanned this slot before we locked it
            // raised `rx_waiting` before its scan, and its unlock happens-before our lock.
            Push::Pushed(if len >= threshold {
                Some(Cause::Size)
            } else if self.hot.rx_waiting.load(Relaxed) {
                Some(Cause::IdleReceiver)
            } else {
                None
            })
        })
    }

    /// Whether `slot` is below the threshold (a push would not need a publish first).
    pub(crate) fn has_room(&self, slot: &Slot<T>) -> bool {
        let threshold = self.hot.threshold.load(Relaxed);
        slot.partial.with_owner(|p| p.buf.len() < threshold)
    }

    /// Moves `slot`'s partial batch into the queue if there is room.
    pub(crate) fn publish(
        &self,
        slot: &Slot<T>,
        cause: Cause,
        waker: Option<&Waker>,
    ) -> Publish<T> {
        let mut st = self.state.lock();
        if st.rx_closed {
            drop(st);
            return Publish::Closed(slot.take_owned(Vec::new()));
        }
        let capacity = self.config.capacity;
        let spare = self.spare(&mut st);
        let queued = st.queued;
        let taken = slot.partial.with_owner(|p| {
            let n = p.buf.len();
            if n == 0 || (queued > 0 && queued + n > capacity) {
                Err((n, spare))
            } else {
                Ok(slot.swap(p, spare))
            }
        });
        match taken {
            Ok(batch) => {
                let rx = self.enqueue(&mut st, batch, cause);
                drop(st);
                wake(rx);
                Publish::Done
            }
            Err((n, spare)) => {
                st.free.push(spare);
                if n == 0 {
                    Publish::Empty
                } else {
                    if let Some(w) = waker {
                        st.space_waiters.push(w.clone());
                    }
                    Publish::Full
                }
            }
        }
    }

    /// Appends a batch and takes the receiver's waker, if it waits.
    fn enqueue(&self, st: &mut State<T>, batch: Vec<T>, cause: Cause) -> Option<Waker> {
        self.bump_events();
        st.stats.record(cause, batch.len());
        st.queued += batch.len();
        st.queue.push_back(batch);
        self.hot.rx_waiting.store(false, Relaxed);
        st.rx_waker.take()
    }

    /// Unregisters a sender: its partial batch is published (capacity notwithstanding) or, if the
    /// receiver is gone, dropped here, outside every lock.
    pub(crate) fn detach(&self, slot: &Arc<Slot<T>>) {
        let mut st = self.state.lock();
        let held = slot.take_owned(Vec::new());
        let mut rx = None;
        let mut dropped = Vec::new();
        if st.rx_closed {
            dropped = held;
        } else if !held.is_empty() {
            rx = self.enqueue(&mut st, held, Cause::Drop);
        }
        st.slots.retain(|s| !Arc::ptr_eq(s, slot));
        st.senders -= 1;
        self.bump_events();
        if st.senders == 0 {
            rx = rx.or_else(|| st.rx_waker.take());
        }
        drop(st);
        drop(dropped);
        wake(rx);
    }

    /// The receiver's poll for the next batch. `recycle` is an emptied buffer for the free list.
    pub(crate) fn poll_batch(
        &self,
        waker: &Waker,
        recycle: Option<Vec<T>>,
        adapter: &mut Adapter,
        patience: &mut Option<Patience>,
    ) -> Poll<Option<Vec<T>>> {
        let now = self.now();
        *patience = None;
        let mut st = self.state.lock();
        if let Some(buf) = recycle {
            self.keep_free(&mut st, buf);
        }
        if let Some(batch) = st.queue.pop_front() {
            st.queued -= batch.len();
            let half_delay = self.config.max_delay_nanos / 2;
            if now.saturating_sub(st.last_aged_scan) >= half_delay {
                st.last_aged_scan = now;
                self.pick_up_aged(&mut st, now);
            }
            let senders = st.senders;
            let waiters = mem::take(&mut st.space_waiters);
            drop(st);
            self.adapt(adapter, now, batch.len(), senders);
            waiters.into_iter().for_each(Waker::wake);
            return Poll::Ready(Some(batch));
        }
        // Nothing queued, and no sender left: the end (slots go with their senders).
        if st.senders == 0 {
            st.rx_waker = None;
            self.hot.rx_waiting.store(false, Relaxed);
            return Poll::Ready(None);
        }
        // Under measured load (threshold above the minimum) senders are mid-batch: give them
        // until `max_delay` to fill their batches, yielding to the executor and polling again,
        // instead of taking tiny batches and sleeping (a wake-up costs far more than a batch).
        if self.hot.threshold.load(Relaxed) > self.config.min_batch {
            match self.take_ripe(&mut st, now) {
                Ripe::Taken(batch) => {
                    let senders = st.senders;
                    drop(st);
                    self.adapt(adapter, now, batch.len(), senders);
                    return Poll::Ready(Some(batch));
                }
                Ripe::Young(ripe_at) => {
                    let events = self.events.load(Relaxed);
                    drop(st);
                    *patience = Some(Patience { events, ripe_at });
                    waker.wake_by_ref();
                    return Poll::Pending;
                }
                Ripe::None => {}
            }
        }
        // Wait, but first pick up a partial batch ourselves (idle receiver).
        if !st.rx_waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            st.rx_waker = Some(waker.clone());
        }
        self.hot.rx_waiting.store(true, Relaxed);
        // One barrier for the whole scan: it also orders `rx_waiting` before every sender's
        // next check of it.
        request_every_slot(&st);
        let n = st.slots.len();
        let mut found = None;
        for k in 0..n {
            let i = (st.scan_from + k) % n;
            if found.is_some() {
                st.slots[i].partial.cancel_request();
                continue;
            }
            let spare = self.spare(&mut st);
            // SAFETY: `request_every_slot` above (request, then the barrier), and we hold the
            // state mutex.
            let batch = unsafe { st.slots[i].take_requested(spare) };
            if batch.is_empty() {
                st.free.push(batch);
            } else {
                found = Some((i, batch));
            }
        }
        if let Some((i, batch)) = found {
            st.scan_from = i + 1;
            st.stats.record(Cause::IdleReceiver, batch.len());
            st.rx_waker = None;
            self.hot.rx_waiting.store(false, Relaxed);
            let senders = st.senders;
            drop(st);
            self.adapt(adapter, now, batch.len(), senders);
            return Poll::Ready(Some(batch));
        }
        let senders = st.senders;
        drop(st);
        self.adapt(adapter, now, 0, senders);
        Poll::Pending
    }

    fn bump_events(&self) {
        // Under the state mutex: a load and a store, no read-modify-write needed.
        self.events
            .store(self.events.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// Whether the receiver may keep waiting (yielding) without looking at the state: nothing
    /// was enqueued and no sender left since `poll_batch` answered "young", and the oldest
    /// partial batch it saw is not ripe yet. A `false` only sends the receiver back to
    /// `poll_batch`, so a stale read here costs a mutex, never a message.
    pub(crate) fn still_young(&self, patience: &Patience) -> bool {
        self.events.load(Relaxed) == patience.events && self.now() < patience.ripe_at
    }

    /// Takes the first partial batch that is at least `max_delay` (capped at
    /// [`MAX_PATIENCE_NANOS`]) old, or says whether any is younger. Slots are peeked at through
    /// their `since` hint; only a ripe one is locked.
    fn take_ripe(&self, st: &mut State<T>, now: u64) -> Ripe<T> {
        let patience = self.config.max_delay_nanos.min(MAX_PATIENCE_NANOS);
        let n = st.slots.len();
        let mut young = None;
        for k in 0..n {
            let i = (st.scan_from + k) % n;
            let since = st.slots[i].since.load(Relaxed);
            if since == 0 {
                continue;
            }
            if now.saturating_sub(since - 1) < patience {
                let ripe_at = since - 1 + patience;
                young = Some(young.map_or(ripe_at, |y: u64| y.min(ripe_at)));
                continue;
            }
            let spare = self.spare(st);
            let slot = Arc::clone(&st.slots[i]);
            let taken = slot.partial.with_remote(|p| {
                if p.buf.is_empty() {
                    Err(spare)
                } else {
                    Ok(slot.swap(p, spare))
                }
            });
            match taken {
                Ok(batch) => {
                    st.scan_from = i + 1;
                    st.stats.record(Cause::Delay, batch.len());
                    return Ripe::Taken(batch);
                }
                Err(spare) => st.free.push(spare),
            }
        }
        match young {
            Some(ripe_at) => Ripe::Young(ripe_at),
            None => Ripe::None,
        }
    }

    /// Moves every slot whose first message is at least `max_delay` old to the queue's back.
    fn pick_up_aged(&self, st: &mut State<T>, now: u64) {
        let max_delay = self.config.max_delay_nanos;
        for i in 0..st.slots.len() {
            // Only slots whose hint says "old" are locked (each lock costs the receiver a
            // barrier); a stale hint only delays the pickup to the next scan.
            let since = st.slots[i].since.load(Relaxed);
            if since == 0 || now.saturating_sub(since - 1) < max_delay {
                continue;
            }
            let spare = self.spare(st);
            let slot = Arc::clone(&st.slots[i]);
            let taken = slot.partial.with_remote(|p| {
                if !p.buf.is_empty() && now.saturating_sub(p.started) >= max_delay {
                    Ok(slot.swap(p, spare))
                } else {
                    Err(spare)
                }
            });
            match taken {
                Ok(batch) => {
                    // The receiver is running, so there is no waker to take.
                    let _ = self.enqueue(st, batch, Cause::Delay);
                }
                Err(spare) => st.free.push(spare),
            }
        }
    }

    fn adapt(&self, adapter: &mut Adapter, now: u64, items: usize, senders: usize) {
        let threshold = adapter.observe(now, items, senders);
        if self.hot.threshold.load(Relaxed) != threshold {
            self.hot.threshold.store(threshold, Relaxed);
        }
    }

    /// A buffer for a slot whose batch is being taken: a recycled one, or a new one sized for
    /// the current threshold (so pushes do not regrow it).
    fn spare(&self, st: &mut State<T>) -> Vec<T> {
        st.free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.hot.threshold.load(Relaxed)))
    }

    fn keep_free(&self, st: &mut State<T>, buf: Vec<T>) {
        debug_assert!(buf.is_empty());
        if buf.capacity() > 0 && !st.rx_closed && st.free.len() < st.slots.len() + 4 {
            st.free.push(buf);
        }
    }

    /// Returns an emptied batch buffer for reuse.
    pub(crate) fn recycle(&self, buf: Vec<T>) {
        if buf.capacity() > 0 {
            let mut st = self.state.lock();
            self.keep_free(&mut st, buf);
        }
    }

    /// The receiver is gone: drop everything queued or held, wake blocked senders.
    pub(crate) fn close_rx(&self) {
        let mut st = self.state.lock();
        st.rx_closed = true;
        self.hot.rx_closed.store(true, Relaxed);
        self.hot.rx_waiting.store(false, Relaxed);
        let queued = mem::take(&mut st.queue);
        st.queued = 0;
        request_every_slot(&st);
        let held: Vec<Vec<T>> = st
            .slots
            .iter()
            // SAFETY: `request_every_slot` just above, and we hold the state mutex.
            .map(|s| unsafe { s.take_requested(Vec::new()) })
            .collect();
        let waiters = mem::take(&mut st.space_waiters);
        let free = mem::take(&mut st.free);
        st.rx_waker = None;
        drop(st);
        drop((queued, held, free));
        waiters.into_iter().for_each(Waker::wake);
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> Stats {
        let mut stats = self.state.lock().stats;
        stats.threshold = self.hot.threshold.load(Relaxed);
        stats
    }

    /// The batch threshold now in force.
    pub(crate) fn threshold(&self) -> usize {
        self.hot.threshold.load(Relaxed)
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(w) = waker {
        w.wake();
    }
}
