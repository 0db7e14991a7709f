//! A worker's run queue: a fixed ring of [`CAP`] tasks that its owner pushes to and pops from
//! (FIFO), and that other workers steal half of at a time.
//!
//! # Why not `crossbeam_deque::Worker`
//!
//! It grows without bound and resizes (allocating, and retiring the old buffer through the epoch
//! collector) as it fills and drains, so a task spawning thousands of children allocated at
//! steady state even with pooled tasks; its steals also pin the epoch every time. A fixed ring
//! never allocates after start-up, and its fullness is exactly the overflow point the scheduler
//! wants (half the ring moves to the node injector).
//!
//! # Invariants
//!
//! * `tail` is written only by the owner. Slots `[real, tail)` hold tasks.
//! * `head` packs two indices, `steal` (high 32 bits) and `real` (low 32 bits). Normally they are
//!   equal. A thief claims `[real, real + n)` by moving `real` forward while leaving `steal`
//!   behind, copies those slots out, then moves `steal` up to `real`. While `steal != real` no
//!   other thief may start, and the owner does not push into slots at or after `steal + CAP`, so
//!   the slots being copied are never overwritten.
//! * Indices are `u32` and wrap; only differences are meaningful, and they never exceed `CAP`.
//!
//! The owner's `pop` and a thief's claim race on `head` with compare-and-swap; `loom` models of
//! push/pop/steal are at the bottom of this file.

use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU32, AtomicU64, Ordering::*, UnsafeCell};

/// Capacity of a worker's ring (a power of two). 1024 rather than tokio's 256: with 256, a
/// worker holding ~500 yielding tasks (the `yield_many` benchmark) kept pushing half its ring
/// through the node injector and ran 1.06x-1.18x tokio's time per yield; with 1024, 0.76x-0.82x.
/// It costs 8 KiB per worker.
#[cfg(not(loom))]
pub(crate) const CAP: usize = 1024;
#[cfg(loom)]
pub(crate) const CAP: usize = 4;
const MASK: u32 = CAP as u32 - 1;

