//! Pooled tasks: spawning reuses a *carrier* (a long-lived async-task runnable, see
//! [`carrier`]) instead of allocating a task, so steady-state spawning allocates nothing.
//!
//! # Why carriers
//!
//! async-task allocates every task itself and has no allocator hook, so memory can only be
//! recycled as whole runnables. A carrier runs one job at a time from an inline buffer and, when
//! the job is done and its join handle has taken the output (or was dropped), goes back to a free
//! list. Carriers come in size classes ([`CLASSES`]) so a small future does not pay for a big
//! buffer; a job whose future or output does not fit the largest class, or needs more than 8-byte
//! alignment, is spawned as a plain task (one allocation).
//!
//! # Free lists
//!
//! * Each worker keeps a list per class ([`LocalPool`]), touched only by its own thread: popping
//!   and pushing are plain `Vec` operations, no atomic read-modify-write.
//! * A list that grows past [`LOCAL_MAX`] spills [`BATCH`] carriers to the runtime's shared list
//!   ([`SharedPool`], one mutex per class); an empty one refills up to [`BATCH`] from it (Go's
//!   scheduler recycles goroutines the same way). Threads that are not workers use the shared list
//!   directly. The shared list is linked through the idle carriers' own buffers
//!   ([`free_stack`]), so it costs no memory of its own.
//! * The shared list is bounded in bytes (`Builder::task_pool_capacity`); carriers spilled past
//!   the bound are freed. Per-worker lists are bounded by count.
//! * A worker about to park puts the top of each shared list back in address order when
//!   [`SORT_AFTER`] carriers were filed there since it was last sorted ([`SharedPool::sort_tops`];
//!   why: [`free_stack`]'s "Address order").
//! * A spawn that finds no free carrier anywhere creates a run of [`CREATE_BATCH`] of them, so
//!   that carriers, which live long, sit together in the heap instead of between the short-lived
//!   allocations of the burst that needed them.
//!
//! A carrier is registered in the live-task registry once, when it is created, so teardown can
//! reach every job without any per-spawn bookkeeping.

pub(crate) mod carrier;
mod free_stack;

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_utils::CachePadded;

use carrier::{fits, CarrierFuture, Creating, FREE};
pub(crate) use carrier::{Carrier, CarrierHeader, JoinOutcome, PooledJoin};
use free_stack::{Chain, FreeStack};

use super::{Registry, Runnable, TaskMeta};
use crate::metrics::WorkerCounters;
use crate::scheduler::{worker, Shared};

/// Buffer sizes of the carrier classes, in bytes.
///
/// There is no 16-byte class: with the 88 bytes around the buffer (async-task's header, the
/// metadata, the carrier header) a 16-byte carrier is a 104-byte request, a 112-byte glibc chunk,
/// and carriers at 112-byte strides straddle cache lines unevenly: `chained_spawn` (a 16-byte
/// future) ran at 0.80x-0.94x of unpooled that way, against 0.70x-0.75x from 128-byte chunks
/// (same-session A/B), which a 32-byte buffer gives anyway.
pub(crate) const CLASSES: [usize; 5] = [32, 64, 128, 256, 512];

/// Most carriers of one class a worker keeps before spilling to the shared list.
pub(crate) const LOCAL_MAX: usize = 64;

/// Carriers moved per spill or refill.
pub(crate) const BATCH: usize = 32;

/// Carriers created together on a miss. One at a time, a burst (skynet) interleaves each
/// long-lived carrier with the job's own short-lived allocations (a boxed future, a buffer), and
/// once the burst is over the idle carriers pin a heap of small holes that the allocator keeps
/// walking: with ~200k idle carriers left that way, the next workload's first allocation in a
/// worker's glibc arena took 1-3 ms, every round (cpu_fanout ran 1.5x-2x slower pooled than
/// unpooled; gone with `MALLOC_ARENA_MAX=1`, with no carriers left idle, or with carriers made in
/// runs). Made in runs, carriers sit next to each other and the holes coalesce. At most
/// `CREATE_BATCH - 1` carriers per class and worker are made ahead of need.
pub(crate) const CREATE_BATCH: usize = 16;
const _: () = assert!(
    CREATE_BATCH <= LOCAL_MAX,
    "a run of new carriers fits a worker's list"
);

