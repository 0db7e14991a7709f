//! Scheduler counters: kept per worker by the worker alone, read as a snapshot.
//!
//! Each worker owns a cache-padded block of counters and bumps them with a plain load + store
//! (no read-modify-write, no shared cache line), so counting costs next to nothing on the hot path.
//! [`Runtime::metrics`](crate::Runtime::metrics) reads every block into a [`RuntimeMetrics`]
//! snapshot, which sums them per node and in total and prints a table with `Display`.
//!
//! # What is counted
//!
//! A task is *obtained* by a worker when it ends up in that worker's hands: popped from the LIFO
//! slot or its own deque, or moved from an injector or another worker's deque by a steal. A batch
//! steal of `k` tasks counts `k` at its level (the first is run at once, the rest go to the deque).

use std::fmt;
use std::ops::AddAssign;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::topology::NodeId;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Counter values of one worker, one node, or the whole runtime.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct Counters {
            $($(#[$doc])* pub $name: u64,)*
        }

        /// The live counters a worker bumps.
        #[derive(Default)]
        pub(crate) struct WorkerCounters {
            $(pub(crate) $name: AtomicU64,)*
            /// Not a counter: whether the worker is parked now (written by it alone, around the
            /// wait of each park; on this line because the worker writes the counters anyway).
            pub(crate) parked_now: AtomicBool,
        }

        impl WorkerCounters {
            pub(crate) fn snapshot(&self) -> Counters {
                Counters { $($name: self.$name.load(Relaxed),)* }
            }
        }

        impl AddAssign for Counters {
            fn add_assign(&mut self, o: Counters) {
                $(self.$name += o.$name;)*
            }
        }
    };
}

counters! {
    /// Tasks polled.
    polls,
    /// Tasks spawned by tasks running on this worker.
    spawns,
    /// Tasks taken from the LIFO slot (the task most recently woken by this worker).
    from_lifo,
    /// Tasks popped from the worker's own deque.
    from_local,
    /// Tasks taken from the own node's injector.
    from_node_injector,
    /// Successful steals from workers of the same node.
    sibling_steals,
    /// Tasks moved by those steals.
    sibling_tasks,
    /// Successful steals from another node (its injector or its workers).
    remote_steals,
    /// Tasks moved across a node boundary by those steals.
    remote_tasks,
    /// Successful takes from the global injector (spawns from outside the runtime).
    global_steals,
    /// Tasks moved by those takes.
    global_tasks,
    /// Times the worker parked.
    parks,
    /// Times the worker's deque was full and half of it went to the node injector.
    overflows,
    /// Spawns served by a pooled carrier from this worker's free list.
    pool_hits,
    /// Spawns that found no free carrier and created one.
    pool_misses,
    /// Refills of the worker's free list from the shared list.
    pool_refills,
    /// Spills of the worker's free list to the shared list.
    pool_spills,
    /// Shared free lists this worker put back in address order before parking.
    pool_sorts,
}

impl WorkerCounters {
    /// Adds `n` to a counter only this worker writes: a load and a store, no atomic RMW.
    #[inline]
    pub(crate) fn bump(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Records whether the worker is parked now (the worker alone calls it).
    pub(crate) fn set_parked(&self, parked: bool) {
        self.parked_now.store(parked, Relaxed);
    }
}

impl Counters {
    /// Tasks obtained from the worker's own node: LIFO slot, own deque, node injector, siblings.
    pub fn local_tasks(&self) -> u64 {
        self.from_lifo + self.from_local + self.from_node_injector + self.sibling_tasks
    }

    /// Share of obtained tasks that did not cross a node boundary or come from the global
    /// injector: `1 - (remote_tasks + global_tasks) / polls`, or 1 when nothing ran.
    ///
    /// Tasks moved by a batch steal are counted when moved, so this is exact for the tasks a
    /// steal brought in; it is the figure the NUMA report calls the *locality share*.
    pub fn locality_share(&self) -> f64 {
        if self.polls == 0 {
            return 1.0;
        }
        let away = (self.remote_tasks + self.global_tasks).min(self.polls);
        1.0 - away as f64 / self.polls as f64
    }
}

/// Counters of one worker.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Index of the worker in the runtime.
    pub worker: usize,
    /// Node the worker belongs to.
    pub node: NodeId,
    /// Whether it was parked (out of work, waiting to be woken; one parked worker of a runtime
    /// may be driving the I/O reactor meanwhile) when the snapshot was taken.
    pub parked: bool,
    /// Its counters.
    pub counters: Counters,
}

