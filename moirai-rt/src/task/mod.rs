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
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_task::WithInfo;

pub(crate) use future::Panic;
use future::TaskFuture;
pub use join::JoinHandle;
pub(crate) use registry::Registry;

use crate::scheduler::Shared;

/// What the scheduler knows about a task without polling it. 16 bytes (a test pins it): it sits
/// in every task. A carrier finds its header from the task pointer and its class (see
/// `Carrier::of`) rather than from a pointer kept here.
pub(crate) struct TaskMeta {
    /// The runtime the task belongs to (kept here rather than in the schedule function, see
    /// [`schedule_fn`]); `None` only for tasks built by unit tests with their own schedule
    /// function. It keeps the runtime's shared state alive for as long as the task exists.
    shared: Option<Arc<Shared>>,
    /// The node the task was spawned on (or asked for with `spawn_on`); wake-ups from outside the
    /// runtime go to this node's injector. A carrier's changes with each job.
    home_node: AtomicU32,
    /// For a pooled carrier, its size class; [`TaskMeta::PLAIN`] for a plain task.
    pub(crate) class: u8,
    /// For a pooled carrier, its registry shard (the key is in its header); 0 for a plain task.
    pub(crate) registry_shard: u16,
}

impl std::fmt::Debug for TaskMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskMeta")
            .field("home_node", &self.home_node)
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

impl TaskMeta {
    /// The `class` of a task that is not a carrier.
    pub(crate) const PLAIN: u8 = u8::MAX;

    fn plain(shared: &Arc<Shared>, home_node: usize) -> TaskMeta {
        TaskMeta {
            shared: Some(Arc::clone(shared)),
            home_node: AtomicU32::new(node_u32(home_node)),
            class: TaskMeta::PLAIN,
            registry_shard: 0,
        }
    }

    fn carrier(shared: &Arc<Shared>, class: u8, registry_shard: u16) -> TaskMeta {
        debug_assert!(class < TaskMeta::PLAIN);
        TaskMeta {
            class,
            registry_shard,
            ..TaskMeta::plain(shared, 0)
        }
    }

    #[cfg(test)]
    pub(crate) fn for_tests(class: u8) -> TaskMeta {
        TaskMeta {
            shared: None,
            home_node: AtomicU32::new(0),
            class,
            registry_shard: 0,
        }
    }

    pub(crate) fn home_node(&self) -> usize {
        self.home_node.load(Ordering::Relaxed) as usize
    }

    pub(crate) fn set_home_node(&self, node: usize) {
        self.home_node.store(node_u32(node), Ordering::Relaxed);
    }
}

/// A node index as stored in a task. A topology has far fewer than 2^32 nodes (each is a
/// `Vec` entry with its own injector), so this never saturates in practice.
fn node_u32(node: usize) -> u32 {
    u32::try_from(node).unwrap_or(u32::MAX)
}

pub(crate) type Runnable = async_task::Runnable<TaskMeta>;

/// The schedule function of every task and carrier: hands the runnable to its runtime's
/// scheduler, telling it whether the task woke itself while running (a yield).
///
/// It captures nothing. async-task wraps every call of a schedule function that has captures in
/// a temporary waker (a reference-count increment and decrement: two atomic read-modify-writes
/// per wake-up, 4-5% of `chained_spawn`'s time), because such a function lives inside the task
/// and the task could otherwise be freed while the function runs. A zero-sized one cannot be;
/// what it must not do instead is keep borrowing the task's metadata once the runnable is handed
/// on (another worker may run and free the task at once). So the runtime is borrowed from this
/// thread's worker when it belongs to the same runtime (the worker holds the runtime for the
/// whole call), and cloned from the metadata otherwise (the rare wake-up from another thread).
pub(crate) fn schedule_fn(
) -> WithInfo<impl Fn(Runnable, async_task::ScheduleInfo) + Send + Sync + 'static> {
    WithInfo(|runnable: Runnable, info: async_task::ScheduleInfo| {
        let Some(shared) = runnable.metadata().shared.as_ref() else {
            debug_assert!(false, "a runtime task without a runtime");
            return;
        };
        let here = crate::scheduler::worker::current().filter(|w| Arc::ptr_eq(&w.shared, shared));
        match here {
            Some(worker) => worker
                .shared
                .schedule(runnable, info.woken_while_running, here),
            None => {
                let shared = Arc::clone(shared);
                shared.schedule(runnable, info.woken_while_running, None)
            }
        }
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
    let schedule = schedule_fn();
    let builder = async_task::Builder::new().metadata(TaskMeta::plain(shared, home_node));
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

#[cfg(test)]
mod tests {
    /// The schedule function must stay zero-sized: one with captures makes async-task wrap every
    /// wake-up in a temporary waker (see `schedule_fn`).
    #[test]
    fn the_schedule_function_captures_nothing() {
        assert_eq!(std::mem::size_of_val(&super::schedule_fn()), 0);
    }

    #[test]
    fn task_metadata_is_16_bytes() {
        assert_eq!(std::mem::size_of::<super::TaskMeta>(), 16);
    }
}