/// Carriers filed in a shared list since it was last sorted, from which a worker about to park
/// sorts it again. A sort walks up to [`SORT_MAX`] carriers (a cache miss each, about 50-100 us
/// for 1024), so it is paid at most once per this many carriers filed, and only by a worker with
/// nothing else to do.
pub(crate) const SORT_AFTER: usize = 1024;

/// Most carriers a sort takes from the top of a shared list: the ones the next refills hand out.
pub(crate) const SORT_MAX: usize = 1024;
const _: () = assert!(SORT_MAX % BATCH == 0, "a sort makes whole batches");

/// Approximate bytes of a carrier beyond its buffer (async-task header: 40; metadata: 16; the
/// schedule function: 0; carrier header: 32; allocator overhead: 8); used for the shared list's
/// byte bound.
pub(crate) const CARRIER_OVERHEAD: usize = 96;

/// Default bound of the shared free list.
pub(crate) const DEFAULT_CAPACITY_BYTES: usize = 64 << 20;

fn carrier_bytes(class: usize) -> usize {
    CLASSES[class] + CARRIER_OVERHEAD
}

/// The smallest class whose carriers can run `F`, if any.
pub(crate) const fn class_of<F: Future>() -> Option<usize> {
    let mut i = 0;
    while i < CLASSES.len() {
        if fits::<F>(CLASSES[i]) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A worker's own free lists.
#[derive(Default)]
pub(crate) struct LocalPool {
    lists: [RefCell<Vec<Runnable>>; CLASSES.len()],
    /// Where [`SharedPool::sort_tops`] sorts; empty between sorts. It keeps its capacity, so only
    /// a worker's first sort allocates.
    pub(crate) sort_scratch: RefCell<Vec<Runnable>>,
}

impl LocalPool {
    pub(crate) fn drain(&self) -> Vec<Runnable> {
        self.lists
            .iter()
            .flat_map(|l| std::mem::take(&mut *l.borrow_mut()))
            .collect()
    }
}

/// One class's shared free list.
///
/// `len` mirrors the list's length, written (a plain store, under the lock) whenever the list
/// changes, so that the byte bound can be checked across classes without taking their locks and
/// without a shared counter: a thread that is not a worker takes and returns one carrier per
/// spawn here, and a shared `fetch_add`/`fetch_sub` on each was two more atomic
/// read-modify-writes on that path. Padded so that workers spilling one class and another thread
/// taking from another do not share a cache line.
struct ClassList {
    carriers: Mutex<FreeStack>,
    len: AtomicUsize,
    /// Mirrors [`FreeStack::unsorted`] the same way, so that a worker about to park sees whether
    /// a sort is due without taking the lock.
    unsorted: AtomicUsize,
}

impl ClassList {
    fn new(class: usize) -> ClassList {
        ClassList {
            carriers: Mutex::new(FreeStack::new(class as u8)),
            len: AtomicUsize::new(0),
            unsorted: AtomicUsize::new(0),
        }
    }
}

/// The runtime's shared free lists, bounded in bytes.
pub(crate) struct SharedPool {
    lists: [CachePadded<ClassList>; CLASSES.len()],
    capacity: usize,
    pub(crate) created: AtomicU64,
    pub(crate) freed: AtomicU64,
}

/// A locked class list; its mirrors are brought up to date when the guard is dropped.
struct Locked<'a> {
    list: std::sync::MutexGuard<'a, FreeStack>,
    mirrors: &'a ClassList,
}

impl std::ops::Deref for Locked<'_> {
    type Target = FreeStack;
    fn deref(&self) -> &FreeStack {
        &self.list
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut FreeStack {
        &mut self.list
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.mirrors.len.store(self.list.len(), Ordering::Relaxed);
        self.mirrors
            .unsorted
            .store(self.list.unsorted(), Ordering::Relaxed);
    }
}

impl SharedPool {
    pub(crate) fn new(capacity: usize) -> SharedPool {
        SharedPool {
            lists: std::array::from_fn(|class| CachePadded::new(ClassList::new(class))),
            capacity,
            created: AtomicU64::new(0),
            freed: AtomicU64::new(0),
        }
    }

    fn lock(&self, class: usize) -> Locked<'_> {
        let l = &self.lists[class];
        Locked {
            // No user code runs under this lock.
            list: l.carriers.lock().unwrap_or_else(|e| e.into_inner()),
            mirrors: l,
        }
    }

    /// Bytes of the idle carriers in the shared lists (from the length mirrors: a list being
    /// changed right now may be counted as it was).
    fn idle_bytes(&self) -> usize {
        (0..CLASSES.len())
            .map(|c| self.lists[c].len.load(Ordering::Relaxed) * carrier_bytes(c))
            .sum()
    }

    /// Files free carriers of `class`; those past the byte bound are freed (after the lock, and
    /// after their slots in `registry` are removed). Allocates nothing.
    fn push(&self, registry: &Registry, class: usize, carriers: impl Iterator<Item = Runnable>) {
        let size = carrier_bytes(class);
        // Linked before the lock is taken: the lock only files the chain.
        let mut chain = Chain::of(class as u8, carriers);
        let excess = {
            let mut list = self.lock(class);
            // This class's own share is counted exactly (we hold its lock), the others' from
            // their mirrors.
            let others = self.idle_bytes() - list.len() * size;
            let room = self.capacity.saturating_sub(others) / size;
            let excess = chain.split_off(room.saturating_sub(list.len()));
            list.push(chain);
            excess
        };
        if excess.len() == 0 {
            return;
        }
        self.freed.fetch_add(excess.len() as u64, Ordering::Relaxed);
        for r in excess {
            // A carrier does not leave the registry by itself (it keeps no registry pointer);
            // the registry's waker would otherwise keep its memory alive until shutdown.
            let (r, carrier) = Carrier::of(r);
            if let Some(carrier) = carrier {
                // SAFETY: we hold the runnable.
                registry.remove(unsafe { carrier.header() }.registry_slot(r.metadata()));
            }
            drop(r); // FREE carriers: dropping the runnable drops the carrier.
        }
    }

    fn pop_one(&self, class: usize) -> Option<Runnable> {
        self.lock(class).pop()
    }

    fn pop_batch(&self, class: usize, n: usize, into: &mut Vec<Runnable>) -> usize {
        let chain = self.lock(class).pop_chain(n);
        // Walked after the lock is released. The chain's first carrier is to be used first, so
        // it goes on top of `into` (a stack popped from its end).
        let k = chain.len();
        let at = into.len();
        into.extend(chain);
        into[at..].reverse();
        k
    }

    /// How many more carriers of `class` the shared list's byte bound admits.
    fn room(&self, class: usize) -> usize {
        self.capacity.saturating_sub(self.idle_bytes()) / carrier_bytes(class)
    }

    /// Reverses the order of the `n` carriers on top of `class`'s list (fewer if it is shorter).
    fn reverse_top(&self, class: usize, n: usize) {
        self.lock(class).reverse_top(n);
    }

    /// Puts the top of every shared list that had [`SORT_AFTER`] carriers filed since its last
    /// sort back in address order: up to [`SORT_MAX`] carriers, the ones the next refills hand
    /// out (see [`free_stack`]'s "Address order"). `scratch` is the calling worker's buffer.
    /// Returns how many lists were sorted.
    ///
    /// The carriers are walked, sorted and linked without the lock. Meanwhile other threads find
    /// that many fewer carriers in the list (at worst one of them creates a run of new ones), and
    /// the byte bound may let the list grow by as many while they are out: they are all filed back.
    pub(crate) fn sort_tops(&self, scratch: &mut Vec<Runnable>) -> u64 {
        let mut sorted = 0;
        for class in 0..CLASSES.len() {
            if self.lists[class].unsorted.load(Ordering::Relaxed) < SORT_AFTER {
                continue;
            }
            let class_u8 = class as u8;
            let taken = {
                let mut list = self.lock(class);
                // Another worker parking at the same moment may have sorted it just now.
                if list.unsorted() < SORT_AFTER {
                    continue;
                }
                list.take_to_sort(SORT_MAX)
            };
            scratch.reserve(SORT_MAX);
            scratch.extend(taken);
            // The metadata sits at the same offset in every task, so its address orders the
            // tasks as their own addresses do.
            scratch.sort_unstable_by_key(|r| r.metadata() as *const TaskMeta as usize);
            let mut chains: [Chain; SORT_MAX / BATCH] =
                std::array::from_fn(|_| Chain::empty(class_u8));
            let n = free_stack::sorted_chains(class_u8, scratch, &mut chains);
            self.lock(class).file_sorted(&mut chains[..n]);
            sorted += 1;
        }
        sorted
    }

    /// Carriers idle in the shared lists.
    pub(crate) fn idle(&self) -> usize {
        (0..CLASSES.len()).map(|c| self.lock(c).len()).sum()
    }

    pub(crate) fn drain(&self) -> Vec<Runnable> {
        let mut out = Vec::new();
        for c in 0..CLASSES.len() {
            let chain = self.lock(c).take_all();
            out.extend(chain);
        }
        out
    }
}

