//! Who is searching for work, who is parked, and the protocol that wakes parked workers.
//!
//! # The protocol
//!
//! Publishing work and parking form a Dekker pair, so no wake-up can be lost:
//!
//! * A **publisher** makes a task visible (pushes it to a deque or an injector), then
//!   [`Idle::notify_work`]: a `SeqCst` fence, then "is anybody searching?" If so, that searcher
//!   will find the task (or, as the last searcher to give up, re-check every queue before
//!   parking). If not, and somebody is parked, one parked worker is woken, preferring the node
//!   the task was published on, unless a worker woken earlier is still on its way (see "One
//!   wake-up in flight" below: it will look at every queue).
//! * A **parking worker** registers a listener, *then* counts itself as a sleeper (`SeqCst`),
//!   *then* re-checks every queue, and only then blocks.
//!
//! Either the publisher's load sees the sleeper (and its notify reaches the already registered
//! listener), or the sleeper's re-check sees the task. The last searcher to stop searching
//! re-checks everything for the same reason. `loom` checks this (`loom_tests` below, run with
//! `RUSTFLAGS="--cfg loom"`), with the primitives from [`crate::sync`].
//!
//! # Throttling
//!
//! At most about half the workers search at once ([`Idle::try_begin_search`]), so a burst of
//! spawns does not have every idle worker hammering the busy ones' deques. A notification is only
//! sent when nobody is searching: the searcher that finds work wakes the next one
//! ([`Idle::end_search`] reports whether it was the last), so workers come up one after another,
//! as fast as they find work, instead of all at once.
//!
//! # A node's own work
//!
//! `notify_work` treats every searcher as able to take any task, which is what the no-lost-wake-up
//! argument needs. For locality it is too coarse: a task queued on node 1 while a worker of node
//! 0 searches waits for that searcher to steal it across the boundary (or for node 0's chain of
//! wake-ups to reach node 1), while node 1's workers sleep. [`Idle::notify_node_work`] adds one
//! wake-up for the node itself (`Idle::wake_node`), guided by per-node hints
//! (`NodeSleepers::searching`, `waking`) that the protocol above never reads: it can only wake
//! more, never fewer.
//!
//! # One wake-up in flight
//!
//! A notified worker does not count as a searcher until it has left its park and started looking,
//! which takes a context switch or more (longer still when workers outnumber cores). Without
//! more, every spawn in that window would wake yet another worker. So a notification also sets
//! `waking`, and a publisher that finds it set wakes nobody: the worker on its way will look at
//! every queue. Every end of a park clears it ([`Idle::end_park`]), after which that worker looks
//! for work *as a searcher* (or, when its park ended for another reason, notifies afresh), so the
//! first task it gets, even one from its own queues, makes it wake the next worker. Tokio counts
//! the woken worker as a searcher for the same reason. Measured (`spawn_many`, 4 workers on 2
//! cores): on a 2x2 topology, where a spawner's sibling and the other node's workers were woken
//! in turn, CPU time per run fell from ~88 ms to ~60 ms and wall time from ~52 ms to ~37 ms; 1x4
//! gained a little (~37 ms to ~35 ms).
//!
//! The flag is safe to rely on because it is only ever cleared by somebody who then looks again:
//! a parked worker, after ending its park (the publisher's push, its `SeqCst` read of `waking`
//! and that worker's `SeqCst` clear are ordered, so the worker's next look at the queues sees the
//! task, and as a searcher it hands the search on once it finds anything), or a publisher whose
//! notification found no sleeper, which then repeats its own check (a worker may have become a
//! sleeper, relying on a publisher who saw the flag set). Looking as a searcher matters: a
//! worker woken for a task of its own node, on which a task queued next on another node relied,
//! ran the first (from its node's injector, no search) and woke nobody, so the second waited for
//! as long as the first ran (tenth session; the loom model
//! `a_woken_worker_that_runs_its_own_nodes_task_wakes_the_next`).

use crossbeam_utils::CachePadded;

use crate::sync::{fence, AtomicBool, AtomicUsize, Event, Ordering::SeqCst};

/// Parked workers of one NUMA node.
struct NodeSleepers {
    sleepers: AtomicUsize,
    event: Event,
    /// Workers of this node searching. Advisory, like `waking`: read only by
    /// `Idle::wake_node`, which no wake-up the protocol owes depends on.
    searching: AtomicUsize,
    /// This node's event was notified and no park of the node has ended since.
    waking: AtomicBool,
}

