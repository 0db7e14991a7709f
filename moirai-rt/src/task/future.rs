//! The future a task actually runs: the user's future, with its panics caught and its entry in
//! the live-task registry removed when it is dropped.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::registry::Entry;

/// A panic payload caught while polling a task.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

pub(crate) struct TaskFuture<F> {
    inner: F,
    entry: Option<Entry>,
}

impl<F: Future> TaskFuture<F> {
    pub(crate) fn new(inner: F, entry: Option<Entry>) -> Self {
        TaskFuture { inner, entry }
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Result<F::Output, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self` (not in
        // `poll`, not in `Drop`), and `TaskFuture` has no `Unpin` impl of its own that would
        // let it move.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.inner) };
        // A panicking task must not take its worker down: the payload goes to the JoinHandle.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

impl<F> Drop for TaskFuture<F> {
    fn drop(&mut self) {
        // Leave the registry before the user's future is dropped (fields drop after this body),
        // so that wake-ups issued from that drop never meet our registry lock.
        if let Some(entry) = self.entry.take() {
            entry.remove();
        }
    }
}
