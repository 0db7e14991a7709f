//! A worker thread: its local queues, its search for work, and its main loop.
//!
//! The loop, in order of preference (see the crate docs for the why):
//!
//! 1. every [`FAIRNESS_INTERVAL`] ticks, the node injector and the global injector first, so
//!    that a worker kept busy by its own tasks still picks up work from outside;
//! 2. the LIFO slot (the task this worker woke last; at most [`LIFO_STREAK`] in a row, so that
//!    two tasks waking each other cannot starve the deque), then the own deque;
//! 3. the own node's injector;
//! 4. as a *searcher* (at most about half the workers search at once): same-node siblings from a
//!    random start, then the other nodes nearest first (injector, then workers) unless remote
//!    stealing is backing off, then the global injector;
//! 5. park.
//!
//! Outside loom the loop runs inside one long-lived `async_io::block_on` per worker thread
//! (smol's pattern): a worker with nothing to do parks by returning `Pending`, and `block_on`
//! then drives async-io's reactor while it waits, or sleeps if another thread drives it; every
//! [`FAIRNESS_INTERVAL`] ticks the loop also returns `Pending` after waking itself, which makes
//! `block_on` take one non-blocking reactor turn, so that busy workers still see I/O.
//!
//! The first design called `async_io::block_on` once per park and once per periodic reactor
//! turn. async-io wakes its own helper thread every time a `block_on` returns, and the helper
//! then took the free reactor for itself: under HTTP load it drove every reactor turn (strace:
//! all 18.5k `epoll_wait`s of a 4-second run on the `async-io` thread, 208k context switches
//! there), and every I/O wake-up crossed from it to a worker through an injector.
//!
//! The periodic turn is a whole async-io turn (five system calls: `polling` arms a timer
//! descriptor and re-arms its notifier around each wait), not just an `epoll_wait` on the socket
//! driver of `crate::net`. Tried (seventh session): three turns in four as a bare `epoll_wait` on
//! the socket driver. async-io's helper thread takes the reactor whenever its tick stood still
//! through one of its sleeps (50 us right after it has turned the reactor itself), so with fewer
//! async-io turns it came back: 25%-45% of all reactor turns under the HTTP load ran on it
//! (`perf stat -t` on that thread), each waking tasks from outside the workers.

use std::cell::Cell;
#[cfg(not(loom))]
use std::cell::RefCell;
use std::ptr;
use std::sync::Arc;
#[cfg(not(loom))]
use std::task::{Context, Poll};

use super::inject::Inject;
use super::local_queue::LocalQueue;

use super::{drop_runnable, Shared, REMOTE_STEAL_BATCH, STEAL_BATCH};
use crate::metrics::WorkerCounters;
use crate::task::pool::LocalPool;
use crate::task::Runnable;

/// Ticks between two looks at the injectors ahead of the local queues.
const FAIRNESS_INTERVAL: u32 = 61;

/// Most consecutive polls served from the LIFO slot.
const LIFO_STREAK: u32 = 3;

/// Budget of each task poll: Moirai's channels, timers and join handles each spend one unit and
/// make the task yield once it is spent (see `moirai_channel::coop`).
const COOP_BUDGET: u32 = 128;

/// Rounds of searching (with growing pauses) before a worker parks.
const SEARCH_ROUNDS: u32 = 4;

/// Longest remote-steal backoff, in failed search rounds skipped.
const MAX_REMOTE_BACKOFF: u32 = 16;

pub(crate) struct Worker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) index: usize,
    pub(crate) node: usize,
    lifo_streak: Cell<u32>,
    tick: Cell<u32>,
    searching: Cell<bool>,
    rng: Cell<u64>,
    /// Search rounds to skip remote nodes for, and how many have been skipped.
    remote_backoff: Cell<u32>,
    remote_skipped: Cell<u32>,
    /// This worker's free pooled carriers.
    pub(crate) pool: LocalPool,
    /// Set while the worker is parked (possibly driving the I/O reactor): tasks woken by the
    /// reactor on this thread must then go where a worker will see them, not to this LIFO slot.
    parked: Cell<bool>,
    /// Ends this worker's park when the reactor it drives wakes tasks into its own queue.
    local_wake: crate::sync::LocalWake,
    /// The listener of an asynchronous park in progress.
    #[cfg(not(loom))]
    listener: RefCell<Option<crate::sync::Listener>>,
    /// A non-blocking reactor turn is due after the task running now.
    #[cfg(not(loom))]
    reactor_due: Cell<bool>,
    /// The reactor this worker drove while parked queued tasks here, and the other workers were
    /// not told yet (see `schedule_while_parked`).
    notify_owed: Cell<bool>,
}

