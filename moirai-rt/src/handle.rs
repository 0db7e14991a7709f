//! [`Handle`]: a cheap, cloneable reference to a runtime, for spawning from anywhere.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::task::{FutureObj, Spawn, SpawnError};

use crate::context::{self, EnterGuard};
use crate::scheduler::{worker, Shared};
use crate::task::{spawn_raw, JoinHandle};
use crate::topology::{NodeId, Topology};
use crate::RuntimeMetrics;

/// A reference to a runtime: spawns tasks on it from any thread. `Clone + Send + Sync`.
///
/// A handle may outlive its [`Runtime`](crate::Runtime); spawning through it afterwards drops the
/// future at once and returns a handle that resolves to a cancellation error.
///
/// ```
/// let rt = moirai_rt::Runtime::builder().worker_threads(2).build().unwrap();
/// let handle = rt.handle();
/// let out = std::thread::spawn(move || handle.spawn(async { 1 + 1 })).join().unwrap();
/// assert_eq!(rt.block_on(out).unwrap(), 2);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

/// [`Handle::try_current`] was called outside any runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no Moirai runtime is entered on this thread (not a worker, not inside block_on)",
        )
    }
}

impl std::error::Error for TryCurrentError {}

impl Handle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// The runtime of the current thread: the one whose worker this is, or whose `block_on` /
    /// `enter` we are inside.
    ///
    /// # Panics
    /// Outside any runtime; use [`try_current`](Self::try_current) to get an error instead.
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("Handle::current(): {e}"),
        }
    }

    /// The runtime of the current thread, or an error outside any runtime.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        if let Some(w) = worker::current() {
            return Ok(Handle {
                shared: w.shared.clone(),
            });
        }
        context::current().ok_or(TryCurrentError(()))
    }

    /// Makes this runtime the current one on this thread until the guard drops, so that
    /// [`spawn`](crate::spawn) and [`Handle::current`] find it.
    pub fn enter(&self) -> EnterGuard {
        context::enter(self.clone())
    }

    /// Spawns a task. From a worker of this runtime it goes to that worker's deque; from anywhere
    /// else to the global injector.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match worker::current_of(&self.shared) {
            Some(w) => {
                let (runnable, handle) = spawn_raw(&self.shared, w.node, w.index, future);
                if let Some(r) = runnable {
                    w.spawn_local(r);
                }
                handle
            }
            None => {
                let shard = self.shared.registry.num_shards() - 1;
                let (runnable, handle) = spawn_raw(&self.shared, 0, shard, future);
                if let Some(r) = runnable {
                    self.shared.push_external(r);
                }
                handle
            }
        }
    }

    /// Spawns a task on the workers of `node` (a placement hint: other nodes may still steal it
    /// when `node` is busy and they are idle). A node without workers is replaced by the nearest
    /// node that has some; an index past the last node means the last node.
    pub fn spawn_on<F>(&self, node: NodeId, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let node = self.shared.route(node.index());
        let shard = match worker::current_of(&self.shared) {
            Some(w) => {
                crate::metrics::WorkerCounters::bump(
                    &self.shared.workers[w.index].counters.spawns,
                    1,
                );
                w.index
            }
            None => {
                self.shared
                    .external_spawns
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.shared.registry.num_shards() - 1
            }
        };
        let (runnable, handle) = spawn_raw(&self.shared, node, shard, future);
        if let Some(r) = runnable {
            self.shared.push_to_node(node, r);
        }
        handle
    }

    /// The topology the runtime's workers are laid out on.
    pub fn topology(&self) -> &Topology {
        &self.shared.topology
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.shared.metrics()
    }

    /// Number of worker threads.
    pub fn num_workers(&self) -> usize {
        self.shared.workers.len()
    }

    /// Tasks alive right now (spawned and not yet finished or dropped).
    pub fn live_tasks(&self) -> usize {
        self.shared.registry.live_tasks()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.workers.len())
            .finish_non_exhaustive()
    }
}

/// Lets libraries written against `futures::task::Spawn` spawn onto Moirai (tasks detached).
impl Spawn for Handle {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        if self.shared.is_closed() {
            return Err(SpawnError::shutdown());
        }
        drop(Handle::spawn(self, future));
        Ok(())
    }

    fn status(&self) -> Result<(), SpawnError> {
        if self.shared.is_closed() {
            Err(SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}
