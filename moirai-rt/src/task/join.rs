//! [`JoinHandle`]: awaits a task's output, aborts it, or (when dropped) lets it run detached.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use async_task::FallibleTask;

use super::pool::{JoinOutcome, PooledJoin};
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
    inner: Kind<T>,
}

enum Kind<T> {
    /// A plain async-task task. `abort` and `is_finished` take `&self`; `poll` gets `&mut` and
    /// never locks.
    Plain(Mutex<Option<Inner<T>>>),
    /// A job on a pooled carrier.
    Pooled(PooledJoin<T>),
}

impl<T> JoinHandle<T> {
    pub(crate) fn plain(task: Inner<T>) -> Self {
        JoinHandle {
            inner: Kind::Plain(Mutex::new(Some(task))),
        }
    }

    pub(crate) fn pooled(join: PooledJoin<T>) -> Self {
        JoinHandle {
            inner: Kind::Pooled(join),
        }
    }

    /// Cancels the task. Its future is dropped by a worker as soon as one reaches it (at once if
    /// it is idle), and awaiting this handle yields a cancellation error.
    ///
    /// Aborting a task that has already finished does nothing: its output is still delivered.
    /// If the task finishes *while* `abort` runs, it may be reported as cancelled and its output
    /// dropped.
    pub fn abort(&self) {
        let task = match &self.inner {
            Kind::Plain(task) => task,
            Kind::Pooled(join) => return join.abort(),
        };
        let mut slot = task.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|t| !t.is_finished()) {
            // Dropping an async-task handle cancels the task.
            drop(slot.take());
        }
    }

    /// Whether the task has finished: completed, panicked, or been cancelled.
    pub fn is_finished(&self) -> bool {
        let task = match &self.inner {
            Kind::Plain(task) => task,
            Kind::Pooled(join) => return join.is_finished(),
        };
        let slot = task.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(moirai_channel::coop::poll_proceed(cx));
        let task = match &mut self.get_mut().inner {
            Kind::Plain(task) => task,
            Kind::Pooled(join) => {
                return join.poll(cx).map(|outcome| match outcome {
                    JoinOutcome::Output(Ok(value)) => Ok(value),
                    JoinOutcome::Output(Err(panic)) => Err(JoinError::panic(panic)),
                    JoinOutcome::Cancelled => Err(JoinError::cancelled()),
                })
            }
        };
        let slot = task.get_mut().unwrap_or_else(|e| e.into_inner());
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
        // A pooled job detaches (or recycles its carrier) in `PooledJoin`'s own drop.
        if let Kind::Plain(task) = &mut self.inner {
            if let Some(task) = task.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
                task.detach();
            }
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
