//! [`Runtime`]: owns the worker threads; dropping it stops them and drops every task.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use crate::scheduler::Shared;
use crate::task::JoinHandle;
use crate::topology::{NodeId, Topology};
use crate::{BuildError, Builder, Handle, RuntimeMetrics};

/// A Moirai runtime: worker threads grouped by NUMA node, stealing work hierarchically.
///
/// ```
/// let rt = moirai_rt::Runtime::builder().worker_threads(2).build().unwrap();
/// let sum = rt.block_on(async {
///     let tasks: Vec<_> = (0..10u64).map(|i| moirai_rt::spawn(async move { i * i })).collect();
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 285);
/// ```
///
/// Dropping the runtime stops the workers (each finishes the poll it is in), then drops every
/// task's future exactly once, whether it was queued, idle, or never polled; their
/// [`JoinHandle`]s resolve to a cancellation error.
pub struct Runtime {
    handle: Handle,
    threads: Mutex<Vec<ThreadHandle<()>>>,
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder::new`]).
    pub fn new() -> Result<Runtime, BuildError> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure one.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_parts(shared: Arc<Shared>, threads: Vec<ThreadHandle<()>>) -> Runtime {
        Runtime {
            handle: Handle::from_shared(shared),
            threads: Mutex::new(threads),
        }
    }

    /// Runs `future` to completion on the calling thread, with this runtime entered: tasks spawned
    /// inside go to its workers.
    ///
    /// # Panics
    /// When called on a worker thread of a Moirai runtime (that would block a worker).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = self.handle.enter();
        crate::block_on::block_on(future)
    }

    /// Spawns a task on this runtime (see [`Handle::spawn`]).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Spawns a task on the workers of `node` (see [`Handle::spawn_on`]).
    pub fn spawn_on<F>(&self, node: NodeId, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn_on(node, future)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// A snapshot of the scheduler's counters, per worker and per node.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// The topology the workers are laid out on.
    pub fn topology(&self) -> &Topology {
        self.handle.topology()
    }

    /// Stops the runtime, waiting at most `timeout` for the workers to finish the polls they are
    /// in. Workers still busy after that are detached (they stop after their current poll), and
    /// every task that has not finished is dropped.
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    fn shutdown(&self, timeout: Option<Duration>) {
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        self.handle.shared.shutdown(threads, timeout);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("topology", self.topology())
            .finish_non_exhaustive()
    }
}