thread_local! {
    static CURRENT: Cell<*const Worker> = const { Cell::new(ptr::null()) };
}

/// The worker running on this thread, whatever its runtime.
pub(crate) fn current() -> Option<&'static Worker> {
    let p = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` is non-null only while `Worker::run` is on this thread's stack (it sets
    // the pointer on entry and clears it on exit, also when unwinding), and the `Worker` it
    // points to lives for that whole call. The `'static` borrow never leaves this thread and is
    // only used by code called from within that call (task polls and wake-ups).
    unsafe { p.as_ref() }
}

/// The worker running on this thread, if it belongs to the runtime `shared` and is running tasks
/// (not parked in the reactor).
pub(crate) fn current_of(shared: &Arc<Shared>) -> Option<&'static Worker> {
    current().filter(|w| Arc::ptr_eq(&w.shared, shared) && !w.parked.get())
}

struct ClearCurrent;

impl Drop for ClearCurrent {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(ptr::null()));
    }
}

impl Worker {
    pub(crate) fn new(shared: Arc<Shared>, index: usize) -> Worker {
        let node = shared.workers[index].node;
        Worker {
            shared,
            index,
            node,
            lifo_streak: Cell::new(0),
            tick: Cell::new(0),
            searching: Cell::new(false),
            rng: Cell::new(
                0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            ),
            remote_backoff: Cell::new(0),
            remote_skipped: Cell::new(0),
            pool: LocalPool::default(),
            parked: Cell::new(false),
            local_wake: Default::default(),
            #[cfg(not(loom))]
            listener: RefCell::new(None),
            #[cfg(not(loom))]
            reactor_due: Cell::new(false),
            notify_owed: Cell::new(false),
        }
    }

    /// This worker's run queue; only this thread may use its owner operations.
    fn local(&self) -> &LocalQueue<Runnable> {
        &self.shared.workers[self.index].queue
    }

    fn lifo(&self) -> &super::lifo_slot::LifoSlot {
        &self.shared.workers[self.index].lifo
    }

    /// Owner pop of the own queue.
    fn pop_local(&self) -> Option<Runnable> {
        // SAFETY: a `Worker` is created by `worker_main` on its own thread and never leaves it,
        // so this thread is the only owner of the queue at `self.index`.
        unsafe { self.local().pop() }
    }

    fn counters(&self) -> &WorkerCounters {
        &self.shared.workers[self.index].counters
    }

    /// Whether the worker is parked (driving the reactor) rather than running tasks.
    pub(crate) fn is_parked(&self) -> bool {
        self.parked.get()
    }

    /// Marks the wait of a park: for the schedule function on this thread (`parked`) and for
    /// the metrics (`WorkerMetrics::parked`).
    fn set_parked(&self, parked: bool) {
        self.parked.set(parked);
        self.counters().set_parked(parked);
    }

    /// Runs until the runtime shuts down, then drops what is left in the local queues.
    pub(crate) fn run(&self) {
        CURRENT.with(|c| c.set(self));
        let _clear = ClearCurrent;
        self.run_loop();
        drop(_clear);
        if let Some(task) = self.lifo().take() {
            drop_runnable(task);
        }
        while let Some(task) = self.pop_local() {
            drop_runnable(task);
        }
        for carrier in self.pool.drain() {
            drop_runnable(carrier);
        }
    }

    /// The loop, inside one long-lived `async_io::block_on` (see the module docs).
    #[cfg(not(loom))]
    fn run_loop(&self) {
        // Under miri there is no reactor (miri cannot run async-io's epoll reactor): the same
        // loop on a plain thread parker, so miri can check everything but I/O and timers.
        #[cfg(miri)]
        use crate::block_on::park_until_ready as drive;
        #[cfg(not(miri))]
        use async_io::block_on as drive;
        drive(std::future::poll_fn(|cx| self.poll_loop(cx)));
        // Shut down while parked: the listener goes (and with it this worker's sleeper count).
        if let Some(listener) = self.listener.borrow_mut().take() {
            self.shared.idle.end_park(self.node, listener);
        }
    }

