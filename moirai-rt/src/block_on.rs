//! Running one future to completion on the calling thread.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct ThreadNotify {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadNotify {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

thread_local! {
    // One waker per thread, reused by every `block_on` on it: no allocation per call.
    static NOTIFY: RefCell<Option<(Arc<ThreadNotify>, Waker)>> = const { RefCell::new(None) };
}

/// Runs `future` on the current thread until it completes, parking the thread while it waits.
///
/// Tasks spawned inside with [`spawn`](crate::spawn) go to the runtime entered on this thread, or
/// to the global runtime. Nested calls work (each parks the thread until its own future is done).
///
/// # Panics
/// When called on a worker thread of a Moirai runtime: blocking a worker could deadlock the tasks
/// it is responsible for. Inside a task, `.await` the future instead.
///
/// ```
/// assert_eq!(moirai_rt::block_on(async { 3 }), 3);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    assert!(
        crate::scheduler::worker::current().is_none(),
        "moirai::block_on called from a runtime worker thread: .await the future instead"
    );
    park_until_ready(future)
}

/// [`block_on`] without the worker-thread check: polls `future`, parking the thread between
/// wake-ups. Under miri the workers run their loop on this (miri cannot run async-io's epoll
/// reactor, whose `timerfd` it does not support), which is what lets miri check the runtime.
pub(crate) fn park_until_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    // Reuse the thread's waker unless an outer block_on on this thread is using it.
    let cached = NOTIFY.with(|n| n.borrow_mut().take());
    let (notify, waker) = cached.unwrap_or_else(|| {
        let notify = Arc::new(ThreadNotify {
            thread: thread::current(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(notify.clone());
        (notify, waker)
    });
    let mut cx = Context::from_waker(&waker);
    let out = loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            break v;
        }
        while !notify.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    };
    NOTIFY.with(|n| *n.borrow_mut() = Some((notify, waker)));
    out
}