pub(crate) struct Idle {
    searching: CachePadded<AtomicUsize>,
    max_searching: usize,
    sleepers: CachePadded<AtomicUsize>,
    /// A notified worker has not ended its park yet (see "One wake-up in flight").
    waking: CachePadded<AtomicBool>,
    nodes: Box<[CachePadded<NodeSleepers>]>,
    /// For each node, the nodes to wake a worker on, nearest first (itself first).
    wake_order: Box<[Box<[usize]>]>,
}

impl Idle {
    /// `wake_order[k]` lists every node, `k` first, then by increasing distance from `k`.
    pub(crate) fn new(workers: usize, wake_order: Vec<Vec<usize>>) -> Idle {
        let nodes = wake_order
            .iter()
            .map(|_| {
                CachePadded::new(NodeSleepers {
                    sleepers: AtomicUsize::new(0),
                    event: Event::new(),
                    searching: AtomicUsize::new(0),
                    waking: AtomicBool::new(false),
                })
            })
            .collect();
        Idle {
            searching: CachePadded::new(AtomicUsize::new(0)),
            max_searching: workers.div_ceil(2).max(1),
            sleepers: CachePadded::new(AtomicUsize::new(0)),
            waking: CachePadded::new(AtomicBool::new(false)),
            nodes,
            wake_order: wake_order.into_iter().map(Vec::into_boxed_slice).collect(),
        }
    }

    /// A worker of `node` becomes a searcher unless about half the workers already are.
    pub(crate) fn try_begin_search(&self, node: usize) -> bool {
        if self.searching.load(SeqCst) >= self.max_searching {
            return false;
        }
        self.searching.fetch_add(1, SeqCst);
        self.nodes[node].searching.fetch_add(1, SeqCst);
        true
    }

    /// Whether some worker is searching. A worker about to park that sees a task it may not take
    /// (it is not a searcher) may still park when this is `true`: every searcher either finds
    /// work (and the last one to do so wakes a parked worker) or, as the last to give up,
    /// re-checks every queue instead of parking, so the task is not stranded.
    pub(crate) fn has_searchers(&self) -> bool {
        self.searching.load(SeqCst) != 0
    }

    /// A searcher of `node` stops searching; `true` if this was the last searcher, who must then
    /// either re-check every queue (before parking) or wake another worker (when it found work).
    pub(crate) fn end_search(&self, node: usize) -> bool {
        self.nodes[node].searching.fetch_sub(1, SeqCst);
        let last = self.searching.fetch_sub(1, SeqCst) == 1;
        // The caller's re-check of the queues must not be ordered before this decrement (the
        // other half of the fence in `notify_work`). A SeqCst RMW already is a full barrier on
        // x86 and ARM; the explicit fence states the intent and is what loom models.
        fence(SeqCst);
        last
    }

    /// Called after a task was made visible on `node`: wakes a parked worker if nobody is
    /// searching and no woken worker is on its way.
    pub(crate) fn notify_work(&self, node: usize) {
        fence(SeqCst);
        if self.searching.load(SeqCst) != 0 || self.sleepers.load(SeqCst) == 0 {
            return;
        }
        loop {
            if self.waking.swap(true, SeqCst) {
                return;
            }
            // Orders the flag before `wake_one`'s sleeper counts; pairs with the fence in
            // `end_wake`: a sleeper counted here sees the flag when its park ends.
            fence(SeqCst);
            if self.wake_one(node) {
                return;
            }
            // The sleepers counted above have all left. Another publisher may have seen `waking`
            // set and woken nobody, relying on this wake-up: hand the flag back and check again.
            // A swap, not a store: reading the flag acquires what those publishers had seen
            // (a sleeper they counted), so the check below sees it too.
            self.waking.swap(false, SeqCst);
            // The nodes' counts, not the total: a worker leaving its park lowers its node's
            // count first, so this does not spin on a total that has yet to follow.
            if self.searching.load(SeqCst) != 0
                || self.nodes.iter().all(|n| n.sleepers.load(SeqCst) == 0)
            {
                return;
            }
        }
    }

    /// Called after a task was queued on `node`'s injector: [`Idle::notify_work`], then
    /// [`Idle::wake_node`] for locality.
    pub(crate) fn notify_node_work(&self, node: usize) {
        self.notify_work(node);
        self.wake_node(node);
    }

