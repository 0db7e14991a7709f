//! The LIFO slot: the one task a worker runs next (the task it woke or spawned last).
//!
//! An atomic pointer rather than a plain cell, so that a thread other than the owner can empty it:
//! shutdown takes the task out of the slot of a worker that is stuck in a long poll (it would
//! otherwise be dropped only when that poll ends). The owner pays one atomic swap per use.

use std::ptr::{self, NonNull};
use std::sync::atomic::{
    AtomicPtr,
    Ordering::{AcqRel, Relaxed},
};

use crate::task::Runnable;

#[derive(Default)]
pub(crate) struct LifoSlot(AtomicPtr<()>);

impl LifoSlot {
    /// Puts `task` in the slot and returns what was there.
    pub(crate) fn replace(&self, task: Runnable) -> Option<Runnable> {
        let old = self.0.swap(task.into_raw().as_ptr(), AcqRel);
        // SAFETY: every non-null pointer in the slot came from `Runnable::into_raw` and is taken
        // out (by this swap or `take`) exactly once.
        NonNull::new(old).map(|p| unsafe { Runnable::from_raw(p) })
    }

    /// Empties the slot. Owner only (see `steal` for anyone else).
    pub(crate) fn take(&self) -> Option<Runnable> {
        // Only the owner ever fills the slot, so an empty slot stays empty until the owner fills
        // it: the owner can skip the (comparatively costly) swap when it sees it empty.
        if self.0.load(Relaxed).is_null() {
            return None;
        }
        self.steal()
    }

    /// Empties the slot from any thread (shutdown), without the owner's shortcut.
    pub(crate) fn steal(&self) -> Option<Runnable> {
        let old = self.0.swap(ptr::null_mut(), AcqRel);
        // SAFETY: as in `replace`.
        NonNull::new(old).map(|p| unsafe { Runnable::from_raw(p) })
    }
}

impl Drop for LifoSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_hands_each_task_out_once() {
        let slot = LifoSlot::default();
        let (r1, t1) = async_task::Builder::new()
            .metadata(crate::task::TaskMeta::for_tests(
                crate::task::TaskMeta::PLAIN,
            ))
            .spawn(|_| async { 1 }, |_| {});
        let (r2, _t2) = async_task::Builder::new()
            .metadata(crate::task::TaskMeta::for_tests(
                crate::task::TaskMeta::PLAIN,
            ))
            .spawn(|_| async { 2 }, |_| {});
        assert!(slot.replace(r1).is_none());
        let back = slot.replace(r2).expect("the first task comes back");
        assert!(back.run() || t1.is_finished());
        assert!(slot.take().is_some());
        assert!(slot.take().is_none());
    }
}