/// Creates a carrier of `class` and files it, free, in the pool (the caller then pops it).
fn create(shared: &Arc<Shared>, class: usize, shard: usize) {
    let schedule = super::schedule_fn();
    let registry = &shared.registry;
    let Some(mut slot) = registry.reserve(shard) else {
        return; // shut down: the caller falls back to a plain task
    };
    let (registry_shard, registry_key) = slot.slot().into_parts();
    let class_u8 = class as u8;
    let builder =
        async_task::Builder::new().metadata(TaskMeta::carrier(shared, class_u8, registry_shard));
    macro_rules! carrier {
        ($n:literal) => {
            builder.spawn(move |_| CarrierFuture::<$n>::new(registry_key), schedule)
        };
    }
    let (runnable, task) = match CLASSES[class] {
        32 => carrier!(32),
        64 => carrier!(64),
        128 => carrier!(128),
        256 => carrier!(256),
        _ => carrier!(512),
    };
    slot.fill(runnable.waker());
    task.detach();
    shared.pool.created.fetch_add(1, Ordering::Relaxed);
    // The first poll checks (or records) the class's shape and wakes the carrier; the schedule
    // function then finds it FREE and files it in this thread's free list (or the shared one).
    let task = runnable.into_raw();
    carrier::CREATING.with(|c| {
        c.set(Creating {
            task: task.as_ptr().cast_const(),
            class: class_u8,
        })
    });
    // SAFETY: `task` is the pointer `into_raw` just returned, turned back exactly once.
    unsafe { Runnable::from_raw(task) }.run();
}

