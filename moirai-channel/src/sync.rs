//! The one place where atomics, cells and wake-up events come from.
//!
//! Normally these are `std` atomics and [`event_listener::Event`]. Under `cfg(loom)` they switch
//! to `loom`'s model-checked atomics and to a small loom-aware [`Event`] with the same interface,
//! so the wait/notify protocol of the channel (try, register, try again, wait; notify only when
//! the waiter counter is non-zero) runs under the model checker too.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

pub(crate) use std::sync::atomic::Ordering;

/// Hint used inside retry loops that wait for another thread to make progress.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// An `UnsafeCell` with loom's closure-based access API (so accesses are tracked under loom).
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(
    #[cfg(not(loom))] core::cell::UnsafeCell<T>,
    #[cfg(loom)] loom::cell::UnsafeCell<T>,
);

impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> Self {
        #[cfg(not(loom))]
        return Self(core::cell::UnsafeCell::new(value));
        #[cfg(loom)]
        return Self(loom::cell::UnsafeCell::new(value));
    }

    /// Calls `f` with a raw pointer to the contents. Dereferencing it is up to the caller.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(loom))]
        return f(self.0.get());
        #[cfg(loom)]
        return self.0.with_mut(f);
    }
}

#[cfg(not(loom))]
mod event {
    /// A wake-up event: a thin wrapper over [`event_listener::Event`].
    pub(crate) struct Event(event_listener::Event);

    /// A heap-allocated listener, for `poll`-based code (`Stream`, `Sink`) that cannot keep a
    /// listener on its stack.
    pub(crate) type Listener = event_listener::EventListener;

    impl Event {
        pub(crate) fn new() -> Self {
            Self(event_listener::Event::new())
        }

        /// The raw event, for the `stack_listener!` macro.
        #[inline]
        pub(crate) fn raw(&self) -> &event_listener::Event {
            &self.0
        }

        /// Notifies `n` more listeners (on top of those already notified).
        #[inline]
        pub(crate) fn notify_additional(&self, n: usize) {
            self.0.notify_additional(n);
        }

        /// Wakes every listener.
        pub(crate) fn notify_all(&self) {
            self.0.notify(usize::MAX);
        }

        /// Registers a heap-allocated listener.
        pub(crate) fn listen(&self) -> Listener {
            self.0.listen()
        }
    }

    /// Registers a listener on the current stack frame (no allocation); `$l.await` waits.
    macro_rules! stack_listener {
        ($event:expr => $l:ident) => {
            event_listener::listener!($event.raw() => $l);
        };
    }
    pub(crate) use stack_listener;
}

#[cfg(loom)]
mod event {
    //! A minimal loom-aware event with the interface of the non-loom one.
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};
    use loom::sync::{Arc, Mutex};

    #[derive(Default)]
    struct State {
        next_id: u64,
        waiting: Vec<(u64, Option<Waker>)>,
        notified: Vec<u64>,
    }

    impl State {
        /// Notifies `n` more listeners (like `event_listener::Event::notify_additional`).
        fn notify(&mut self, n: usize) -> Vec<Waker> {
            let mut wakers = Vec::new();
            for _ in 0..n {
                if self.waiting.is_empty() {
                    break;
                }
                let (id, waker) = self.waiting.remove(0);
                self.notified.push(id);
                wakers.extend(waker);
            }
            wakers
        }
    }

    pub(crate) struct Event(Arc<Mutex<State>>);

    pub(crate) struct Listener {
        state: Arc<Mutex<State>>,
        id: u64,
        done: bool,
    }

    impl Event {
        pub(crate) fn new() -> Self {
            Self(Arc::new(Mutex::new(State::default())))
        }

        fn notify(&self, n: usize) {
            let wakers = self.0.lock().unwrap().notify(n);
            wakers.into_iter().for_each(Waker::wake);
        }

        pub(crate) fn notify_additional(&self, n: usize) {
            self.notify(n);
        }

        pub(crate) fn notify_all(&self) {
            self.notify(usize::MAX);
        }

        pub(crate) fn listen(&self) -> Listener {
            let mut state = self.0.lock().unwrap();
            let id = state.next_id;
            state.next_id += 1;
            state.waiting.push((id, None));
            Listener {
                state: self.0.clone(),
                id,
                done: false,
            }
        }
    }

    impl Future for Listener {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let id = self.id;
            let mut state = self.state.lock().unwrap();
            if let Some(i) = state.notified.iter().position(|&n| n == id) {
                state.notified.remove(i);
                drop(state);
                self.done = true;
                return Poll::Ready(());
            }
            if let Some(entry) = state.waiting.iter_mut().find(|(n, _)| *n == id) {
                entry.1 = Some(cx.waker().clone());
            }
            Poll::Pending
        }
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            if self.done {
                return;
            }
            let mut state = self.state.lock().unwrap();
            state.waiting.retain(|(n, _)| *n != self.id);
            if let Some(i) = state.notified.iter().position(|&n| n == self.id) {
                // Notified but never consumed: pass the notification on, as event-listener does.
                state.notified.remove(i);
                let wakers = state.notify(1);
                drop(state);
                wakers.into_iter().for_each(Waker::wake);
            }
        }
    }

    macro_rules! stack_listener {
        ($event:expr => $l:ident) => {
            let $l = $event.listen();
        };
    }
    pub(crate) use stack_listener;
}

pub(crate) use event::{stack_listener, Event, Listener};
