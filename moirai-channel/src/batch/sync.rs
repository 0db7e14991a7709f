//! Synchronisation shim for the batch channel.
//!
//! Everything the publish/pickup and wake protocols touch comes from here, so that the loom
//! model (`--cfg loom`) explores the very code the channel runs. Under `cfg(loom)` the atomics,
//! `Arc`, `Mutex` and `UnsafeCell` are loom's; otherwise they are std's.
//!
//! [`SpinLock`] guards a sender's partial batch. The sender takes it once per message (one
//! atomic swap plus a plain release store), the receiver only when it picks up partial batches;
//! critical sections never await and never allocate more than a `Vec::push` does.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(not(loom))]
use std::sync::atomic::Ordering;

#[cfg(not(loom))]
use std::cell::UnsafeCell;

/// A mutex whose `lock` ignores poisoning: the channel's invariants hold between statements
/// that cannot panic, so a panic elsewhere while the lock is held leaves a consistent state.
pub(crate) struct Mutex<T>(
    #[cfg(loom)] loom::sync::Mutex<T>,
    #[cfg(not(loom))] std::sync::Mutex<T>,
);

#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        #[cfg(loom)]
        return Self(loom::sync::Mutex::new(value));
        #[cfg(not(loom))]
        return Self(std::sync::Mutex::new(value));
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A test-and-set lock with a closure API.
///
/// Under loom it is a loom `Mutex` instead: loom explores every stale read of a spinning load,
/// which makes spin loops explode its state space, while what the channel's protocol relies on
/// (mutual exclusion with acquire/release ordering) is the same. The test-and-set lock itself is
/// checked by the tests below, also under miri.
#[cfg(not(loom))]
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one thread at a time (see `with`), so sharing the
// lock between threads only ever moves access to `T` across threads, which needs `T: Send`.
#[cfg(not(loom))]
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: sending the lock sends the `T` it owns.
#[cfg(not(loom))]
unsafe impl<T: Send> Send for SpinLock<T> {}

#[cfg(not(loom))]
impl<T> SpinLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with exclusive access to the value.
    ///
    /// `f` must not call `with` on the same lock (it would spin forever); no caller does.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut spins = 0u32;
        while self.locked.swap(true, Ordering::Acquire) {
            while self.locked.load(Ordering::Relaxed) {
                spins = spins.wrapping_add(1);
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        // Releases the lock even if `f` panics, so a panicking `Drop` of a message cannot
        // leave the slot locked forever.
        struct Unlock<'a>(&'a AtomicBool);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _unlock = Unlock(&self.locked);
        // SAFETY: the swap above returned `false`, so this thread set `locked` and owns the
        // value until `_unlock` stores `false`; the Acquire swap / Release store pair orders
        // every previous owner's accesses before ours. No other reference to the value exists
        // (the cell is private and `with` is the only accessor), and `f` cannot re-enter.
        f(unsafe { &mut *self.value.get() })
    }
}

/// Loom stand-in for the test-and-set lock (see above).
#[cfg(loom)]
pub(crate) struct SpinLock<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> SpinLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn spin_lock_is_exclusive() {
        let lock = Arc::new(SpinLock::new(0u64));
        let per_thread = if cfg!(miri) { 50 } else { 20_000 };
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..per_thread {
                        lock.with(|v| *v += 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(lock.with(|v| *v), 3 * per_thread);
    }

    #[test]
    fn spin_lock_unlocks_after_panic() {
        let lock = SpinLock::new(vec![1]);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock.with(|_| panic!("boom"));
        }));
        assert!(caught.is_err());
        assert_eq!(lock.with(|v| v.len()), 1);
    }
}