fn pack(steal: u32, real: u32) -> u64 {
    ((steal as u64) << 32) | real as u64
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

pub(crate) struct LocalQueue<T> {
    head: CachePadded<AtomicU64>,
    tail: CachePadded<AtomicU32>,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: slots are handed between threads only through the head/tail protocol above: a slot is
// written by the owner before the Release store of `tail` that publishes it, and read by exactly
// one party (the owner's pop or a thief's claim, decided by a CAS on `head`). `T: Send` suffices.
unsafe impl<T: Send> Send for LocalQueue<T> {}
// SAFETY: as above; shared access is what the protocol is for.
unsafe impl<T: Send> Sync for LocalQueue<T> {}

impl<T> Default for LocalQueue<T> {
    fn default() -> Self {
        LocalQueue {
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU32::new(0)),
            slots: (0..CAP)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        }
    }
}

impl<T> LocalQueue<T> {
    /// Tasks in the queue (exact for the owner; a snapshot for anyone else).
    pub(crate) fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(SeqCst));
        self.tail.load(SeqCst).wrapping_sub(real) as usize
    }

    /// `SeqCst` loads: part of the park/notify Dekker pair (see `idle.rs`).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots, for the owner.
    pub(crate) fn room(&self) -> usize {
        let (steal, _) = unpack(self.head.load(Acquire));
        CAP - self.tail.load(Relaxed).wrapping_sub(steal) as usize
    }

    /// Writes `task` at the owner's `tail` without publishing it.
    ///
    /// # Safety
    /// Owner only, and the slot at `tail` must be free (`room() > 0`).
    unsafe fn write(&self, index: u32, task: T) {
        self.slots[(index & MASK) as usize].with_mut(|p| {
            // SAFETY: the caller owns this free slot.
            unsafe { p.write(MaybeUninit::new(task)) }
        });
    }

    /// # Safety
    /// The caller has exclusively claimed slot `index`, which holds a task.
    unsafe fn read(&self, index: u32) -> T {
        self.slots[(index & MASK) as usize].with(|p| {
            // SAFETY: as the caller guarantees; the task is moved out exactly once.
            unsafe { (*p).assume_init_read() }
        })
    }

    /// Owner: appends `task`, or gives it back if the ring is full.
    ///
    /// # Safety
    /// Only the queue's owner (one thread) may call `push`, `push_overflow` and `pop`.
    pub(crate) unsafe fn push(&self, task: T) -> Result<(), T> {
        let tail = self.tail.load(Relaxed);
        let (steal, _) = unpack(self.head.load(Acquire));
        if tail.wrapping_sub(steal) as usize >= CAP {
            return Err(task);
        }
        // SAFETY: owner (caller), and the slot is free: fewer than CAP slots are in use since `steal`.
        unsafe { self.write(tail, task) };
        self.tail.store(tail.wrapping_add(1), Release);
        Ok(())
    }

    /// Owner, on a full ring: takes the older half out (to go to an injector), or `None` while a
    /// thief is busy copying (the caller then sends only the new task elsewhere).
    ///
    /// # Safety
    /// As for [`push`](Self::push).
    pub(crate) unsafe fn take_half(&self) -> Option<impl Iterator<Item = T> + '_> {
        let head = self.head.load(Acquire);
        let (steal, real) = unpack(head);
        if steal != real {
            return None;
        }
        // Never claim past `tail`: with fewer than two tasks left there is no half to take (the
        // ring emptied since the caller found it full, because a thief finished meanwhile).
        let n = self.tail.load(Relaxed).wrapping_sub(real) / 2;
        if n == 0 || n as usize > CAP {
            return None;
        }
        let next = real.wrapping_add(n);
        self.head
            .compare_exchange(head, pack(next, next), AcqRel, Acquire)
            .ok()?;
        // SAFETY: the CAS gave us `[real, real + n)`, which hold tasks, exclusively.
        Some((0..n).map(move |i| unsafe { self.read(real.wrapping_add(i)) }))
    }

    /// Owner: the oldest task.
    ///
    /// # Safety
    /// As for [`push`](Self::push).
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        let mut head = self.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            if real == self.tail.load(Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match self.head.compare_exchange_weak(head, next, AcqRel, Acquire) {
                // SAFETY: the CAS gave us slot `real`, which holds a task (real != tail).
                Ok(_) => return Some(unsafe { self.read(real) }),
                Err(actual) => head = actual,
            }
        }
    }

    /// Thief: moves about half of this queue (at most `limit`, and no more than `dst` has room
    /// for) into `dst`, returning one of the tasks to run at once and how many were moved in all.
    ///
    /// # Safety
    /// The caller must be the owner of `dst` (and `dst` is not `self`).
    pub(crate) unsafe fn steal_into(&self, dst: &LocalQueue<T>, limit: usize) -> Option<(T, u64)> {
        let dst_tail = dst.tail.load(Relaxed);
        let room = dst.room();
        if room == 0 {
            return None;
        }
        // Claim [first, first + n).
        let mut head = self.head.load(Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(head);
            if steal != real {
                return None; // another thief is copying
            }
            let available = self.tail.load(Acquire).wrapping_sub(real);
            let n = (available - available / 2)
                .min(limit as u32)
                .min(room as u32);
            if n == 0 {
                return None;
            }
            match self.head.compare_exchange_weak(
                head,
                pack(steal, real.wrapping_add(n)),
                AcqRel,
                Acquire,
            ) {
                Ok(_) => break (real, n),
                Err(actual) => head = actual,
            }
        };
        // Copy them out; the last one is run at once, the others go to `dst`.
        for i in 0..n - 1 {
            // SAFETY: claimed above; `dst` is ours and has room for n - 1 more.
            unsafe { dst.write(dst_tail.wrapping_add(i), self.read(first.wrapping_add(i))) };
        }
        // SAFETY: claimed above.
        let task = unsafe { self.read(first.wrapping_add(n - 1)) };
        // Release the claim: `steal` catches up with `real` (which the owner may have moved on).
        let mut head = self.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            debug_assert_eq!(steal, first);
            match self
                .head
                .compare_exchange_weak(head, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        if n > 1 {
            dst.tail.store(dst_tail.wrapping_add(n - 1), Release);
        }
        Some((task, n as u64))
    }

    /// Anyone: takes one task (used to empty the queue of a stopped or stuck worker at shutdown).
    pub(crate) fn steal_one(&self) -> Option<T> {
        let mut head = self.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            if steal != real || real == self.tail.load(Acquire) {
                return None;
            }
            let next = real.wrapping_add(1);
            match self
                .head
                .compare_exchange_weak(head, pack(next, next), AcqRel, Acquire)
            {
                // SAFETY: the CAS gave us slot `real`, which holds a task.
                Ok(_) => return Some(unsafe { self.read(real) }),
                Err(actual) => head = actual,
            }
        }
    }
}