/// Takes a free carrier of `class`, from the worker's list, the shared list, or a new run of
/// [`CREATE_BATCH`] of them. `None` once the runtime is shut down, or on a thread that is not a
/// worker when the shared list has no room for a new carrier.
fn acquire(shared: &Arc<Shared>, w: Option<&worker::Worker>, class: usize) -> Option<Runnable> {
    for _ in 0..4 {
        if let Some(w) = w {
            let counters = &shared.workers[w.index].counters;
            let mut list = w.pool.lists[class].borrow_mut();
            if let Some(r) = list.pop() {
                WorkerCounters::bump(&counters.pool_hits, 1);
                return Some(r);
            }
            if shared.pool.pop_batch(class, BATCH, &mut list) > 0 {
                WorkerCounters::bump(&counters.pool_refills, 1);
                WorkerCounters::bump(&counters.pool_hits, 1);
                return list.pop();
            }
            WorkerCounters::bump(&counters.pool_misses, 1);
        } else {
            if let Some(r) = shared.pool.pop_one(class) {
                return Some(r);
            }
        }
        if shared.is_closed() {
            return None;
        }
        let shard = w.map_or(shared.registry.num_shards() - 1, |w| w.index);
        // A worker files its new carriers in its own list; another thread files them in the
        // shared one, whose byte bound would free at once whatever does not fit (with none
        // fitting, the job runs as a plain task rather than in a carrier made to be freed).
        let run = match w {
            Some(_) => CREATE_BATCH,
            None => match shared.pool.room(class).min(CREATE_BATCH) {
                0 => return None,
                room => room,
            },
        };
        for _ in 0..run {
            create(shared, class, shard);
        }
        // Each new carrier was filed on top of the list it went to, so the last one made would be
        // used first: put the run back in the order it was made, lowest address first as a fresh
        // run from the allocator usually is. The carriers keep the order they are first used in,
        // and walking them against the grain made spawn_many 1.4x-2x slower at steady state.
        match w {
            Some(w) => {
                let mut list = w.pool.lists[class].borrow_mut();
                // The list was empty (that is why we are here) and a run never overflows it.
                let at = list.len().saturating_sub(CREATE_BATCH);
                list[at..].reverse();
            }
            None => shared.pool.reverse_top(class, run),
        }
    }
    None
}

