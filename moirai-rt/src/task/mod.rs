//! Tasks: how a future becomes an `async-task` runnable, and the handle that joins it.
//!
//! Every spawn goes through [`spawn_raw`], the one place that builds a task, so that a pooled
//! implementation can replace it without touching the callers. A task is an `async_task` runnable
//! whose metadata is its home node, whose schedule function routes wake-ups through the
//! scheduler, and whose future is a [`TaskFuture`]: the user's future plus panic capture and an
//! entry in the runtime's [`Registry`] of live tasks (so a dropped runtime can drop every
//! task's future, idle ones included).

mod future;
mod join;
pub(crate) mod pool;
mod registry;

use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

use async_task::WithInfo;

pub(crate) use future::Panic;
use future::TaskFuture;
pub use join::JoinHandle;
pub(crate) use registry::Registry;

use crate::scheduler::Shared;

/// What the scheduler knows about a task without polling it.
#[derive(Debug)]
pub(crate) struct TaskMeta {
    /// The node the task was spawned on (or asked for with `spawn_on`); wake-ups from outside the
    /// runtime go to this node's injector. A carrier's changes with each job.
    pub(crate) home_node: AtomicUsize,
    /// For a pooled carrier, its header (set on its first poll); null for a plain task.
    pub(crate) carrier: AtomicPtr<pool::CarrierHeader>,
}

impl TaskMeta {
    fn plain(home_node: usize) -> TaskMeta {
        TaskMeta {
            home_node: AtomicUsize::new(home_node),
            carrier: AtomicPtr::new(ptr::null_mut()),
        }
    }

    fn carrier() -> TaskMeta {
        TaskMeta::plain(0)
    }

    #[cfg(test)]
    pub(crate) fn for_tests() -> TaskMeta {
        TaskMeta::plain(0)
    }

    pub(crate) fn home_node(&self) -> usize {
        self.home_node.load(Ordering::Relaxed)
    }
}

pub(crate) type Runnable = async_task::Runnable<TaskMeta>;

/// The schedule function of every task and carrier of the runtime `shared`: hands the runnable
/// to the scheduler, telling it whether the task woke itself while running (a yield).
pub(crate) fn schedule_fn(
    shared: &Arc<Shared>,
) -> WithInfo<impl Fn(Runnable, async_task::ScheduleInfo) + Send + Sync + 'static> {
    let scheduler = Arc::clone(shared);
    WithInfo(move |runnable, info: async_task::ScheduleInfo| {
        scheduler.schedule(runnable, info.woken_while_running)
    })
}

/// Builds a task for `future` on the runtime `shared`, registered in registry shard `shard`.
///
/// Returns the runnable to schedule (the caller decides where it goes) and the join handle. When
/// the runtime is already shut down the runnable is `None`, the future has been dropped, and the
/// handle resolves to a cancellation error.
pub(crate) fn spawn_raw<F>(
    shared: &Arc<Shared>,
    home_node: usize,
    shard: usize,
    future: F,
) -> (Option<Runnable>, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let schedule = schedule_fn(shared);
    let builder = async_task::Builder::new().metadata(TaskMeta::plain(home_node));
    let registry = &shared.registry;
    let (runnable, task) = match registry.reserve(shard) {
        Some(mut slot) => {
            let entry = slot.entry(registry);
            let (runnable, task) =
                builder.spawn(move |_| TaskFuture::new(future, Some(entry)), schedule);
            slot.fill(runnable.waker());
            (Some(runnable), task)
        }
        None => {
            let (runnable, task) = builder.spawn(move |_| TaskFuture::new(future, None), schedule);
            // Dropping the runnable drops the future and cancels the task.
            drop(runnable);
            (None, task)
        }
    };
    (runnable, JoinHandle::plain(task.fallible()))
}

/// Spawns `future` on the runtime `shared`: into a pooled carrier when pooling is on and the
/// future fits one, else as a plain task. `w` is the current worker of that runtime, if any.
pub(crate) fn spawn<F>(
    shared: &Arc<Shared>,
    w: Option<&crate::scheduler::worker::Worker>,
    home_node: usize,
    future: F,
) -> (Option<Runnable>, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match pool::try_spawn_pooled(shared, w, home_node, future) {
        Ok((runnable, join)) => (Some(runnable), JoinHandle::pooled(join)),
        Err(future) => {
            let shard = w.map_or(shared.registry.num_shards() - 1, |w| w.index);
            spawn_raw(shared, home_node, shard, future)
        }
    }
}