impl<T> Drop for LocalQueue<T> {
    fn drop(&mut self) {
        // Nobody else can reach the queue now; normally the scheduler has already emptied it.
        while let Some(t) = self.steal_one() {
            drop(t);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_for_the_owner() {
        let q = LocalQueue::default();
        // SAFETY (all calls below): this test thread is the queue's only owner.
        unsafe {
            for i in 0..10 {
                q.push(i).unwrap();
            }
            assert_eq!(q.len(), 10);
            assert_eq!(
                (0..10).map(|_| q.pop().unwrap()).collect::<Vec<_>>(),
                (0..10).collect::<Vec<_>>()
            );
            assert_eq!(q.pop(), None);
        }
    }

    #[test]
    fn full_ring_refuses_and_gives_half_away() {
        let q = LocalQueue::default();
        // SAFETY: single owner.
        unsafe {
            for i in 0..CAP {
                q.push(i).unwrap();
            }
            assert_eq!(q.push(CAP), Err(CAP));
            let half: Vec<usize> = q.take_half().unwrap().collect();
            assert_eq!(half, (0..CAP / 2).collect::<Vec<_>>());
            assert_eq!(q.len(), CAP / 2);
            q.push(CAP).unwrap();
            assert_eq!(q.pop(), Some(CAP / 2));
        }
    }

    #[test]
    fn take_half_never_claims_past_the_tail() {
        // Regression: an overflow that found the ring drained meanwhile (a thief finished) once
        // claimed a slot past `tail` and handed out a stale task a second time.
        let q = LocalQueue::default();
        // SAFETY: single owner.
        unsafe {
            assert!(q.take_half().is_none(), "empty ring");
            q.push(1).unwrap();
            assert!(q.take_half().is_none(), "a single task is no half");
            assert_eq!(q.pop(), Some(1));
            assert_eq!(q.pop(), None);
            assert_eq!(q.len(), 0);
        }
    }

    #[test]
    fn steal_takes_half_and_indices_wrap() {
        let a = LocalQueue::default();
        let b = LocalQueue::default();
        // SAFETY: this thread owns both queues.
        unsafe {
            // Push and pop enough to wrap u32 indices' low bits many times over.
            for round in 0..3 * CAP {
                a.push(round).unwrap();
                assert_eq!(a.pop(), Some(round));
            }
            for i in 0..10 {
                a.push(i).unwrap();
            }
            let (t, n) = a.steal_into(&b, 64).unwrap();
            assert_eq!(n, 5);
            assert_eq!(t, 4);
            assert_eq!(b.len(), 4);
            assert_eq!(
                (0..4).map(|_| b.pop().unwrap()).collect::<Vec<_>>(),
                vec![0, 1, 2, 3]
            );
            assert_eq!(a.pop(), Some(5));
            assert_eq!(a.steal_one(), Some(6));
        }
    }

    #[test]
    fn dropping_the_queue_drops_its_tasks_once() {
        use std::sync::Arc;
        let token = Arc::new(());
        let q = LocalQueue::default();
        // SAFETY: single owner.
        unsafe {
            for _ in 0..7 {
                q.push(token.clone()).unwrap();
            }
        }
        drop(q);
        assert_eq!(Arc::strong_count(&token), 1);
    }

    #[test]
    fn concurrent_steals_lose_and_duplicate_nothing() {
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        use std::sync::Arc;
        const N: usize = 100_000;
        let victim = Arc::new(LocalQueue::default());
        let seen = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
        let done = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (victim, seen, done) = (victim.clone(), seen.clone(), done.clone());
                std::thread::spawn(move || {
                    let mine: LocalQueue<usize> = LocalQueue::default();
                    loop {
                        // SAFETY: `mine` is owned by this thread.
                        if let Some((t, _)) = unsafe { victim.steal_into(&mine, 32) } {
                            seen[t].fetch_add(1, SeqCst);
                            while let Some(t) = unsafe { mine.pop() } {
                                seen[t].fetch_add(1, SeqCst);
                            }
                        } else if done.load(SeqCst) && victim.is_empty() {
                            return;
                        }
                    }
                })
            })
            .collect();
        let mut i = 0;
        while i < N {
            // SAFETY: this thread owns `victim`.
            match unsafe { victim.push(i) } {
                Ok(()) => i += 1,
                Err(_) => {
                    if let Some(t) = unsafe { victim.pop() } {
                        seen[t].fetch_add(1, SeqCst);
                    }
                }
            }
        }
        while let Some(t) = unsafe { victim.pop() } {
            seen[t].fetch_add(1, SeqCst);
        }
        done.store(true, SeqCst);
        for t in thieves {
            t.join().unwrap();
        }
        assert!(
            seen.iter().all(|c| c.load(SeqCst) == 1),
            "every task exactly once"
        );
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// A thief's turn: one steal into a queue of its own, then everything it got.
    fn steal_once(victim: &LocalQueue<usize>, limit: usize) -> Vec<usize> {
        let mine = LocalQueue::default();
        let mut got = Vec::new();
        // SAFETY: `mine` is owned by this thread.
        if let Some((t, _)) = unsafe { victim.steal_into(&mine, limit) } {
            got.push(t);
            while let Some(t) = unsafe { mine.pop() } {
                got.push(t);
            }
        }
        got
    }

    /// The owner pushes and pops while a thief steals: every task comes out exactly once.
    #[test]
    fn owner_and_thief_share_without_loss_or_duplication() {
        loom::model(|| {
            let victim = Arc::new(LocalQueue::default());
            let thief = {
                let victim = victim.clone();
                loom::thread::spawn(move || steal_once(&victim, 4))
            };
            let mut got = Vec::new();
            // SAFETY: this thread owns `victim`.
            unsafe {
                victim.push(1).unwrap();
                victim.push(2).unwrap();
                victim.push(3).unwrap();
                if let Some(t) = victim.pop() {
                    got.push(t);
                }
                victim.push(4).unwrap();
                while let Some(t) = victim.pop() {
                    got.push(t);
                }
            }
            got.extend(thief.join().unwrap());
            got.sort();
            assert_eq!(got, vec![1, 2, 3, 4]);
        });
    }

    /// A thief copies out of a full ring while the owner pushes: the owner must not reuse a slot
    /// that is still being copied.
    #[test]
    fn owner_push_never_overwrites_a_slot_being_stolen() {
        loom::model(|| {
            let victim = Arc::new(LocalQueue::default());
            // SAFETY: this thread owns `victim`.
            unsafe {
                for i in 0..CAP {
                    victim.push(i).unwrap();
                }
            }
            let thief = {
                let victim = victim.clone();
                loom::thread::spawn(move || steal_once(&victim, CAP))
            };
            let mut got = Vec::new();
            // SAFETY: this thread owns `victim`.
            unsafe {
                if let Err(t) = victim.push(CAP) {
                    got.push(t);
                }
                while let Some(t) = victim.pop() {
                    got.push(t);
                }
            }
            got.extend(thief.join().unwrap());
            while let Some(t) = victim.steal_one() {
                got.push(t);
            }
            got.sort();
            assert_eq!(got, (0..=CAP).collect::<Vec<_>>());
        });
    }

    /// Two thieves race for the same queue; the owner overflows half while they do.
    #[test]
    fn two_thieves_and_an_overflowing_owner() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b.check(|| {
            let victim = Arc::new(LocalQueue::default());
            // SAFETY: this thread owns `victim`.
            unsafe {
                for i in 0..CAP {
                    victim.push(i).unwrap();
                }
            }
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let victim = victim.clone();
                    loom::thread::spawn(move || steal_once(&victim, 4))
                })
                .collect();
            let mut got: Vec<usize> = Vec::new();
            // SAFETY: this thread owns `victim`.
            unsafe {
                if victim.push(CAP).is_err() {
                    if let Some(half) = victim.take_half() {
                        got.extend(half);
                    }
                    got.push(CAP);
                }
                while let Some(t) = victim.pop() {
                    got.push(t);
                }
            }
            for t in thieves {
                got.extend(t.join().unwrap());
            }
            while let Some(t) = victim.steal_one() {
                got.push(t);
            }
            got.sort();
            assert_eq!(got, (0..=CAP).collect::<Vec<_>>());
        });
    }
}