/// Whether a carrier is free (its runnable belongs in a free list, not a run queue).
pub(crate) fn carrier_is_free(carrier: &CarrierHeader) -> bool {
    carrier::phase(carrier.state.load(Ordering::Acquire)) == FREE
}

/// Files a FREE carrier's runnable (called by the schedule function).
/// `running` is this thread's worker if it belongs to `shared` and is running tasks (not parked
/// in the reactor).
pub(crate) fn recycle(
    shared: &Arc<Shared>,
    runnable: Runnable,
    class: usize,
    running: Option<&worker::Worker>,
) {
    if let Some(w) = running {
        let mut list = w.pool.lists[class].borrow_mut();
        list.push(runnable);
        if list.len() > LOCAL_MAX {
            let at = list.len() - BATCH;
            WorkerCounters::bump(&shared.workers[w.index].counters.pool_spills, 1);
            shared.pool.push(&shared.registry, class, list.drain(at..));
        }
    } else {
        shared
            .pool
            .push(&shared.registry, class, std::iter::once(runnable));
    }
}

/// Installs `future` in a pooled carrier, if pooling is on and the future fits a class.
/// Returns the future back otherwise.
#[allow(clippy::type_complexity)]
pub(crate) fn try_spawn_pooled<F>(
    shared: &Arc<Shared>,
    w: Option<&worker::Worker>,
    home_node: usize,
    future: F,
) -> Result<(Runnable, PooledJoin<F::Output>), F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Some(class) = class_of::<F>() else {
        return Err(future);
    };
    if !shared.pool_enabled {
        return Err(future);
    }
    let Some(runnable) = acquire(shared, w, class) else {
        return Err(future);
    };
    let (runnable, carrier) = Carrier::of(runnable);
    let carrier = carrier.expect("a pooled carrier is initialised");
    // SAFETY: `class_of` chose a class whose buffer fits `F` and its output; we hold the runnable.
    let generation = unsafe { carrier.install(runnable.metadata(), future, home_node) };
    debug_assert_eq!(usize::from(runnable.metadata().class), class);
    let join = PooledJoin::new(carrier, class as u8, generation);
    Ok((runnable, join))
}

/// Pre-populates the shared pool with `n` carriers of every class up to 256 bytes.
pub(crate) fn prealloc(shared: &Arc<Shared>, n: usize) {
    for (class, _) in CLASSES
        .iter()
        .enumerate()
        .take_while(|(_, &size)| size <= 256)
    {
        for _ in 0..n {
            create(shared, class, shared.registry.num_shards() - 1);
        }
    }
}
