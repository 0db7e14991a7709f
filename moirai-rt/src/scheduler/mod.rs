//! The scheduler's shared state: queues, idle protocol, live-task registry, and the routing of
//! spawns and wake-ups.
//!
//! # Queues
//!
//! * each worker: a fixed FIFO ring ([`local_queue`], 1024 tasks; when full, half of it
//!   overflows to the node injector) and a LIFO slot for the task it woke last (`worker.rs`);
//! * each node: an `Injector`, fed by overflows, by `spawn_on`, and by wake-ups from threads
//!   that are not workers of this runtime (a task goes back to its home node);
//! * one global `Injector` for spawns from outside the runtime.
//!
//! # Routing
//!
//! | event | from a worker of this runtime | from anywhere else |
//! |---|---|---|
//! | spawn | back of the worker's deque | global injector |
//! | `spawn_on(node)` | node's injector | node's injector |
//! | wake | LIFO slot (old occupant to the deque) | home node's injector |
//! | yield (woken while running) | back of the worker's deque | home node's injector |
//!
//! Every push is followed by [`Idle::notify_work`], aimed at the node the task went to. A push
//! to a node's injector uses [`Idle::notify_node_work`], which also wakes one of that
//! node's own workers when none of them is searching or on its way, even while a worker of
//! another node searches (that one would take the task only as a remote steal).
//!
//! # Spawns from outside
//!
//! A task spawned from a thread that is not a worker carries no locality: it goes to the global
//! injector, and the wake-ups such spawns make go to the nodes that have workers in turn
//! ([`Shared::staffed_nodes`]; each to that node's sleeper, or else the nearest node's), so that
//! no node is always the first to take up outside work and then hand it across the boundary.
//!
//! Measured (tenth session, 4 workers on the 2-core VM): when every outside spawn woke node 0
//! first, `bench_report`'s `ping_pong` (one outside spawn per run, which then spawns 1000 tasks)
//! took 1.11x-1.16x as long on 2x2 as on 1x4. A trace of 600 runs of each showed the same run
//! time on both topologies for the same number of active workers (two: ~565 us; four: ~670 us);
//! what differed was how often a third worker joined early: on 2x2 node 0's two workers did
//! every run and node 1's were always the third and fourth woken, and the kernel ran those at
//! once when woken (median 14 us from notification to running, against ~500 us on 1x4, where the
//! roles rotate), so 54% of 2x2 runs had four workers time-sharing two cores against 9% on 1x4.
//! With the wake-ups in turn the roles rotate on 2x2 too: 0.93x-1.04x over fifteen invocations,
//! median 0.97x.
//!
//! # Shutdown
//!
//! [`Shared::shutdown`] sets `closed` and wakes every worker. From then on the schedule function
//! drops runnables instead of queueing them (which drops their futures), and every push into an
//! injector re-checks `closed` after pushing, so nothing can slip into a queue after the final
//! drain.

pub(crate) mod idle;
pub(crate) mod inject;
pub(crate) mod lifo_slot;
pub(crate) mod local_queue;
pub(crate) mod placement;
#[cfg(not(loom))]
pub(crate) mod reactor_turns;
pub(crate) mod worker;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::metrics::{RuntimeMetrics, WorkerCounters, WorkerMetrics};
use crate::task::pool::{self, Carrier, SharedPool};
use crate::task::{Registry, Runnable};
use crate::topology::{NodeId, Topology};
use idle::Idle;
use placement::VictimOrder;

/// The most tasks one steal moves (half the victim's queue, up to this).
pub(crate) const STEAL_BATCH: usize = 64;

/// The most tasks a steal from another node moves. Smaller than [`STEAL_BATCH`]: a task that
/// crosses a node boundary loses its memory locality, so an idle node takes enough to get going
/// and comes back for more rather than draining half a busy node at once (measured on a
/// synthetic 2x2: tasks crossing nodes fell from 42k-93k to 25k-28k per run of the `uniform`
/// NUMA workload, locality share from ~99.4% to ~99.75%).
pub(crate) const REMOTE_STEAL_BATCH: usize = 16;

pub(crate) struct WorkerShared {
    pub(crate) queue: local_queue::LocalQueue<Runnable>,
    pub(crate) lifo: lifo_slot::LifoSlot,
    pub(crate) node: usize,
    pub(crate) counters: CachePadded<WorkerCounters>,
}

pub(crate) struct NodeShared {
    pub(crate) injector: CachePadded<inject::Inject>,
    /// Where work aimed at this node goes: itself if it has workers, else the nearest node that
    /// has (a topology can have more nodes than the runtime has workers).
    pub(crate) route: usize,
}

/// Called on each worker thread as it starts or stops.
pub(crate) type ThreadHook = Arc<dyn Fn() + Send + Sync + 'static>;