    /// The locality half of [`Idle::notify_node_work`]: wakes a parked worker of `node` unless one
    /// of its workers is searching or a wake-up is already on its way there, whatever the rest of
    /// the runtime is doing.
    ///
    /// `notify_work` wakes nobody while any worker searches or any wake-up is in flight, which is
    /// right for work anyone may take: the searcher will find it. A task queued on a node is that
    /// node's, and a searcher of another node takes it only as a remote steal (after its own node,
    /// subject to the remote backoff) or not at all, while the node's own workers stay parked and,
    /// when the node's workers are bound to its CPUs, those CPUs stay idle. Measured with
    /// `numa_report --workload numa_model` (NUMA.md, "Workers bound to their node").
    ///
    /// Purely additive: `notify_work` alone already guarantees that nothing is stranded, so this
    /// reads its node's `searching` and `waking` as hints, with no fence of its own (the one
    /// `notify_work` just made orders the push before these loads). A stale hint costs one wake-up
    /// too many or too few for locality, never a lost one. With one node it wakes nobody
    /// `notify_work` would not have: a searcher or a wake-up in flight is always the node's own.
    fn wake_node(&self, node: usize) {
        let slot = &self.nodes[node];
        if slot.sleepers.load(SeqCst) == 0
            || slot.searching.load(SeqCst) != 0
            || slot.waking.load(SeqCst)
            || slot.waking.swap(true, SeqCst)
        {
            return;
        }
        slot.event.notify(1);
    }

    /// Notifies one parked worker, preferring `node` and then the nodes nearest to it; `false` if
    /// no node had a sleeper.
    ///
    /// A node's sleeper count never exceeds its registered listeners (a listener is registered
    /// before the count goes up, and dropped after it goes down), so a notification made while
    /// the count is non-zero reaches a listener, or finds one already notified, or races with a
    /// worker leaving its park; in every case some worker ends a park after `waking` was set,
    /// and clears it.
    fn wake_one(&self, node: usize) -> bool {
        for &n in self.wake_order[node].iter() {
            let slot = &self.nodes[n];
            if slot.sleepers.load(SeqCst) != 0 {
                slot.waking.store(true, SeqCst);
                slot.event.notify(1);
                return true;
            }
        }
        false
    }

    /// Wakes every parked worker (shutdown).
    pub(crate) fn wake_all(&self) {
        for slot in self.nodes.iter() {
            slot.event.notify(usize::MAX);
        }
    }

    /// The first half of an asynchronous park (the worker loop runs inside `async_io::block_on`
    /// and parks by returning `Pending`): registers a listener on `node`'s event, *then* counts
    /// the caller as a sleeper (`SeqCst`), the same order as [`Idle::park`]. The caller must
    /// re-check every queue next, and end the park with [`Idle::end_park`] whatever it finds.
    #[cfg(not(loom))]
    pub(crate) fn begin_park(&self, node: usize) -> crate::sync::Listener {
        let slot = &self.nodes[node];
        let listener = slot.event.listen();
        slot.sleepers.fetch_add(1, SeqCst);
        self.sleepers.fetch_add(1, SeqCst);
        fence(SeqCst);
        listener
    }

    /// Ends a park begun with [`Idle::begin_park`]. Dropping a listener that was notified hands
    /// the notification on to another listener, so none is lost.
    ///
    /// Returns `true` if a wake-up was in flight and this call ended it: publishers may have
    /// relied on it and woken nobody for their tasks, so the caller must then look for work as a
    /// searcher (see `Worker::resume_as_searcher`), or call [`Idle::notify_work`] before it runs
    /// anything else.
    #[cfg(not(loom))]
    pub(crate) fn end_park(&self, node: usize, listener: crate::sync::Listener) -> bool {
        let slot = &self.nodes[node];
        slot.sleepers.fetch_sub(1, SeqCst);
        self.sleepers.fetch_sub(1, SeqCst);
        slot.waking.store(false, SeqCst);
        drop(listener);
        self.end_wake()
    }

    /// Clears `waking` after a park ended, once the sleeper counts went down (see "One wake-up in
    /// flight"); `true` if it was set.
    fn end_wake(&self) -> bool {
        fence(SeqCst);
        // A plain load first: parks mostly end with no wake-up in flight, and a swap would take
        // the line exclusive each time.
        self.waking.load(SeqCst) && self.waking.swap(false, SeqCst)
    }

