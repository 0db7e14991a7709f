//! The registry of live tasks: one waker per task, so that a runtime being dropped can reach
//! tasks that sit in no queue (waiting on a channel, a timer, or `pending()`) and drop them.
//!
//! It is sharded (one shard per worker plus one for spawns from outside) so that spawning and
//! completing tasks on different workers rarely meet on the same lock. A task inserts its waker
//! when it is spawned and removes it when its future is dropped (completion, cancellation or
//! shutdown). Shutdown closes every shard (no later insert succeeds), takes the wakers out and
//! wakes them: the schedule function of a closed runtime drops the runnable, which drops the
//! future exactly once.

use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use crossbeam_utils::CachePadded;
use slab::Slab;

#[derive(Default)]
struct Shard {
    closed: bool,
    wakers: Slab<Waker>,
}

pub(crate) struct Registry {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

/// A reserved, not yet filled, registry slot; the shard stays locked while it lives.
pub(crate) struct Reservation<'a> {
    guard: MutexGuard<'a, Shard>,
    shard: usize,
}

/// Where a task is registered: its shard and its key there. A pooled carrier keeps only this
/// (8 bytes); the pool removes it through the runtime's registry when it frees the carrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    key: u32,
    shard: u16,
}

impl Slot {
    /// The slot's shard and key, for a carrier to store in 6 bytes.
    pub(crate) fn into_parts(self) -> (u16, u32) {
        (self.shard, self.key)
    }

    pub(crate) fn from_parts(shard: u16, key: u32) -> Slot {
        Slot { key, shard }
    }
}

/// A task's registry entry, removed when the task's future is dropped.
pub(crate) struct Entry {
    registry: std::ptr::NonNull<Registry>,
    slot: Slot,
}

// SAFETY: an `Entry` only carries a pointer to a `Registry`, which is `Sync` (its state is behind
// mutexes), plus two integers; using it from another thread is the same as sharing `&Registry`.
unsafe impl Send for Entry {}

/// Most shards a registry has; shard indices past it share shards (see [`Registry::reserve`]).
const MAX_SHARDS: usize = 1 << 16;

impl Registry {
    pub(crate) fn new(shards: usize) -> Registry {
        Registry {
            shards: (0..shards.clamp(1, MAX_SHARDS))
                .map(|_| CachePadded::new(Mutex::new(Shard::default())))
                .collect(),
        }
    }

    pub(crate) fn num_shards(&self) -> usize {
        self.shards.len()
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // No user code runs under these locks, so poisoning can only come from an allocation
        // failure; the data is still consistent.
        self.shards[shard].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks shard `shard` (modulo the number of shards: a registry has at most 65536) and
    /// reserves a slot, or `None` if the runtime is shut down.
    pub(crate) fn reserve(&self, shard: usize) -> Option<Reservation<'_>> {
        let shard = shard % self.shards.len();
        let guard = self.lock(shard);
        if guard.closed {
            return None;
        }
        Some(Reservation { guard, shard })
    }

    /// Closes every shard and returns the wakers of every task still registered.
    pub(crate) fn close_and_drain(&self) -> Vec<Waker> {
        let mut all = Vec::new();
        for shard in 0..self.shards.len() {
            let mut guard = self.lock(shard);
            guard.closed = true;
            all.extend(guard.wakers.drain());
        }
        all
    }

    /// Removes the task registered at `slot`. After shutdown drained the shard the key is vacant
    /// (nothing is inserted into a closed shard), so this is then a no-op rather than the removal
    /// of another task's waker.
    pub(crate) fn remove(&self, slot: Slot) {
        self.lock(slot.shard as usize)
            .wakers
            .try_remove(slot.key as usize);
    }

    /// Number of tasks registered right now (tests and metrics).
    pub(crate) fn live_tasks(&self) -> usize {
        (0..self.shards.len())
            .map(|s| self.lock(s).wakers.len())
            .sum()
    }
}

impl Reservation<'_> {
    /// The slot the task will occupy; valid once [`fill`](Self::fill) has run.
    pub(crate) fn slot(&mut self) -> Slot {
        Slot {
            key: self.guard.wakers.vacant_key() as u32,
            // `reserve` took the shard modulo the shard count, which is at most 65536.
            shard: self.shard as u16,
        }
    }

    /// The entry the task will hold; valid once [`fill`](Self::fill) has run.
    pub(crate) fn entry(&mut self, registry: &Registry) -> Entry {
        Entry {
            registry: std::ptr::NonNull::from(registry),
            slot: self.slot(),
        }
    }

    pub(crate) fn fill(mut self, waker: Waker) {
        self.guard.wakers.insert(waker);
    }
}

impl Entry {
    pub(crate) fn remove(self) {
        // SAFETY: the registry lives in the runtime's shared state, which the task's schedule
        // function keeps alive (it holds an `Arc` to it). async-task drops a task's future before
        // it drops the schedule function, and this entry lives inside that future, so the
        // registry outlives every `Entry`.
        let registry = unsafe { self.registry.as_ref() };
        registry.remove(self.slot);
    }
}