pub(crate) struct Shared {
    pub(crate) topology: Topology,
    pub(crate) workers: Box<[WorkerShared]>,
    pub(crate) nodes: Box<[NodeShared]>,
    pub(crate) victims: Box<[VictimOrder]>,
    pub(crate) global: CachePadded<inject::Inject>,
    pub(crate) idle: Idle,
    pub(crate) registry: Registry,
    /// Free pooled carriers shared between workers.
    pub(crate) pool: SharedPool,
    pub(crate) pool_enabled: bool,
    pub(crate) closed: AtomicBool,
    pub(crate) external_spawns: AtomicU64,
    /// The nodes that have workers: the wake-ups of spawns from outside go to them in turn.
    pub(crate) staffed_nodes: Box<[usize]>,
    /// Spaces busy workers' reactor turns in time (see `reactor_turns.rs`).
    #[cfg(not(loom))]
    pub(crate) reactor_turns: reactor_turns::ReactorTurns,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
    /// Number of worker threads that have left their loop; `exited_cv` signals changes.
    pub(crate) exited: Mutex<usize>,
    pub(crate) exited_cv: Condvar,
}

thread_local! {
    /// Runnables whose drop was requested while another drop was running on this thread.
    static DEFERRED_DROPS: RefCell<Vec<Runnable>> = const { RefCell::new(Vec::new()) };
    static DROPPING: Cell<bool> = const { Cell::new(false) };
}

/// Drops a runnable of a closed runtime (which drops its future, or retires its carrier), without
/// recursion: a future whose drop wakes another task of the same runtime would otherwise nest one
/// drop inside the other, as deep as the chain of tasks.
pub(crate) fn drop_runnable(runnable: Runnable) {
    if DROPPING.with(|d| d.replace(true)) {
        DEFERRED_DROPS.with(|q| q.borrow_mut().push(runnable));
        return;
    }
    retire(runnable);
    while let Some(next) = DEFERRED_DROPS.with(|q| q.borrow_mut().pop()) {
        retire(next);
    }
    DROPPING.with(|d| d.set(false));
}

fn retire(runnable: Runnable) {
    match Carrier::of(runnable) {
        (runnable, Some(carrier)) => carrier.retire(runnable),
        (runnable, None) => drop(runnable),
    }
}

impl Shared {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The schedule function of every task of this runtime. `here` is this thread's worker if it
    /// is one of this runtime's (parked or not): the schedule function has looked it up already.
    pub(crate) fn schedule(
        self: &Arc<Self>,
        runnable: Runnable,
        woken_while_running: bool,
        here: Option<&'static worker::Worker>,
    ) {
        if self.is_closed() {
            drop_runnable(runnable);
            return;
        }
        let (runnable, carrier) = Carrier::of(runnable);
        if let Some(carrier) = carrier {
            // SAFETY: we hold the runnable.
            let header = unsafe { carrier.header() };
            if pool::carrier_is_free(header) {
                let class = usize::from(runnable.metadata().class);
                pool::recycle(self, runnable, class, here.filter(|w| !w.is_parked()));
                return;
            }
        }
        match here {
            Some(worker) if !worker.is_parked() => {
                worker.schedule_local(runnable, woken_while_running)
            }
            Some(worker) => worker.schedule_while_parked(runnable),
            None => {
                let node = runnable.metadata().home_node();
                self.push_to_node(node, runnable);
            }
        }
    }

    /// Pushes into `node`'s injector (or the node it routes to) and wakes a worker there: one
    /// of the node's own, unless one is searching or on its way (`Idle::notify_node_work`), on top of
    /// the wake-up (or not) that the protocol owes for any task.
    pub(crate) fn push_to_node(&self, node: usize, runnable: Runnable) {
        let node = self.nodes[node].route;
        self.push_injector(&self.nodes[node].injector, runnable);
        self.idle.notify_node_work(node);
    }

    /// Pushes a task spawned from outside the runtime into the global injector.
    pub(crate) fn push_external(&self, runnable: Runnable) {
        let nth = self.external_spawns.fetch_add(1, Ordering::Relaxed);
        self.push_injector(&self.global, runnable);
        // A spawn from outside carries no locality, so the wake-ups these spawns make go to the
        // nodes in turn, each to that node's sleeper or else the nearest one (see the crate docs,
        // "Spawns from outside", for what always starting at node 0 cost).
        let node = self.staffed_nodes[nth as usize % self.staffed_nodes.len()];
        self.idle.notify_work(node);
    }

    fn push_injector(&self, injector: &inject::Inject, runnable: Runnable) {
        injector.push(runnable);
        // Pairs with the store in `shutdown`: either shutdown's final drain sees this task, or
        // we see `closed` and drain it ourselves.
        if self.closed.load(Ordering::SeqCst) {
            drain_injector(injector);
        }
    }

    /// The node a fresh task of `node` would be queued on (after routing).
    pub(crate) fn route(&self, node: usize) -> usize {
        self.nodes[node.min(self.nodes.len() - 1)].route
    }

