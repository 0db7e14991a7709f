//! [`Builder`]: configures and starts a [`Runtime`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex};

use crossbeam_utils::CachePadded;

use crate::affinity::Affinity;
use crate::error::BuildError;
use crate::metrics::WorkerCounters;
use crate::scheduler::idle::Idle;
use crate::scheduler::placement::{assign_workers, staffed_nodes, victim_order, wake_order};
use crate::scheduler::{worker, NodeShared, Shared, ThreadHook, WorkerShared};
use crate::task::Registry;
use crate::topology::Topology;
use crate::Runtime;

/// Environment variable giving the default number of workers.
pub const WORKER_THREADS_ENV: &str = "MOIRAI_WORKER_THREADS";

/// Configures a [`Runtime`]. Every setting is checked by [`build`](Self::build), which reports bad
/// input as a [`BuildError`] rather than panicking.
///
/// ```
/// use moirai_rt::{topology::Topology, Runtime};
///
/// let rt = Runtime::builder()
///     .topology("2x2".parse::<Topology>()?)
///     .thread_name("demo")
///     .build()?;
/// assert_eq!(rt.handle().num_workers(), 4);
/// assert!(Runtime::builder().worker_threads(0).build().is_err());
/// # Ok::<(), moirai_rt::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Builder {
    worker_threads: Option<usize>,
    topology: Option<Topology>,
    /// `None`: [`Affinity::default_for`] the topology.
    affinity: Option<Affinity>,
    thread_name: String,
    on_thread_start: Option<ThreadHook>,
    on_thread_stop: Option<ThreadHook>,
    task_pool: bool,
    task_pool_capacity: usize,
    prealloc_tasks: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("worker_threads", &self.worker_threads)
            .field("topology", &self.topology)
            .field("affinity", &self.affinity)
            .field("thread_name", &self.thread_name)
            .field("task_pool", &self.task_pool)
            .field("task_pool_capacity", &self.task_pool_capacity)
            .field("prealloc_tasks", &self.prealloc_tasks)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Defaults: the detected topology (see [`Topology::detect`]), one worker per CPU of it
    /// (or `MOIRAI_WORKER_THREADS`), workers bound to their node on a measured multi-node
    /// topology and unbound otherwise (see [`Affinity`]), threads named `moirai-worker-N`.
    pub fn new() -> Builder {
        Builder {
            worker_threads: None,
            topology: None,
            affinity: None,
            thread_name: "moirai-worker".to_owned(),
            on_thread_start: None,
            on_thread_stop: None,
            task_pool: true,
            task_pool_capacity: crate::task::pool::DEFAULT_CAPACITY_BYTES,
            prealloc_tasks: 0,
        }
    }

    /// Number of worker threads, spread over the topology's nodes in proportion to their CPUs.
    /// Zero is rejected by [`build`](Self::build).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// The topology to lay the workers out on, instead of the detected one.
    pub fn topology(mut self, topology: Topology) -> Self {
        self.topology = Some(topology);
        self
    }

    /// Pin each worker to a CPU of its node (`true`: [`Affinity::Cpu`]) or leave the workers
    /// unbound (`false`: [`Affinity::Unbound`]). Linux; ignored elsewhere. CPUs of a synthetic
    /// topology are mapped onto the real CPUs modulo their number.
    pub fn pin_workers(self, pin: bool) -> Self {
        self.affinity(if pin {
            Affinity::Cpu
        } else {
            Affinity::Unbound
        })
    }

    /// Which CPUs the workers may run on; see [`Affinity`] for the choices and the default.
    pub fn affinity(mut self, affinity: Affinity) -> Self {
        self.affinity = Some(affinity);
        self
    }

    /// Prefix of the worker threads' names (`{name}-{index}`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Runs `f` on each worker thread when it starts, before it runs any task.
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each worker thread when it stops, after its last task.
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// Recycle task memory (on by default): spawning reuses pooled carriers instead of allocating
    /// a task each time. Off gives the plain one-allocation-per-spawn path, for comparison.
    pub fn task_pool(mut self, enabled: bool) -> Self {
        self.task_pool = enabled;
        self
    }

    /// The most memory, in bytes, that idle pooled tasks in the shared free list may hold
    /// (default 64 MiB); carriers freed beyond it are released to the allocator. Each worker also
    /// keeps up to 64 idle carriers per size class of its own.
    pub fn task_pool_capacity(mut self, bytes: usize) -> Self {
        self.task_pool_capacity = bytes;
        self
    }

    /// Creates `n` pooled carriers of each size class up to 256 bytes at start-up, so the first
    /// spawns do not allocate either.
    pub fn prealloc_tasks(mut self, n: usize) -> Self {
        self.prealloc_tasks = n;
        self
    }

    fn resolve_workers(&self, topology: &Topology) -> Result<usize, BuildError> {
        let n = match self.worker_threads {
            Some(n) => n,
            None => match std::env::var(WORKER_THREADS_ENV) {
                Ok(v) => v
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| BuildError::InvalidWorkerThreadsEnv(v))?,
                Err(_) => topology.num_cpus(),
            },
        };
        if n == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        Ok(n)
    }

    /// Starts the worker threads.
    pub fn build(self) -> Result<Runtime, BuildError> {
        let topology = match &self.topology {
            Some(t) => t.clone(),
            None => Topology::detect()?,
        };
        let workers = self.resolve_workers(&topology)?;
        let placement = assign_workers(&topology, workers);
        let nodes_of: Vec<usize> = placement.iter().map(|&(n, _)| n).collect();

        let worker_shared: Box<[WorkerShared]> = nodes_of
            .iter()
            .map(|&node| WorkerShared {
                queue: Default::default(),
                lifo: Default::default(),
                node,
                counters: CachePadded::new(WorkerCounters::default()),
            })
            .collect();
        let wake = wake_order(&topology);
        let nodes: Box<[NodeShared]> = (0..topology.num_nodes())
            .map(|n| NodeShared {
                injector: CachePadded::new(Default::default()),
                route: wake[n]
                    .iter()
                    .copied()
                    .find(|m| nodes_of.contains(m))
                    .unwrap_or(0),
            })
            .collect();
        let victims = (0..workers)
            .map(|w| victim_order(&topology, &nodes_of, w))
            .collect();
        let shared = Arc::new(Shared {
            idle: Idle::new(workers, wake),
            topology,
            workers: worker_shared,
            nodes,
            victims,
            global: CachePadded::new(Default::default()),
            registry: Registry::new(workers + 1),
            pool: crate::task::pool::SharedPool::new(self.task_pool_capacity),
            pool_enabled: self.task_pool,
            closed: AtomicBool::new(false),
            external_spawns: AtomicU64::new(0),
            staffed_nodes: staffed_nodes(&nodes_of).into_boxed_slice(),
            #[cfg(not(loom))]
            reactor_turns: crate::scheduler::reactor_turns::ReactorTurns::new(),
            on_thread_start: self.on_thread_start.clone(),
            on_thread_stop: self.on_thread_stop.clone(),
            exited: Mutex::new(0),
            exited_cv: Condvar::new(),
        });

        let affinity = self
            .affinity
            .unwrap_or_else(|| Affinity::default_for(&shared.topology));
        let mut threads = Vec::with_capacity(workers);
        for (index, &(node, cpu)) in placement.iter().enumerate() {
            let shared2 = shared.clone();
            let bind_to = affinity.cpus_for(&shared.topology, node, cpu);
            let spawned = std::thread::Builder::new()
                .name(format!("{}-{index}", self.thread_name))
                .spawn(move || {
                    if let Some(cpus) = bind_to {
                        crate::affinity::bind_current_thread(&cpus);
                    }
                    worker::worker_main(shared2, index)
                });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    shared.shutdown(threads, None);
                    return Err(BuildError::ThreadSpawn(e.to_string()));
                }
            }
        }
        if self.task_pool && self.prealloc_tasks > 0 {
            crate::task::pool::prealloc(&shared, self.prealloc_tasks);
        }
        Ok(Runtime::from_parts(shared, threads))
    }
}
