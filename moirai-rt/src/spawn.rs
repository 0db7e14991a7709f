//! The free functions: [`spawn`], [`spawn_on`], [`current_node`], [`current_worker`], and the global runtime they fall
//! back to outside any runtime.

use std::future::Future;
use std::sync::OnceLock;

use crate::context;
use crate::scheduler::worker;
use crate::task::{self, JoinHandle};
use crate::topology::NodeId;
use crate::{Handle, Runtime};

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The global runtime, started on first use with the default settings (`MOIRAI_WORKER_THREADS`
/// and `MOIRAI_TOPOLOGY` apply). It is never dropped.
///
/// # Panics
/// If it cannot be started, for example when `MOIRAI_TOPOLOGY` is malformed; the message says
/// what was wrong.
pub fn global_handle() -> Handle {
    GLOBAL
        .get_or_init(|| {
            Runtime::builder()
                .thread_name("moirai-global")
                .build()
                .unwrap_or_else(|e| panic!("moirai: cannot start the global runtime: {e}"))
        })
        .handle()
}

/// The runtime `spawn` would use from here.
fn target() -> Handle {
    Handle::try_current().unwrap_or_else(|_| global_handle())
}

/// Spawns a task on the current runtime: the one whose worker runs this code, or whose
/// `block_on` we are in, or else the lazily started global runtime. Dropping the returned handle
/// detaches the task.
///
/// ```
/// let h = moirai_rt::spawn(async { "hello" });
/// assert_eq!(moirai_rt::block_on(h).unwrap(), "hello");
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Fast path: on a worker, spawn straight into its deque without touching the handle.
    if let Some(w) = worker::current() {
        let (runnable, handle) = task::spawn(&w.shared, Some(w), w.node, future);
        if let Some(r) = runnable {
            w.spawn_local(r);
        }
        return handle;
    }
    match context::current() {
        Some(h) => h.spawn(future),
        None => global_handle().spawn(future),
    }
}

/// Spawns a task on the workers of `node` of the current runtime (see [`Handle::spawn_on`]).
pub fn spawn_on<F>(node: NodeId, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    target().spawn_on(node, future)
}

/// The NUMA node of the worker running this code, or `None` off the workers.
pub fn current_node() -> Option<NodeId> {
    worker::current().map(|w| NodeId::new(w.node))
}

/// The index of the worker running this code (`0..num_workers`, the order of
/// [`RuntimeMetrics::workers`](crate::RuntimeMetrics)), or `None` off the workers.
pub fn current_worker() -> Option<usize> {
    worker::current().map(|w| w.index)
}
