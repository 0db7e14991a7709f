//! Synchronisation shim for the batch channel.
//!
//! Everything the publish/pickup and wake protocols touch comes from here, so that the loom
//! model (`--cfg loom`) explores the very code the channel runs. Under `cfg(loom)` the atomics,
//! `Arc`, `Mutex` and `UnsafeCell` are loom's, otherwise std's; all but the mutex come from the
//! crate-wide shim [`crate::sync`].
//!
//! [`OwnerLock`] guards a sender's partial batch. The sender takes it once per message with
//! plain stores and loads (no atomic read-modify-write, no fence: see [`crate::barrier`]), the
//! receiver only when it picks up partial batches; critical sections never await and never
//! allocate more than a `Vec::push` does.

// Atomics, `Arc` and the cell come from the crate's shim (std's, or loom's under loom); the
// mutex and the slot lock below are the batch channel's own.
pub(crate) use crate::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize};
use crate::sync::{Ordering, UnsafeCell};

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

/// A lock for a value that one thread (the *owner*, a sender) uses all the time and another
/// (the *remote*, the receiver) only now and then: the owner's lock is two plain stores and a
/// load, with no atomic read-modify-write and no fence; the remote pays for both with a
/// [`heavy`](crate::barrier::heavy) barrier.
///
/// The protocol is Dekker's with an asymmetric barrier:
///
/// * owner: `owner_in = true`; [`light`](crate::barrier::light); if `remote_wants` is set, step
///   aside (`owner_in = false`, wait until it clears) and retry; else use the value; then
///   `owner_in = false` (release).
/// * remote ([`request`](Self::request), then [`with_requested`](Self::with_requested)):
///   `remote_wants = true`; `heavy`; wait until `owner_in` is false (acquire); use the value;
///   `remote_wants = false` (release).
///
/// The barriers guarantee that the owner's load of `remote_wants` and the remote's load of
/// `owner_in` cannot both miss the other side's store, so the two never hold the value at once.
/// Several remote requests can share one `heavy` (the receiver's idle scan locks every slot
/// with one system call). At most one remote may use a lock at a time — the channel's state
/// mutex serialises them — and only the owner may call [`with_owner`](Self::with_owner).
///
/// Under loom the fences are loom's and the spin loops yield to loom's scheduler, so loom checks
/// this very code in its own model (`loom_tests::owner_lock_excludes_owner_and_remote`, with the
/// symmetric fences: loom cannot model `membarrier`, whose guarantee is argued in
/// [`crate::barrier`]). The channel's own loom models use [`SlotLock`], which under loom is a
/// plain mutex with the same interface: the lock's spin loops multiply loom's state space past
/// its branch limit, while what the channel relies on — mutual exclusion with acquire/release
/// ordering — is the same.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) struct OwnerLock<T> {
    owner_in: AtomicBool,
    remote_wants: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock gives access to `T` to one thread at a time (see `with_owner` and
// `with_requested`), so sharing it only moves access to `T` across threads: `T: Send` suffices.
unsafe impl<T: Send> Sync for OwnerLock<T> {}
// SAFETY: sending the lock sends the `T` it owns.
unsafe impl<T: Send> Send for OwnerLock<T> {}

/// Spins a little, then yields the thread (under loom: always yields to loom's scheduler).
#[cfg_attr(loom, allow(dead_code))]
fn backoff(spins: &mut u32) {
    #[cfg(loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        *spins = spins.wrapping_add(1);
        if *spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Stores `false` into its flag when dropped, so that a panicking message `Drop` inside a
/// critical section cannot leave the lock held forever.
#[cfg_attr(loom, allow(dead_code))]
struct Clear<'a>(&'a AtomicBool);

impl Drop for Clear<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The lock of a sender's slot: [`OwnerLock`], or under loom a mutex stand-in (see there).
#[cfg(not(loom))]
pub(crate) type SlotLock<T> = OwnerLock<T>;
#[cfg(loom)]
pub(crate) type SlotLock<T> = MutexSlotLock<T>;

/// Loom stand-in for [`OwnerLock`] in the channel models, with the same interface.
#[cfg(loom)]
pub(crate) struct MutexSlotLock<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> MutexSlotLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn with_owner<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }

    pub(crate) fn request(&self) {}

    pub(crate) fn cancel_request(&self) {}

    /// # Safety
    /// None needed here; `unsafe` only to match [`OwnerLock::with_requested`].
    pub(crate) unsafe fn with_requested<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }

    pub(crate) fn with_remote<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

