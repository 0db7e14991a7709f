//! The synchronisation primitives the scheduler's wake-up protocol is written against.
//!
//! Normal builds use `std` atomics and `event-listener`; builds with `RUSTFLAGS="--cfg loom"` swap
//! in `loom`'s atomics and a small condition-variable event so that the very same protocol code
//! (`scheduler::idle`) is explored by loom's model checker. Only what the protocol needs is here.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

/// `std::cell::UnsafeCell` with loom's closure-based API, so the same code runs under both.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(not(loom))]
mod event {
    /// A wake-up channel for parked workers: a thin wrapper over `event_listener::Event`.
    pub(crate) struct Event(event_listener::Event);

    impl Event {
        pub(crate) fn new() -> Event {
            Event(event_listener::Event::new())
        }

        /// Wakes at most `n` listeners that have not been woken yet.
        pub(crate) fn notify(&self, n: usize) {
            self.0.notify(n);
        }

        /// Registers a listener now; it completes (as a future) once notified.
        pub(crate) fn listen(&self) -> Listener {
            self.0.listen()
        }
    }

    /// Ends a parked worker's wait from its own thread: the reactor, driven by that worker while
    /// it is parked, woke tasks and put them in the worker's own queue, so the worker should run
    /// them instead of waiting for somebody to notify it.
    #[derive(Default)]
    pub(crate) struct LocalWake {
        woken: std::cell::Cell<bool>,
        waker: std::cell::RefCell<Option<std::task::Waker>>,
    }

    impl LocalWake {
        pub(crate) fn wake(&self) {
            self.woken.set(true);
            if let Some(w) = self.waker.borrow().as_ref() {
                w.wake_by_ref();
            }
        }

        /// Whether `wake` was called since the last look (and forgets it).
        pub(crate) fn take_woken(&self) -> bool {
            self.woken.replace(false)
        }

        /// The waker `wake` wakes from now on (`None` once the park is over).
        pub(crate) fn set_waker(&self, waker: Option<&std::task::Waker>) {
            let mut slot = self.waker.borrow_mut();
            match (slot.as_ref(), waker) {
                (Some(old), Some(new)) if old.will_wake(new) => {}
                _ => *slot = waker.cloned(),
            }
        }
    }

    /// A registered listener of an [`Event`]: a future that completes once notified.
    pub(crate) type Listener = event_listener::EventListener;
}

#[cfg(loom)]
mod event {
    use loom::sync::{Condvar, Mutex};

    /// No reactor under loom: nothing to end a wait early.
    #[derive(Default)]
    pub(crate) struct LocalWake;

    impl LocalWake {
        pub(crate) fn wake(&self) {}
    }

    /// A loom-checkable stand-in for `event_listener::Event`.
    ///
    /// A listener is an epoch snapshot taken before the recheck; `wait` blocks until the epoch
    /// moves. `notify` wakes every waiter, which is *stronger* than event-listener's "wake `n`":
    /// the model therefore checks our counter protocol (that every published task is seen by the
    /// re-check or reaches a notify), not event-listener's own bookkeeping.
    pub(crate) struct Event {
        epoch: Mutex<u64>,
        cond: Condvar,
    }

    impl Event {
        pub(crate) fn new() -> Event {
            Event {
                epoch: Mutex::new(0),
                cond: Condvar::new(),
            }
        }

        pub(crate) fn notify(&self, _n: usize) {
            *self.epoch.lock().unwrap() += 1;
            self.cond.notify_all();
        }

        pub(crate) fn wait_unless(&self, recheck: impl FnOnce() -> bool) -> bool {
            let seen = *self.epoch.lock().unwrap();
            if recheck() {
                return false;
            }
            let mut epoch = self.epoch.lock().unwrap();
            while *epoch == seen {
                epoch = self.cond.wait(epoch).unwrap();
            }
            true
        }
    }
}

#[cfg(not(loom))]
pub(crate) use event::Listener;
pub(crate) use event::{Event, LocalWake};
