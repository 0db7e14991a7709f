//! [`JoinHandle`]: awaits a task's output, aborts it, or (when dropped) lets it run detached.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use async_task::FallibleTask;

use super::{Panic, TaskMeta};
use crate::error::JoinError;

type Inner<T> = FallibleTask<Result<T, Panic>, TaskMeta>;

/// An owned permission to join a task: awaiting it yields the task's output.
///
/// * Output: `Ok(value)`, or `Err(JoinError)` if the task panicked ([`JoinError::is_panic`]) or was
///   cancelled ([`JoinError::is_cancelled`]: aborted, or dropped when its runtime shut down).
/// * Dropping the handle **detaches** the task: it keeps running and its output is dropped.
/// * [`abort`](Self::abort) cancels the task.
///
/// ```
/// let rt = moirai_rt::Runtime::builder().worker_threads(2).build().unwrap();
/// let answer = rt.block_on(async {
///     let h = moirai_rt::spawn(async { 6 * 7 });
///     h.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct JoinHandle<T> {
    // `abort` and `is_finished` take `&self`; `poll` gets `&mut` and never locks.
    task: Mutex<Option<Inner<T>>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: Inner<T>) -> Self {
        JoinHandle {
            task: Mutex::new(Some(task)),
        }
    }

    /// Cancels the task. Its future is dropped by a worker as soon as one reaches it (at once if
    /// it is idle), and awaiting this handle yields a cancellation error.
    ///
    /// Aborting a task that has already finished does nothing: its output is still delivered.
    /// If the task finishes *while* `abort` runs, it may be reported as cancelled and its output
    /// dropped.
    pub fn abort(&self) {
        let mut slot = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|t| !t.is_finished()) {
            // Dropping an async-task handle cancels the task.
            drop(slot.take());
        }
    }

    /// Whether the task has finished: completed, panicked, or been cancelled.
    pub fn is_finished(&self) -> bool {
        let slot = self.task.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let slot = self
            .get_mut()
            .task
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        let Some(task) = slot.as_mut() else {
            return Poll::Ready(Err(JoinError::cancelled()));
        };
        let out = match Pin::new(task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(value))) => Ok(value),
            Poll::Ready(Some(Err(panic))) => Err(JoinError::panic(panic)),
            Poll::Ready(None) => Err(JoinError::cancelled()),
        };
        // The task is done; release it so a stray second poll cannot reach async-task.
        *slot = None;
        Poll::Ready(out)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