    /// Parks the calling worker of `node` unless `has_work` (evaluated after the worker counts
    /// as a sleeper) says there is something to do. Returns after a notification, or at once if
    /// `has_work` was true: whether it waited, and [`Idle::end_park`]'s answer (whether this
    /// park ended a wake-up in flight).
    ///
    /// The blocking form of a park: the unit tests below run it through the very
    /// [`Idle::begin_park`]/[`Idle::end_park`] the workers use (blocking on the listener), and
    /// the loom models through the loom event, with the same order of steps (workers park
    /// asynchronously outside loom, see `worker::Worker::poll_loop`).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn park(&self, node: usize, has_work: impl FnOnce() -> bool) -> (bool, bool) {
        let mut listener = self.begin_park(node);
        let waited = !has_work();
        if waited {
            crate::block_on(&mut listener);
        }
        // The caller looks for work next (see `end_park`).
        (waited, self.end_park(node, listener))
    }

    /// Loom form of [`Idle::park`] (loom's event has no listener futures).
    #[cfg(loom)]
    pub(crate) fn park(&self, node: usize, has_work: impl FnOnce() -> bool) -> (bool, bool) {
        let slot = &self.nodes[node];
        let waited = slot.event.wait_unless(|| {
            slot.sleepers.fetch_add(1, SeqCst);
            self.sleepers.fetch_add(1, SeqCst);
            fence(SeqCst);
            has_work()
        });
        slot.sleepers.fetch_sub(1, SeqCst);
        self.sleepers.fetch_sub(1, SeqCst);
        slot.waking.store(false, SeqCst);
        // The caller looks for work next (see `end_park`).
        (waited, self.end_wake())
    }

    /// Number of workers searching right now (metrics and tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn searching(&self) -> usize {
        self.searching.load(SeqCst)
    }

    /// Number of workers parked right now (metrics and tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn sleepers(&self) -> usize {
        self.sleepers.load(SeqCst)
    }
}