#[cfg_attr(loom, allow(dead_code))]
impl<T> OwnerLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            owner_in: AtomicBool::new(false),
            remote_wants: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The owner's access. Must only be called by the lock's single owner (a `Sender` uses its
    /// own slot through `&mut self`), and `f` must not lock this lock again.
    #[inline]
    pub(crate) fn with_owner<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut spins = 0;
        loop {
            self.owner_in.store(true, Ordering::Relaxed);
            crate::barrier::light();
            // Acquire: if a remote was here before, its writes to the value are ours to see.
            if !self.remote_wants.load(Ordering::Acquire) {
                break;
            }
            self.owner_in.store(false, Ordering::Release);
            while self.remote_wants.load(Ordering::Relaxed) {
                backoff(&mut spins);
            }
        }
        let _clear = Clear(&self.owner_in);
        // SAFETY: `owner_in` is set and we then saw `remote_wants` clear. By the Dekker pair
        // (see the type's docs) a remote that requests after our store waits in
        // `with_requested` until `_clear` runs, and one that requested before would have made
        // us see its flag. We are the only owner, and `f` does not re-enter.
        self.value.with_mut(|v| f(unsafe { &mut *v }))
    }

    /// The remote's first step: announces that the remote wants the value. Follow with one
    /// [`heavy`](crate::barrier::heavy) (shared by any number of requests), then
    /// [`with_requested`](Self::with_requested) or [`cancel_request`](Self::cancel_request).
    pub(crate) fn request(&self) {
        self.remote_wants.store(true, Ordering::Relaxed);
    }

    /// Withdraws a request without touching the value.
    pub(crate) fn cancel_request(&self) {
        self.remote_wants.store(false, Ordering::Release);
    }

    /// The remote's access, after [`request`](Self::request) and a `heavy` barrier.
    ///
    /// # Safety
    /// The caller requested this lock and called `heavy` after the request; no other remote
    /// uses the lock meanwhile.
    pub(crate) unsafe fn with_requested<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut spins = 0;
        // Acquire: pairs with the owner's release when it leaves, so its writes are visible.
        while self.owner_in.load(Ordering::Acquire) {
            backoff(&mut spins);
        }
        let _clear = Clear(&self.remote_wants);
        // SAFETY: our request was visible to the owner from the `heavy` barrier on, so an owner
        // arriving later steps aside; one already inside was seen in `owner_in` and waited
        // for. The caller guarantees no other remote.
        self.value.with_mut(|v| f(unsafe { &mut *v }))
    }

    /// The remote's access to a single lock: request, barrier, access.
    pub(crate) fn with_remote<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.request();
        crate::barrier::heavy();
        // SAFETY: requested just above, then the barrier; the channel serialises remotes.
        unsafe { self.with_requested(f) }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// One owner and one remote hammer the same lock; a lost update (or a data race, under
    /// miri) means the two were inside at once.
    #[test]
    fn owner_lock_is_exclusive() {
        crate::barrier::init();
        let lock = Arc::new(OwnerLock::new(0u64));
        let remote_rounds = if cfg!(miri) { 20 } else { 10_000 };
        // A read-modify-write with a window in the middle, so that two holders at once lose an
        // update.
        fn slow_increment(v: &mut u64) {
            let seen = *v;
            for _ in 0..20 {
                std::hint::spin_loop();
            }
            *v = std::hint::black_box(seen) + 1;
        }
        let remote_done = Arc::new(AtomicBool::new(false));
        let owner_started = Arc::new(AtomicBool::new(false));
        let remote = {
            let (lock, done) = (Arc::clone(&lock), Arc::clone(&remote_done));
            let owner_started = Arc::clone(&owner_started);
            std::thread::spawn(move || {
                while !owner_started.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                for _ in 0..remote_rounds {
                    lock.with_remote(slow_increment);
                }
                done.store(true, Ordering::Release);
            })
        };
        // The owner keeps locking for as long as the remote does, so the two always overlap.
        let mut owner_rounds = 0;
        while !remote_done.load(Ordering::Acquire) {
            lock.with_owner(slow_increment);
            owner_rounds += 1;
            owner_started.store(true, Ordering::Release);
            // Out of the lock for a moment, as a sender between messages: the remote gets in.
            for _ in 0..20 {
                std::hint::spin_loop();
            }
        }
        remote.join().unwrap();
        assert_eq!(lock.with_owner(|v| *v), owner_rounds + remote_rounds);
    }

    /// Requests sharing one barrier, as the receiver's idle scan does; a cancelled request
    /// leaves the lock usable.
    #[test]
    fn shared_barrier_requests() {
        crate::barrier::init();
        let locks: Vec<OwnerLock<u32>> = (0..3).map(OwnerLock::new).collect();
        locks.iter().for_each(OwnerLock::request);
        crate::barrier::heavy();
        // SAFETY: requested above, then the barrier; this thread is the only remote.
        let sum: u32 = unsafe { locks[0].with_requested(|v| *v) + locks[1].with_requested(|v| *v) };
        locks[2].cancel_request();
        assert_eq!(sum, 1);
        assert_eq!(locks.iter().map(|l| l.with_owner(|v| *v)).sum::<u32>(), 3);
    }

    #[test]
    fn owner_lock_unlocks_after_panic() {
        let lock = OwnerLock::new(vec![1]);
        for remote in [false, true] {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if remote {
                    lock.with_remote(|_| panic!("boom"));
                } else {
                    lock.with_owner(|_| panic!("boom"));
                }
            }));
            assert!(caught.is_err());
        }
        assert_eq!(lock.with_owner(|v| v.len()), 1);
        assert_eq!(lock.with_remote(|v| v.len()), 1);
    }
}