/// Counters of one node, summed over its workers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NodeMetrics {
    /// The node.
    pub node: NodeId,
    /// Number of workers on it.
    pub workers: usize,
    /// How many of them were parked when the snapshot was taken (see [`WorkerMetrics::parked`]).
    pub parked: usize,
    /// Sum of its workers' counters.
    pub counters: Counters,
}

/// A snapshot of a runtime's counters, from [`Runtime::metrics`](crate::Runtime::metrics).
///
/// ```
/// let rt = moirai_rt::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async { moirai_rt::spawn(async {}).await.unwrap() });
/// let m = rt.metrics();
/// assert!(m.total().polls >= 1);
/// println!("{m}");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Per worker.
    pub workers: Vec<WorkerMetrics>,
    /// Per node.
    pub nodes: Vec<NodeMetrics>,
    /// Tasks spawned from threads that are not workers of this runtime.
    pub external_spawns: u64,
    /// The task pool as a whole.
    pub pool: PoolMetrics,
}

/// The task pool as a whole (per-worker hits, misses, refills and spills are in [`Counters`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolMetrics {
    /// Carriers ever created (each one allocation).
    pub created: u64,
    /// Carriers freed because the shared free list was full.
    pub freed: u64,
    /// Carriers idle in the shared free list right now.
    pub idle_shared: u64,
}

impl PoolMetrics {
    /// Carriers in existence: running a job, waiting for their join handle, or idle.
    pub fn live(&self) -> u64 {
        self.created - self.freed
    }
}

impl RuntimeMetrics {
    pub(crate) fn new(
        workers: Vec<WorkerMetrics>,
        num_nodes: usize,
        external_spawns: u64,
        pool: PoolMetrics,
    ) -> Self {
        let mut nodes: Vec<NodeMetrics> = (0..num_nodes)
            .map(|n| NodeMetrics {
                node: NodeId::new(n),
                workers: 0,
                parked: 0,
                counters: Counters::default(),
            })
            .collect();
        for w in &workers {
            let n = &mut nodes[w.node.index()];
            n.workers += 1;
            n.parked += usize::from(w.parked);
            n.counters += w.counters;
        }
        RuntimeMetrics {
            workers,
            nodes,
            external_spawns,
            pool,
        }
    }

    /// The node index of each worker, by worker index (the layout `Builder` chose).
    ///
    /// ```
    /// let rt = moirai_rt::Runtime::builder()
    ///     .topology("2x2".parse()?)
    ///     .build()?;
    /// assert_eq!(rt.metrics().worker_nodes(), vec![0, 0, 1, 1]);
    /// # Ok::<(), moirai_rt::BuildError>(())
    /// ```
    pub fn worker_nodes(&self) -> Vec<usize> {
        self.workers.iter().map(|w| w.node.index()).collect()
    }

    /// Counters summed over every worker.
    pub fn total(&self) -> Counters {
        let mut t = Counters::default();
        for w in &self.workers {
            t += w.counters;
        }
        t
    }
}

fn row(f: &mut fmt::Formatter<'_>, name: &str, c: &Counters) -> fmt::Result {
    writeln!(
        f,
        "{name:<10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>8.1}%",
        c.polls,
        c.spawns,
        c.from_lifo + c.from_local,
        c.from_node_injector,
        c.sibling_tasks,
        c.remote_tasks,
        c.global_tasks,
        c.parks,
        c.locality_share() * 100.0
    )
}

impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}",
            "",
            "polls",
            "spawns",
            "own",
            "node-inj",
            "sibling",
            "remote",
            "global",
            "parks",
            "locality"
        )?;
        for w in &self.workers {
            row(f, &format!("w{} {}", w.worker, w.node), &w.counters)?;
        }
        for n in &self.nodes {
            row(f, &format!("{} ({}w)", n.node, n.workers), &n.counters)?;
        }
        row(f, "total", &self.total())?;
        let t = self.total();
        writeln!(
            f,
            "spawned from outside the runtime: {}",
            self.external_spawns
        )?;
        write!(
            f,
            "task pool: {} hits, {} misses, {} refills, {} spills; {} carriers live, {} idle shared",
            t.pool_hits,
            t.pool_misses,
            t.pool_refills,
            t.pool_spills,
            self.pool.live(),
            self.pool.idle_shared
        )
    }
}