/// Whether a listener has been notified (polled once, with a waker that does nothing); for
/// tests that play parked workers by registering listeners themselves.
#[cfg(all(test, not(loom)))]
pub(crate) fn notified(listener: &mut crate::sync::Listener) -> bool {
    use std::future::Future;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(listener).poll(&mut cx).is_ready()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4, vec![vec![0]]);
        assert!(idle.try_begin_search(0));
        assert!(idle.try_begin_search(0));
        assert!(
            !idle.try_begin_search(0),
            "a third searcher of four workers must be refused"
        );
        assert!(!idle.end_search(0));
        assert!(
            idle.end_search(0),
            "the second to stop is the last searcher"
        );
        assert_eq!(idle.searching(), 0);
    }

    #[test]
    fn one_worker_may_always_search() {
        let idle = Idle::new(1, vec![vec![0]]);
        assert!(idle.try_begin_search(0));
    }

    #[test]
    fn park_returns_at_once_when_work_is_there() {
        let idle = Idle::new(2, vec![vec![0]]);
        assert_eq!(idle.park(0, || true), (false, false));
        assert_eq!(idle.sleepers(), 0);
    }

    #[test]
    fn notify_wakes_a_parked_worker_on_the_preferred_node() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let idle = Arc::new(Idle::new(2, vec![vec![0, 1], vec![1, 0]]));
        let work = Arc::new(AtomicBool::new(false));
        let parked = {
            let (idle, work) = (idle.clone(), work.clone());
            std::thread::spawn(move || {
                while !work.load(SeqCst) {
                    idle.park(1, || work.load(SeqCst));
                }
            })
        };
        work.store(true, SeqCst);
        idle.notify_work(0); // node 0 has no sleeper: the wake must fall through to node 1
        parked.join().unwrap();
    }

    #[test]
    fn one_wake_up_in_flight_across_nodes() {
        // One sleeper on each of two nodes (this thread registers both listeners, as two parking
        // workers would).
        let idle = Idle::new(2, vec![vec![0, 1], vec![1, 0]]);
        let mut on_0 = idle.begin_park(0);
        let mut on_1 = idle.begin_park(1);
        idle.notify_work(0);
        assert!(notified(&mut on_0));
        // Node 1's event is a different one: only `waking` keeps this from waking its sleeper
        // while node 0's worker is still on its way.
        idle.notify_work(1);
        assert!(
            !notified(&mut on_1),
            "a second worker was woken while the first had not left its park"
        );
        assert!(
            idle.end_park(0, on_0),
            "the woken worker's park ends the wake-up in flight"
        );
        idle.notify_work(1);
        assert!(
            notified(&mut on_1),
            "once it has, the next notification wakes again"
        );
        assert!(idle.end_park(1, on_1));
        assert!(!idle.waking.load(SeqCst));
    }

    #[test]
    fn a_task_queued_on_a_node_wakes_that_node_while_another_node_searches() {
        let idle = Idle::new(3, vec![vec![0, 1], vec![1, 0]]);
        let mut first = idle.begin_park(1);
        assert!(idle.try_begin_search(0), "a worker of node 0 searches");
        idle.notify_work(1);
        assert!(
            !notified(&mut first),
            "notify_work leaves the task to the searcher"
        );
        idle.wake_node(1);
        assert!(notified(&mut first), "but it is node 1's task");
        let mut second = idle.begin_park(1);
        idle.wake_node(1);
        assert!(
            !notified(&mut second),
            "a wake-up to node 1 is on its way: a second task there wakes nobody more"
        );
        idle.end_park(1, first);
        assert!(idle.try_begin_search(1), "a worker of node 1 searches");
        idle.wake_node(1);
        assert!(
            !notified(&mut second),
            "node 1's own searcher finds node 1's tasks"
        );
        idle.end_search(1);
        idle.wake_node(1);
        assert!(notified(&mut second));
        idle.end_park(1, second);
        idle.end_search(0);
    }

    #[test]
    fn with_one_node_wake_node_wakes_nobody_notify_work_would_not() {
        let idle = Idle::new(3, vec![vec![0]]);
        let mut a = idle.begin_park(0);
        let mut b = idle.begin_park(0);
        idle.notify_work(0);
        idle.wake_node(0);
        assert_eq!(
            u8::from(notified(&mut a)) + u8::from(notified(&mut b)),
            1,
            "one wake-up in flight, not two"
        );
        idle.end_park(0, a);
        assert!(idle.try_begin_search(0));
        idle.notify_work(0);
        idle.wake_node(0);
        assert!(!notified(&mut b), "the searcher finds it");
        idle.end_search(0);
        idle.end_park(0, b);
    }

    #[test]
    fn a_notification_that_finds_no_sleeper_leaves_no_wake_up_in_flight() {
        let idle = Idle::new(2, vec![vec![0]]);
        let listener = idle.begin_park(0);
        // The sleeper leaves after being counted; a notification then finds nobody.
        assert!(!idle.end_park(0, listener));
        idle.notify_work(0);
        assert!(!idle.waking.load(SeqCst));
        // So a later sleeper is woken normally.
        let mut listener = idle.begin_park(0);
        idle.notify_work(0);
        assert!(notified(&mut listener));
        assert!(idle.end_park(0, listener));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model: workers run the same search/park sequence as `worker.rs` against one counter of
    //! published tasks per node (a worker takes from its own node's first without searching, as
    //! `next_local` takes from the node injector); publishers publish and notify. A lost wake-up
    //! leaves a worker parked forever with a task published, which loom reports as a deadlock.
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;

    struct Model {
        idle: Idle,
        /// Tasks published on each node.
        queued: Vec<AtomicUsize>,
        done: AtomicUsize,
        total: usize,
        shutdown: AtomicBool,
        /// A worker that has run one task never looks for work again (a task that runs for a
        /// long time): nobody but the others can take what is left.
        hold: bool,
    }

    impl Model {
        /// As `Shared::push_to_node`.
        fn publish(&self, node: usize) {
            self.queued[node].fetch_add(1, SeqCst);
            self.idle.notify_node_work(node);
        }

        fn pop(&self, node: usize) -> bool {
            let queued = &self.queued[node];
            let mut n = queued.load(SeqCst);
            while n > 0 {
                match queued.compare_exchange(n, n - 1, SeqCst, SeqCst) {
                    Ok(_) => return true,
                    Err(m) => n = m,
                }
            }
            false
        }

        /// A searcher's look: its own node, then the others.
        fn pop_any(&self, node: usize) -> bool {
            let nodes = self.queued.len();
            (0..nodes).any(|k| self.pop((node + k) % nodes))
        }

        fn finish_one(&self) {
            if self.done.fetch_add(1, SeqCst) + 1 == self.total {
                self.shutdown.store(true, SeqCst);
                self.idle.wake_all();
            }
        }

        fn visible(&self) -> bool {
            self.queued.iter().any(|q| q.load(SeqCst) > 0)
        }

        fn worker(&self, node: usize) {
            // As `Worker::searching`.
            let mut searching = false;
            loop {
                if self.shutdown.load(SeqCst) {
                    return;
                }
                // `next_local`, then `search` (becoming a searcher if allowed).
                let found = self.pop(node) || {
                    if !searching && self.idle.try_begin_search(node) {
                        searching = true;
                    }
                    searching && self.pop_any(node)
                };
                if found {
                    // `run_task`: the last searcher to find work hands the search on.
                    if std::mem::take(&mut searching) && self.idle.end_search(node) {
                        self.idle.notify_work(node);
                    }
                    self.finish_one();
                    if self.hold {
                        return;
                    }
                    continue;
                }
                // `stop_searching_sees_work`, then `Worker::resume_as_searcher`.
                if std::mem::take(&mut searching) && self.idle.end_search(node) && self.visible() {
                    searching = self.idle.try_begin_search(node);
                    continue;
                }
                // As `Worker::must_look_again`: a task that somebody is searching for is theirs.
                let (_, ended_wake) = self.idle.park(node, || {
                    self.shutdown.load(SeqCst) || (self.visible() && !self.idle.has_searchers())
                });
                if ended_wake {
                    searching = self.idle.try_begin_search(node);
                }
            }
        }
    }

    /// How a model publishes: `tasks` on node 0 by the model's main thread, then `on_last_node`
    /// more on the last node, by the main thread too or by a second publisher.
    struct Plan {
        workers: usize,
        tasks: usize,
        on_last_node: usize,
        second_publisher: bool,
        hold: bool,
    }

    fn run(workers: usize, tasks: usize) {
        check(Plan {
            workers,
            tasks,
            on_last_node: 0,
            second_publisher: false,
            hold: false,
        });
    }

    fn check(plan: Plan) {
        let Plan {
            workers,
            tasks,
            on_last_node,
            second_publisher,
            hold,
        } = plan;
        let mut builder = loom::model::Builder::new();
        // Four threads with a bound of 3 take ~5 minutes; 2 keeps CI short.
        builder.preemption_bound = Some(if workers + usize::from(second_publisher) > 2 {
            2
        } else {
            3
        });
        builder.check(move || {
            let nodes: Vec<Vec<usize>> = (0..workers)
                .map(|n| {
                    std::iter::once(n)
                        .chain((0..workers).filter(|&m| m != n))
                        .collect()
                })
                .collect();
            let model = Arc::new(Model {
                idle: Idle::new(workers, nodes),
                queued: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
                done: AtomicUsize::new(0),
                total: tasks + on_last_node,
                shutdown: AtomicBool::new(false),
                hold,
            });
            let mut handles: Vec<_> = (0..workers)
                .map(|w| {
                    let m = model.clone();
                    loom::thread::spawn(move || m.worker(w))
                })
                .collect();
            let publish_last = move |m: &Model| {
                for _ in 0..on_last_node {
                    m.publish(workers - 1);
                }
            };
            if second_publisher {
                let m = model.clone();
                handles.push(loom::thread::spawn(move || publish_last(&m)));
            }
            for _ in 0..tasks {
                model.publish(0);
            }
            if !second_publisher {
                publish_last(&model);
            }
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(model.done.load(SeqCst), tasks + on_last_node);
        });
    }

    #[test]
    fn one_worker_one_task_no_lost_wakeup() {
        run(1, 1);
    }

    #[test]
    fn one_worker_two_tasks_no_lost_wakeup() {
        run(1, 2);
    }

    #[test]
    fn two_workers_on_two_nodes_no_lost_wakeup() {
        run(2, 2);
    }

    #[test]
    fn two_publishers_one_worker_no_lost_wakeup() {
        check(Plan {
            workers: 1,
            tasks: 1,
            on_last_node: 1,
            second_publisher: true,
            hold: false,
        });
    }

    #[test]
    fn two_publishers_two_workers_on_two_nodes_no_lost_wakeup() {
        check(Plan {
            workers: 2,
            tasks: 1,
            on_last_node: 1,
            second_publisher: true,
            hold: false,
        });
    }

    /// One task on each node, published one after the other, and each worker runs one and never
    /// looks again. Whoever goes back to look for work because others rely on it (the worker
    /// that ended the wake-up in flight on which the second publication relied, the last
    /// searcher that saw work while a sleeper relied on it) and finds the task of its own node
    /// must wake the other worker for the other task.
    #[test]
    fn a_woken_worker_that_runs_its_own_nodes_task_wakes_the_next() {
        check(Plan {
            workers: 2,
            tasks: 1,
            on_last_node: 1,
            second_publisher: false,
            hold: true,
        });
    }
}
