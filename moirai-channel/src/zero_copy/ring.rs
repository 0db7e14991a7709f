//! The lock-free core: a Vyukov-style bounded MPMC ring with one sequence stamp per slot.
//!
//! Positions grow forever (wrapping at `usize::MAX`); slot `pos & mask` serves position `pos`.
//! A slot's stamp says what the slot is ready for:
//!
//! * `stamp == 2 * pos`: free for the sender of position `pos`;
//! * `stamp == 2 * pos + 1`: holds the message of position `pos`, ready for a receiver;
//! * after the receiver is done it stores `2 * (pos + capacity)`, freeing the slot for the next
//!   lap.
//!
//! (Stamps count in steps of two so that "published for `pos`" and "free for `pos + 1`" differ
//! even with a capacity of one.)
//!
//! Claiming a position is a CAS on `tail` (senders) or `head` (receivers); the stamp store with
//! `Release` publishes the slot contents, and the `Acquire` stamp load of the next owner makes
//! them visible. `tail` also carries the *closed* mark in its lowest bit, so closing and
//! reserving are ordered by one atomic: a receiver that sees the mark with `tail == head` knows
//! that nothing more can ever arrive.
//!
//! Slots always hold an initialised `T` (the recycled element between uses); the ring never
//! moves values in or out itself, the channel layer does that through [`Ring::with_value`].

use crossbeam_utils::CachePadded;

use crate::sync::{spin_hint, AtomicUsize, Ordering, UnsafeCell};

/// Lowest bit of `tail`: the channel is closed.
const CLOSED: usize = 1;
/// `tail` counts positions in steps of two, keeping the lowest bit for [`CLOSED`].
const STEP: usize = 2;

/// The stamp of a slot free for the sender of `pos`.
#[inline]
fn free_stamp(pos: usize) -> usize {
    pos.wrapping_mul(2)
}

/// The stamp of a slot holding the published message of `pos`.
#[inline]
fn full_stamp(pos: usize) -> usize {
    pos.wrapping_mul(2).wrapping_add(1)
}

/// Why a `try_reserve`/`try_claim` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryError {
    /// Full (for senders) or empty (for receivers): waiting may help.
    WouldBlock,
    /// Closed (and, for receivers, drained).
    Closed,
}

struct Slot<T> {
    stamp: AtomicUsize,
    /// Set by a sender that publishes the slot without a message (an abandoned reservation);
    /// receivers skip such slots. Guarded by the stamp protocol, like `value`.
    skip: UnsafeCell<bool>,
    value: UnsafeCell<T>,
}

/// The bounded ring. See the module docs for the protocol.
pub(crate) struct Ring<T> {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    mask: usize,
}