    /// Is there a task in any queue that a worker could take? (Used before parking.)
    pub(crate) fn has_visible_work(&self) -> bool {
        !self.global.is_empty()
            || self.nodes.iter().any(|n| !n.injector.is_empty())
            || self.workers.iter().any(|w| !w.queue.is_empty())
    }

    pub(crate) fn metrics(&self) -> RuntimeMetrics {
        let workers = self
            .workers
            .iter()
            .enumerate()
            .map(|(i, w)| WorkerMetrics {
                worker: i,
                node: NodeId::new(w.node),
                parked: w.counters.parked_now.load(Ordering::Relaxed),
                counters: w.counters.snapshot(),
            })
            .collect();
        RuntimeMetrics::new(
            workers,
            self.nodes.len(),
            self.external_spawns.load(Ordering::Relaxed),
            crate::metrics::PoolMetrics {
                created: self.pool.created.load(Ordering::Relaxed),
                freed: self.pool.freed.load(Ordering::Relaxed),
                idle_shared: self.pool.idle() as u64,
            },
        )
    }

    /// Stops the workers (waiting for them up to `timeout`, forever if `None`), then drops every
    /// task that is still alive. Idempotent.
    pub(crate) fn shutdown(
        &self,
        threads: Vec<std::thread::JoinHandle<()>>,
        timeout: Option<Duration>,
    ) {
        self.closed.store(true, Ordering::SeqCst);
        self.idle.wake_all();

        let me = std::thread::current().id();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut exited = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        // A worker dropping its own runtime is still inside its loop: do not wait for it.
        let expected = threads.iter().filter(|t| t.thread().id() != me).count();
        while *exited < expected {
            match deadline {
                None => {
                    exited = self
                        .exited_cv
                        .wait(exited)
                        .unwrap_or_else(|e| e.into_inner())
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    exited = self
                        .exited_cv
                        .wait_timeout(exited, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        drop(exited);
        for t in threads {
            // Threads that have not left their loop by the deadline are detached; a worker that
            // drops its own runtime cannot join itself.
            if t.thread().id() != me && t.is_finished() {
                let _ = t.join();
            }
        }

        // Free carriers.
        for r in self.pool.drain() {
            drop_runnable(r);
        }
        // Idle tasks: wake them; the closed schedule function drops each one.
        for waker in self.registry.close_and_drain() {
            waker.wake();
        }
        // Queued tasks.
        drain_injector(&self.global);
        for node in self.nodes.iter() {
            drain_injector(&node.injector);
        }
        for w in self.workers.iter() {
            if let Some(r) = w.lifo.steal() {
                drop_runnable(r);
            }
            while let Some(r) = w.queue.steal_one() {
                drop_runnable(r);
            }
        }
    }
}

fn drain_injector(injector: &inject::Inject) {
    for r in injector.take_all() {
        drop_runnable(r);
    }
}

#[cfg(all(test, not(loom), not(miri)))]
mod tests {
    use std::sync::{mpsc, Arc, Mutex};
    use std::time::Duration;

    use super::idle::notified;
    use crate::{NodeId, Runtime};

    #[test]
    fn spawns_from_outside_wake_the_nodes_in_turn() {
        let rt = Runtime::builder()
            .worker_threads(2)
            .topology("2x1".parse().unwrap())
            .build()
            .unwrap();
        // Both workers are held inside tasks, so the only sleepers are the two this test
        // registers, one per node, as two parked workers would.
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        for node in 0..2 {
            let (started, release) = (started_tx.clone(), release_rx.clone());
            drop(rt.spawn_on(NodeId::new(node), async move {
                started.send(()).unwrap();
                // Blocks until `release_tx` drops (the second task, on the lock).
                let _ = release.lock().unwrap().recv();
            }));
        }
        for _ in 0..2 {
            started_rx
                .recv_timeout(Duration::from_secs(60))
                .expect("a holding task never started");
        }

        let shared = rt.handle().shared.clone();
        let mut woken = Vec::new();
        for _ in 0..4 {
            let mut sleepers = [shared.idle.begin_park(0), shared.idle.begin_park(1)];
            drop(rt.spawn(async {}));
            let hit: Vec<usize> = (0..2).filter(|&n| notified(&mut sleepers[n])).collect();
            assert_eq!(hit.len(), 1, "one spawn, one wake-up: {hit:?}");
            woken.push(hit[0]);
            let [on_0, on_1] = sleepers;
            shared.idle.end_park(0, on_0);
            shared.idle.end_park(1, on_1);
        }
        // Starting every wake-up at node 0 would have woken node 0's sleeper each time.
        assert!(
            woken.windows(2).all(|w| w[0] != w[1]),
            "outside spawns woke nodes {woken:?}, not the two in turn"
        );
        drop(release_tx);
    }
}
