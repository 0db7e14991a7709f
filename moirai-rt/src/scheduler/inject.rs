//! The injection queues (one per node, one global): FIFO queues that any thread may push to and
//! any worker may take a batch from.
//!
//! A mutex around a `VecDeque` rather than `crossbeam_deque::Injector`: the injector allocates a
//! block for every 63 tasks pushed, which made overflowing deques (a task spawning 100k children)
//! allocate at steady state, while a `VecDeque` keeps its capacity. Every operation that matters is
//! a batch (an overflow moves half a deque, a steal takes up to [`STEAL_BATCH`](super::STEAL_BATCH)),
//! so the lock is taken once per batch. `len` mirrors the queue's length outside the lock so that
//! emptiness checks on the search path (and the re-check before parking) take no lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::local_queue::LocalQueue;

use crate::task::Runnable;

#[derive(Default)]
pub(crate) struct Inject {
    queue: Mutex<VecDeque<Runnable>>,
    len: AtomicUsize,
}

impl Inject {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Runnable>> {
        // No user code runs under this lock (dropping runnables happens after it is released).
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `SeqCst`: this load is one half of the park/notify Dekker pair (see `idle.rs`).
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::SeqCst) == 0
    }

    pub(crate) fn push(&self, task: Runnable) {
        let mut q = self.lock();
        q.push_back(task);
        self.len.store(q.len(), Ordering::SeqCst);
    }

    pub(crate) fn push_batch(&self, tasks: impl Iterator<Item = Runnable>) {
        let mut q = self.lock();
        q.extend(tasks);
        self.len.store(q.len(), Ordering::SeqCst);
    }

    /// Takes up to `limit` tasks: the first is returned, the rest go to `into` (as many as it has
    /// room for). Returns how many were taken in all.
    ///
    /// # Safety
    /// The caller must be the owner of `into`.
    pub(crate) unsafe fn pop_batch(
        &self,
        into: &LocalQueue<Runnable>,
        limit: usize,
    ) -> Option<(Runnable, u64)> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.lock();
        let first = q.pop_front()?;
        let extra = (limit.max(1) - 1).min(q.len()).min(into.room());
        for _ in 0..extra {
            let Some(t) = q.pop_front() else { break };
            // SAFETY: the caller owns `into`, which has room for `extra` tasks.
            if let Err(t) = unsafe { into.push(t) } {
                // Cannot happen (we checked the room); keep the task rather than lose it.
                q.push_front(t);
                break;
            }
        }
        self.len.store(q.len(), Ordering::SeqCst);
        Some((first, extra as u64 + 1))
    }

    /// Empties the queue, returning what it held (dropped by the caller, outside the lock).
    pub(crate) fn take_all(&self) -> VecDeque<Runnable> {
        let mut q = self.lock();
        self.len.store(0, Ordering::SeqCst);
        std::mem::take(&mut *q)
    }
}