    /// Under loom there is no reactor: the same loop, parking by blocking.
    #[cfg(loom)]
    fn run_loop(&self) {
        while !self.shared.is_closed() {
            if let Some(task) = self.next_local() {
                self.run_task(task);
            } else if let Some(task) = self.search() {
                self.run_task(task);
            } else {
                self.park();
            }
        }
    }

    /// One poll of the worker loop: runs tasks until there are none (then parks: `Pending`), a
    /// reactor turn is due (`Pending` after a self-wake) or the runtime closes (`Ready`).
    #[cfg(not(loom))]
    fn poll_loop(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.parked.get() && self.poll_park(cx).is_pending() {
            return Poll::Pending;
        }
        self.pay_notify_owed();
        loop {
            if self.shared.is_closed() {
                return Poll::Ready(());
            }
            let task = match self.next_local().or_else(|| self.search()) {
                Some(task) => task,
                None => match self.begin_park(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => continue,
                },
            };
            self.run_task(task);
            if self.reactor_due.replace(false) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    }

    /// Makes the one notification owed for the tasks that the reactor, driven by this worker
    /// while it was parked, queued here (see `schedule_while_parked`).
    #[cfg(not(loom))]
    fn pay_notify_owed(&self) {
        if self.notify_owed.replace(false) {
            self.shared.idle.notify_work(self.node);
        }
    }

    fn run_task(&self, task: Runnable) {
        if self.searching.replace(false) && self.shared.idle.end_search(self.node) {
            // The last searcher found work: there may be more, so hand the search on.
            self.shared.idle.notify_work(self.node);
        }
        let c = self.counters();
        WorkerCounters::bump(&c.polls, 1);
        // The task's own future catches its panics; this only guards against a panic in the
        // future's destructor, which must not take the worker down either.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            moirai_channel::coop::with_budget(COOP_BUDGET, || task.run())
        }));
    }

    // ---- local queues -------------------------------------------------------------------

    /// Called by the schedule function on this worker's thread.
    pub(crate) fn schedule_local(&self, task: Runnable, yielded: bool) {
        if yielded {
            // A yield goes to the back, behind everything that was waiting. No notification: the
            // task was already running here, so the amount of work has not grown, and this worker
            // will come back to it.
            self.push_local(task);
        } else if let Some(previous) = self.lifo().replace(task) {
            self.push_local(previous);
            self.shared.idle.notify_work(self.node);
        }
    }

    /// Called by the schedule function on this worker's thread while the worker is parked: the
    /// reactor it drives woke `task`. The task goes to this worker's own queue (visible to
    /// thieves), and the park ends so that this worker runs it, rather than the task waiting for
    /// another worker to be woken while this one keeps polling for I/O.
    ///
    /// The notification for other workers waits until the park has ended (the start of the next
    /// `poll_loop`, right after the reactor turn): one for all the tasks of the turn, and made
    /// now it could pick this very worker, which still counts as parked.
    pub(crate) fn schedule_while_parked(&self, task: Runnable) {
        self.push_local(task);
        self.local_wake.wake();
        if cfg!(loom) {
            // No reactor under loom, so no park ends early: tell the others now.
            self.shared.idle.notify_work(self.node);
        } else {
            self.notify_owed.set(true);
        }
    }

    /// Queues a task spawned on this worker.
    ///
    /// The new task takes the LIFO slot (its older occupant moves to the deque, where thieves can
    /// reach it), as Go's scheduler does with `runnext`: a task that spawns a child and then waits
    /// for it, or hands it a message, has the child run next on the same core with its data still
    /// in cache, instead of a parked worker being woken to steal it.
    pub(crate) fn spawn_local(&self, task: Runnable) {
        WorkerCounters::bump(&self.counters().spawns, 1);
        self.schedule_local(task, false);
    }

    fn push_local(&self, task: Runnable) {
        // SAFETY (both calls): owner, see `pop_local`.
        if let Err(task) = unsafe { self.local().push(task) } {
            self.overflow(task);
        }
    }

    /// The ring is full: its older half moves to the node injector, where siblings find it, and
    /// `task` takes one of the freed slots.
    fn overflow(&self, task: Runnable) {
        WorkerCounters::bump(&self.counters().overflows, 1);
        let injector = &self.shared.nodes[self.node].injector;
        // SAFETY: owner, see `pop_local`.
        match unsafe { self.local().take_half() } {
            Some(half) => {
                injector.push_batch(half);
                // SAFETY: owner. Half the ring was just freed, so this normally succeeds; if it
                // does not, the task goes to the injector too (never dropped here: a pooled task's
                // runnable must only ever be dropped through `drop_runnable`).
                if let Err(task) = unsafe { self.local().push(task) } {
                    injector.push(task);
                }
            }
            // A thief is copying out of the ring right now: send just this task.
            None => injector.push(task),
        }
    }

    fn next_local(&self) -> Option<Runnable> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        let c = self.counters();
        if tick % FAIRNESS_INTERVAL == 0 {
            // Busy workers never park, so nobody would drive the reactor under load but
            // async-io's own thread (with back-off): turn it now and then without blocking, at
            // most once per `reactor_turns::MIN_INTERVAL` in the whole runtime.
            #[cfg(not(loom))]
            if self.shared.reactor_turns.claim() {
                self.reactor_due.set(true);
            }
            if let Some(t) = self.take_from_node_injector() {
                return Some(t);
            }
            if let Some((t, n)) = self.steal_from_injector(&self.shared.global) {
                WorkerCounters::bump(&c.global_steals, 1);
                WorkerCounters::bump(&c.global_tasks, n);
                return Some(t);
            }
        }
        if let Some(t) = self.lifo().take() {
            if self.lifo_streak.get() < LIFO_STREAK {
                self.lifo_streak.set(self.lifo_streak.get() + 1);
                WorkerCounters::bump(&c.from_lifo, 1);
                return Some(t);
            }
            self.push_local(t);
        }
        self.lifo_streak.set(0);
        if let Some(t) = self.pop_local() {
            WorkerCounters::bump(&c.from_local, 1);
            return Some(t);
        }
        self.take_from_node_injector()
    }

    fn take_from_node_injector(&self) -> Option<Runnable> {
        let (t, n) = self.steal_from_injector(&self.shared.nodes[self.node].injector)?;
        WorkerCounters::bump(&self.counters().from_node_injector, n);
        Some(t)
    }

    // ---- stealing -----------------------------------------------------------------------

    fn steal_from_injector(&self, injector: &Inject) -> Option<(Runnable, u64)> {
        self.steal_from_injector_limited(injector, STEAL_BATCH)
    }

    fn steal_from_injector_limited(
        &self,
        injector: &Inject,
        limit: usize,
    ) -> Option<(Runnable, u64)> {
        // SAFETY: owner of the destination queue, see `pop_local`.
        unsafe { injector.pop_batch(self.local(), limit) }
    }

    fn steal_from_worker(&self, victim: usize, limit: usize) -> Option<(Runnable, u64)> {
        let victim = &self.shared.workers[victim].queue;
        if victim.is_empty() {
            return None;
        }
        // SAFETY: we own the destination queue (see `pop_local`), and never steal from ourselves
        // (victim lists exclude the worker itself).
        unsafe { victim.steal_into(self.local(), limit) }
    }

    fn random(&self, n: usize) -> usize {
        // xorshift64*: cheap, and good enough to spread the victims' starting points.
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize % n
    }

    fn steal_from_workers(&self, victims: &[usize], limit: usize) -> Option<(Runnable, u64)> {
        let n = victims.len();
        if n == 0 {
            return None;
        }
        let start = self.random(n);
        (0..n).find_map(|i| self.steal_from_worker(victims[(start + i) % n], limit))
    }

    /// Searches for work as a searcher, a few rounds with growing pauses before giving up: a
    /// park and the wake-up that ends it cost two system calls, which is more than a short spin,
    /// and while we search nobody needs to wake a parked worker for new work.
    fn search(&self) -> Option<Runnable> {
        if !self.searching.get() {
            if !self.shared.idle.try_begin_search(self.node) {
                return None;
            }
            self.searching.set(true);
        }
        for round in 0..SEARCH_ROUNDS {
            if let Some(t) = self.search_once() {
                return Some(t);
            }
            if self.shared.is_closed() {
                return None;
            }
            for _ in 0..(1u32 << round.min(6)) {
                std::hint::spin_loop();
            }
        }
        None
    }

    fn search_once(&self) -> Option<Runnable> {
        if let Some(t) = self.pop_local().or_else(|| self.lifo().take()) {
            return Some(t);
        }
        if let Some(t) = self.take_from_node_injector() {
            return Some(t);
        }
        let shared = &*self.shared;
        let plan = &shared.victims[self.index];
        let c = self.counters();

        if let Some((t, n)) = self.steal_from_workers(&plan.siblings, STEAL_BATCH) {
            WorkerCounters::bump(&c.sibling_steals, 1);
            WorkerCounters::bump(&c.sibling_tasks, n);
            return Some(t);
        }

        if !plan.remote.is_empty() && self.remote_allowed() {
            let found = plan.remote.iter().find_map(|(node, workers)| {
                self.steal_from_injector_limited(&shared.nodes[*node].injector, REMOTE_STEAL_BATCH)
                    .or_else(|| self.steal_from_workers(workers, REMOTE_STEAL_BATCH))
            });
            match found {
                Some((t, n)) => {
                    self.remote_backoff.set(0);
                    WorkerCounters::bump(&c.remote_steals, 1);
                    WorkerCounters::bump(&c.remote_tasks, n);
                    return Some(t);
                }
                None => {
                    let b = self.remote_backoff.get();
                    self.remote_backoff.set((b * 2 + 1).min(MAX_REMOTE_BACKOFF));
                }
            }
        }

        if let Some((t, n)) = self.steal_from_injector(&shared.global) {
            WorkerCounters::bump(&c.global_steals, 1);
            WorkerCounters::bump(&c.global_tasks, n);
            return Some(t);
        }
        None
    }

    /// Remote nodes are searched only every `remote_backoff + 1` rounds after failed attempts, so
    /// an idle node does not keep pulling a busy node's cache lines for nothing.
    fn remote_allowed(&self) -> bool {
        let skipped = self.remote_skipped.get();
        if skipped < self.remote_backoff.get() {
            self.remote_skipped.set(skipped + 1);
            return false;
        }
        self.remote_skipped.set(0);
        true
    }

    // ---- parking ------------------------------------------------------------------------

    /// Starts an asynchronous park: the same steps as the blocking `park` of the loom build (the last
    /// searcher re-checks; listener, then sleeper count, then a re-check of every queue), but
    /// the wait is the `Pending` this returns, and `block_on` drives the reactor meanwhile.
    /// `Ready` means: look for work again.
    #[cfg(not(loom))]
    fn begin_park(&self, cx: &mut Context<'_>) -> Poll<()> {
        let shared = &*self.shared;
        if self.stop_searching_sees_work() {
            // This worker must take it (see `must_look_again`).
            self.end_remote_backoff();
            self.resume_as_searcher();
            return Poll::Ready(());
        }
        WorkerCounters::bump(&self.counters().parks, 1);
        // Before it counts as a sleeper: work published meanwhile is seen by the re-check below.
        self.sort_pool();
        let listener = shared.idle.begin_park(self.node);
        if self.must_look_again() {
            self.end_park(listener);
            // Let whoever published the work (or the searchers) have the CPU before looking
            // again: with more workers than cores, a worker spinning here takes it from them.
            std::thread::yield_now();
            return Poll::Ready(());
        }
        *self.listener.borrow_mut() = Some(listener);
        self.local_wake.take_woken();
        self.set_parked(true);
        self.poll_park(cx)
    }

    /// Puts the shared free lists back in address order if enough carriers went through them
    /// since they were last sorted (`SharedPool::sort_tops`): a worker about to park has the time.
    fn sort_pool(&self) {
        let shared = &*self.shared;
        if !shared.pool_enabled {
            return;
        }
        let mut scratch = self.pool.sort_scratch.borrow_mut();
        let sorted = shared.pool.sort_tops(&mut scratch);
        WorkerCounters::bump(&self.counters().pool_sorts, sorted);
    }

    /// The re-check of a park, made after this worker counts as a sleeper: whether it must look
    /// for work again instead of blocking.
    ///
    /// Work is visible but this worker did not take it, either because it is not a searcher or
    /// because it was skipping remote nodes (remote backoff). If somebody is searching, this
    /// worker may park all the same: the searchers take the work and wake the next worker as they
    /// find it (see `idle.rs`). Spinning instead cost the hierarchy its share of the CPU when
    /// workers outnumber cores (four workers on two, 2x2 against 1x4). If nobody is searching,
    /// this worker must take the work itself; visible work is evidence enough that a remote steal
    /// would find something, so the remote backoff ends.
    fn must_look_again(&self) -> bool {
        let shared = &*self.shared;
        if shared.is_closed() {
            return true;
        }
        if !shared.has_visible_work() || shared.idle.has_searchers() {
            return false;
        }
        self.end_remote_backoff();
        true
    }

    fn end_remote_backoff(&self) {
        self.remote_backoff.set(0);
        self.remote_skipped.set(0);
    }

    /// Polls a park in progress: it ends when the listener is notified, or when the reactor
    /// (driven by this thread while parked) put tasks in this worker's queue.
    #[cfg(not(loom))]
    fn poll_park(&self, cx: &mut Context<'_>) -> Poll<()> {
        use std::future::Future;
        let notified = {
            let mut listener = self.listener.borrow_mut();
            let listener = listener.as_mut().expect("a parked worker has a listener");
            std::pin::Pin::new(listener).poll(cx).is_ready()
        };
        if !notified && !self.local_wake.take_woken() {
            self.local_wake.set_waker(Some(cx.waker()));
            return Poll::Pending;
        }
        self.local_wake.set_waker(None);
        self.set_parked(false);
        if notified {
            // Woken for new work: a worker of another node is only woken when the publisher's
            // node has nobody parked, so the work is there for the taking.
            self.end_remote_backoff();
        }
        let listener = self.listener.borrow_mut().take();
        if let Some(listener) = listener {
            self.end_park(listener);
        }
        Poll::Ready(())
    }

    /// Ends a park (asynchronous form): the sleeper counts go down, and if that ended a wake-up
    /// in flight, this worker takes over what it promised (`resume_as_searcher`).
    #[cfg(not(loom))]
    fn end_park(&self, listener: crate::sync::Listener) {
        if self.shared.idle.end_park(self.node, listener) {
            self.resume_as_searcher();
        }
    }

    /// Others rely on this worker to look for work: its park ended a wake-up in flight (on which
    /// publishers may have relied instead of waking a worker; `Idle::end_park`), or it was the
    /// last searcher and saw work at its re-check (parked workers may have relied on it). It
    /// looks as a searcher, so that the first task it gets, from its own queues or anywhere else,
    /// makes it wake the next worker as the last searcher (`run_task`), and finding nothing makes
    /// it re-check every queue before it parks. If it cannot become one, the searchers there are
    /// do the same.
    ///
    /// Without this, a worker that went back for one node's task but found another in its own
    /// node's injector ran that one and woke nobody, and the first task waited until it was done
    /// (a unit test in `scheduler/mod.rs` hung on it; the loom model
    /// `a_woken_worker_that_runs_its_own_nodes_task_wakes_the_next` in `idle.rs` finds both
    /// cases).
    fn resume_as_searcher(&self) {
        if !self.searching.get() && self.shared.idle.try_begin_search(self.node) {
            self.searching.set(true);
        }
    }

    /// Ends this worker's search before it parks. `true` if it was the last searcher and a task
    /// is visible: it may not park then, because whoever published the task may have relied on a
    /// searcher to find it and woken nobody.
    fn stop_searching_sees_work(&self) -> bool {
        let shared = &*self.shared;
        self.searching.replace(false)
            && shared.idle.end_search(self.node)
            && shared.has_visible_work()
    }

    #[cfg(loom)]
    fn park(&self) {
        let shared = &*self.shared;
        if self.stop_searching_sees_work() {
            self.end_remote_backoff();
            self.resume_as_searcher();
            return;
        }
        WorkerCounters::bump(&self.counters().parks, 1);
        self.sort_pool();
        self.set_parked(true);
        let (waited, ended_wake) = shared.idle.park(self.node, || self.must_look_again());
        self.set_parked(false);
        if ended_wake {
            self.resume_as_searcher();
        }
        if !waited {
            // As in `begin_park`: let whoever published the work have the CPU first.
            std::thread::yield_now();
        }
    }
}

/// The body of a worker thread.
pub(crate) fn worker_main(shared: Arc<Shared>, index: usize) {
    // Counts this worker as exited however the thread ends (a panicking `on_thread_start` hook
    // included), so that shutdown never waits for a thread that is gone.
    struct Exited<'a>(&'a Shared);
    impl Drop for Exited<'_> {
        fn drop(&mut self) {
            *self.0.exited.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            self.0.exited_cv.notify_all();
        }
    }
    let _exited = Exited(&shared);
    if let Some(hook) = &shared.on_thread_start {
        hook();
    }
    let worker = Worker::new(shared.clone(), index);
    {
        let _enter = crate::context::enter(crate::Handle::from_shared(shared.clone()));
        worker.run();
    }
    drop(worker);
    if let Some(hook) = &shared.on_thread_stop {
        hook();
    }
}