// SAFETY: slot contents are only accessed by the single thread that owns the slot's position
// (claimed through a CAS on head/tail and handed over through the Release/Acquire stamp), so
// sharing the ring between threads only moves `T`s between threads: `T: Send` is enough.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: see above.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `capacity` slots (a power of two), each initialised with `init()`.
    pub(crate) fn new(capacity: usize, mut init: impl FnMut() -> T) -> Self {
        assert!(capacity.is_power_of_two());
        let slots = (0..capacity)
            .map(|i| Slot {
                stamp: AtomicUsize::new(free_stamp(i)),
                skip: UnsafeCell::new(false),
                value: UnsafeCell::new(init()),
            })
            .collect();
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            mask: capacity - 1,
        }
    }

    #[inline]
    fn slot(&self, pos: usize) -> &Slot<T> {
        // `mask` keeps the index in bounds.
        &self.slots[pos & self.mask]
    }

    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Reserves the next position for a sender. The caller must eventually [`publish`] it.
    ///
    /// [`publish`]: Ring::publish
    #[inline]
    pub(crate) fn try_reserve(&self) -> Result<usize, TryError> {
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Err(TryError::Closed);
            }
            let pos = tail / STEP;
            let stamp = self.slot(pos).stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(free_stamp(pos)) as isize;
            if diff == 0 {
                match self.tail.compare_exchange_weak(
                    tail,
                    tail.wrapping_add(STEP),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(pos),
                    Err(now) => tail = now,
                }
            } else if diff < 0 {
                // The slot still serves the previous lap: full, unless our `tail` is stale.
                let now = self.tail.load(Ordering::Relaxed);
                if now == tail {
                    return Err(TryError::WouldBlock);
                }
                tail = now;
            } else {
                // Someone else already took `pos`.
                spin_hint();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Like [`try_reserve`](Ring::try_reserve), but only when at least `room` slots (clamped to
    /// the capacity) are free: `WouldBlock` otherwise, even if fewer are.
    ///
    /// For a sender that has just found the ring full: reserving each slot the moment the
    /// receiver frees it makes both sides write the same cache lines in lockstep; waiting for a
    /// gap lets the receiver drain whole lines undisturbed.
    #[inline]
    pub(crate) fn try_reserve_with_room(&self, room: usize) -> Result<usize, TryError> {
        let room = room.clamp(1, self.capacity());
        let tail = self.tail.load(Ordering::Relaxed);
        if tail & CLOSED != 0 {
            return Err(TryError::Closed);
        }
        let last = (tail / STEP).wrapping_add(room - 1);
        let stamp = self.slot(last).stamp.load(Ordering::Relaxed);
        if (stamp.wrapping_sub(free_stamp(last)) as isize) < 0 {
            // The receiver has not yet freed the slot `room - 1` places ahead.
            return Err(TryError::WouldBlock);
        }
        self.try_reserve()
    }

    /// Claims the next position for a receiver. The caller must eventually [`release`] it.
    ///
    /// [`release`]: Ring::release
    #[inline]
    pub(crate) fn try_claim(&self) -> Result<usize, TryError> {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let stamp = self.slot(head).stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(full_stamp(head)) as isize;
            if diff == 0 {
                match self.head.compare_exchange_weak(
                    head,
                    head.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(head),
                    Err(now) => head = now,
                }
            } else if diff < 0 {
                // Nothing published at `head` yet.
                let tail = self.tail.load(Ordering::SeqCst);
                if tail / STEP == head {
                    // Nothing reserved either: empty, or closed and drained for good.
                    return Err(if tail & CLOSED != 0 {
                        TryError::Closed
                    } else {
                        TryError::WouldBlock
                    });
                }
                // A sender reserved `head` but has not published it yet (or `head` is stale).
                let now = self.head.load(Ordering::Relaxed);
                if now == head {
                    return Err(TryError::WouldBlock);
                }
                head = now;
            } else {
                // Someone else already took `head`.
                spin_hint();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Calls `f` with a pointer to the value of the slot serving `pos`.
    ///
    /// The pointer may only be dereferenced by the owner of `pos` (between `try_reserve` and
    /// `publish`, or between `try_claim` and `release`).
    #[inline]
    pub(crate) fn with_value<R>(&self, pos: usize, f: impl FnOnce(*mut T) -> R) -> R {
        self.slot(pos).value.with_mut(f)
    }

    /// Publishes a reserved position to receivers; `skip` marks it as carrying no message.
    #[inline]
    pub(crate) fn publish(&self, pos: usize, skip: bool) {
        let slot = self.slot(pos);
        if skip {
            // SAFETY: the caller owns `pos` (reserved, not yet published), so nobody else
            // accesses the slot's `skip` flag until the Release store below hands it over.
            slot.skip.with_mut(|p| unsafe { *p = true });
        }
        slot.stamp.store(full_stamp(pos), Ordering::Release);
    }

    /// For the owner of a claimed position: whether the sender abandoned it (clearing the mark).
    #[inline]
    pub(crate) fn take_skip(&self, pos: usize) -> bool {
        // SAFETY: the caller owns the claimed `pos`; the sender's writes to `skip` happened
        // before its Release stamp store, which the claim's Acquire load synchronised with.
        self.slot(pos)
            .skip
            .with_mut(|p| unsafe { core::mem::replace(&mut *p, false) })
    }

    /// Frees a claimed position for the sender of the next lap.
    #[inline]
    pub(crate) fn release(&self, pos: usize) {
        self.slot(pos).stamp.store(
            free_stamp(pos.wrapping_add(self.capacity())),
            Ordering::Release,
        );
    }

    /// Marks the ring closed. Returns `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        self.tail.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// Positions reserved by senders so far (messages sent, counting ones still being written).
    pub(crate) fn reserved(&self) -> usize {
        self.tail.load(Ordering::SeqCst) / STEP
    }

    /// Positions claimed by receivers so far.
    pub(crate) fn claimed(&self) -> usize {
        self.head.load(Ordering::SeqCst)
    }

    /// Messages in the ring (including ones being written or read right now).
    pub(crate) fn len(&self) -> usize {
        let head = self.claimed();
        let tail = self.reserved();
        tail.wrapping_sub(head).min(self.capacity())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn put(ring: &Ring<u32>, v: u32) -> Result<(), TryError> {
        let pos = ring.try_reserve()?;
        // SAFETY: we own `pos` until publish.
        ring.with_value(pos, |p| unsafe { *p = v });
        ring.publish(pos, false);
        Ok(())
    }

    fn take(ring: &Ring<u32>) -> Result<u32, TryError> {
        let pos = ring.try_claim()?;
        assert!(!ring.take_skip(pos));
        // SAFETY: we own `pos` until release.
        let v = ring.with_value(pos, |p| unsafe { *p });
        ring.release(pos);
        Ok(v)
    }

    #[test]
    fn fifo_full_empty_and_wraparound() {
        let ring = Ring::new(4, || 0u32);
        assert_eq!(take(&ring), Err(TryError::WouldBlock));
        for lap in 0..5 {
            for i in 0..4 {
                put(&ring, lap * 10 + i).unwrap();
            }
            assert_eq!(put(&ring, 99), Err(TryError::WouldBlock));
            assert_eq!(ring.len(), 4);
            for i in 0..4 {
                assert_eq!(take(&ring), Ok(lap * 10 + i));
            }
            assert_eq!(take(&ring), Err(TryError::WouldBlock));
        }
    }

    #[test]
    fn pending_reservation_blocks_receivers_in_order() {
        let ring = Ring::new(4, || 0u32);
        let pending = ring.try_reserve().unwrap();
        put(&ring, 7).unwrap();
        assert_eq!(take(&ring), Err(TryError::WouldBlock));
        ring.publish(pending, true);
        let pos = ring.try_claim().unwrap();
        assert!(ring.take_skip(pos));
        ring.release(pos);
        assert_eq!(take(&ring), Ok(7));
    }

    #[test]
    fn reserve_with_room_waits_for_the_gap() {
        let ring = Ring::new(8, || 0u32);
        for i in 0..8 {
            put(&ring, i).unwrap();
        }
        assert_eq!(take(&ring), Ok(0));
        // One slot is free: enough for a plain reservation, not for a gap of two.
        assert_eq!(ring.try_reserve_with_room(2), Err(TryError::WouldBlock));
        assert_eq!(take(&ring), Ok(1));
        let pos = ring.try_reserve_with_room(2).unwrap();
        assert_eq!(pos, 8);
        ring.publish(pos, false);
        // A gap larger than the ring means "all of it"; an empty ring always qualifies.
        while take(&ring).is_ok() {}
        assert_eq!(ring.try_reserve_with_room(100), Ok(9));
        ring.publish(9, true);
        ring.close();
        assert_eq!(ring.try_reserve_with_room(1), Err(TryError::Closed));
    }

    #[test]
    fn capacity_one_alternates_full_and_empty() {
        let ring = Ring::new(1, || 0u32);
        for i in 0..4 {
            put(&ring, i).unwrap();
            assert_eq!(put(&ring, 9), Err(TryError::WouldBlock));
            assert_eq!(take(&ring), Ok(i));
            assert_eq!(take(&ring), Err(TryError::WouldBlock));
        }
    }

    #[test]
    fn close_drains_then_reports_closed() {
        let ring = Ring::new(2, || 0u32);
        put(&ring, 1).unwrap();
        assert!(ring.close());
        assert!(!ring.close());
        assert_eq!(put(&ring, 2), Err(TryError::Closed));
        assert_eq!(take(&ring), Ok(1));
        assert_eq!(take(&ring), Err(TryError::Closed));
        assert_eq!((ring.reserved(), ring.claimed()), (1, 1));
    }

    #[test]
    fn close_with_reservation_in_flight_is_not_drained() {
        let ring = Ring::new(2, || 0u32);
        let pos = ring.try_reserve().unwrap();
        ring.close();
        assert_eq!(take(&ring), Err(TryError::WouldBlock));
        // SAFETY: we own `pos` until publish.
        ring.with_value(pos, |p| unsafe { *p = 5 });
        ring.publish(pos, false);
        assert_eq!(take(&ring), Ok(5));
        assert_eq!(take(&ring), Err(TryError::Closed));
    }
}
