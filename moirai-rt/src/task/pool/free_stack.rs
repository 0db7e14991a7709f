//! One class's shared free list, linked through the free carriers' own job buffers.
//!
//! # Why intrusive
//!
//! A `Vec<Runnable>` costs eight bytes per idle carrier and never gives them back: after `skynet`
//! (~185k carriers, all idle at the end of a run) it held 1.5 MB, about 4% of the pooled
//! runtime's peak RSS, in a workload whose peak the task-pool bar bounds at 1.2x unpooled. A free
//! carrier's buffer holds nothing (no future, no output), so the list lives there instead, at no
//! cost in memory.
//!
//! # Shape
//!
//! A stack of *chains*. Workers spill and refill [`BATCH`] carriers at a time, so a chain is
//! usually one spill, and a refill takes the top chain whole: O(1) under the lock, whatever its
//! length, with the walk through the carriers (which the refill's spawns are about to touch
//! anyway) done after the lock is released. Carriers filed one at a time (by threads that are not
//! workers) join the top chain while it is shorter than [`BATCH`], so chains stay long.
//!
//! The top chain's description (first, last, length) and the next chain's first carrier are kept
//! in the [`FreeStack`] itself, not in a carrier: taking or filing one carrier then writes no
//! other carrier's memory under the lock. (A first version kept every chain's description in its
//! first carrier, so taking a carrier rewrote the next one's, usually a cache miss: the store had
//! to complete before the lock's release, and a spawn from outside the runtime took ~80 ns
//! longer.) After taking a carrier, the next one's buffer is prefetched, since that is where
//! the next take and that carrier's next job will look.
//!
//! # Address order
//!
//! Left alone, the order of the carriers drifts: workers push and pop their own lists LIFO,
//! spill and refill 32 at a time, and two workers interleave their spills, so after a few hundred
//! bursts consecutive spawns get carriers from all over the pool's memory. That costs: a
//! long-lived runtime's `yield_many` (1000 jobs, each polled 200 times, two workers) got 10%-20%
//! slower than the same workload on a new runtime, while putting the shared list back in address
//! order brought it back to 1.00x-1.02x (a new runtime's carriers come from the allocator in runs,
//! in address order). glibc keeps the unpooled runtime in order the same way: it coalesces the
//! freed tasks and carves new ones in address order. So the stack counts the carriers filed since
//! it was last sorted ([`FreeStack::unsorted`]), and [`super::SharedPool::sort_tops`] takes the
//! top ones out, sorts them and files them back ([`FreeStack::file_sorted`]).
//!
//! # Invariants
//!
//! * Every carrier in a stack or a [`Chain`] is FREE, of the stack's class, and its runnable is
//!   owned by that stack or chain as its raw task pointer: nobody else reads or writes its buffer
//!   (a stale wake-up of a carrier whose runnable exists is a no-op in async-task).
//! * `next` links a chain's carriers in order and is null at its end.
//! * The first carrier of every chain below the top one holds `below` (the first carrier of the
//!   chain under it, null at the bottom), `last` and `len`; the top chain's are in the stack's
//!   fields. Nothing else reads `below`, `last` or `len`.
//! * `FreeStack::len` is the sum of the chains' lengths.

use std::ptr::{self, NonNull};

use super::carrier::{Carrier, FreeLinks};
use super::BATCH;
use crate::task::Runnable;

/// A run of free carriers of one class, owned, linked through their buffers.
pub(crate) struct Chain {
    first: *mut (),
    last: *mut (),
    len: usize,
    class: u8,
}

// SAFETY: a chain owns its carriers' runnables (as raw task pointers), and `Runnable` is `Send`.
unsafe impl Send for Chain {}

/// The links of an owned raw task pointer of `class`.
///
/// Reading or writing through it needs `task` owned by the caller's stack or chain (see the
/// invariants), and a field read only after it was written.
fn links(task: *mut (), class: u8) -> *mut FreeLinks {
    debug_assert!(!task.is_null());
    // SAFETY: owned tasks are live, initialised carriers of `class` (the invariants), and came
    // from `Runnable::into_raw`, so they are not null.
    unsafe { Carrier::from_task(NonNull::new_unchecked(task), class) }.links()
}

/// Reads `next`.
///
/// # Safety
/// `task` is owned by the caller's stack or chain, which linked it.
unsafe fn next_of(task: *mut (), class: u8) -> *mut () {
    // SAFETY: as the caller guarantees: owned, and `next` written when it joined its chain.
    unsafe { (*links(task, class)).next }
}

/// Writes `next`.
///
/// # Safety
/// `task` is owned by the caller's stack or chain.
unsafe fn set_next(task: *mut (), class: u8, next: *mut ()) {
    // SAFETY: owned and FREE, so its buffer is ours to write.
    unsafe { (*links(task, class)).next = next }
}

/// Hints the processor to fetch `task`'s links (the start of its buffer) into the cache.
fn prefetch(task: *mut (), class: u8) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if !task.is_null() {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint: it reads nothing the program sees and cannot fault,
        // whatever the address; SSE, which it needs, is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(links(task, class).cast::<i8>()) };
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = (task, class);
}

impl Chain {
    pub(crate) const fn empty(class: u8) -> Chain {
        Chain {
            first: ptr::null_mut(),
            last: ptr::null_mut(),
            len: 0,
            class,
        }
    }

    /// Links free carriers of `class` into a chain as a stack would file them one by one: the
    /// last one given comes out first. Each runnable must be a FREE carrier of `class`.
    pub(crate) fn of(class: u8, carriers: impl IntoIterator<Item = Runnable>) -> Chain {
        let mut chain = Chain::empty(class);
        for r in carriers {
            debug_assert_eq!(r.metadata().class, class);
            chain.push_front(r.into_raw().as_ptr());
        }
        chain
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Gives up the carriers without freeing them (they were handed on).
    fn forget(&mut self) {
        self.first = ptr::null_mut();
        self.last = ptr::null_mut();
        self.len = 0;
    }

    /// Puts a carrier in front (it is popped first).
    fn push_front(&mut self, task: *mut ()) {
        // SAFETY: the chain owns `task` from now on.
        unsafe { set_next(task, self.class, self.first) };
        if self.last.is_null() {
            self.last = task;
        }
        self.first = task;
        self.len += 1;
    }

    /// Takes the first carrier.
    fn pop_front(&mut self) -> Option<*mut ()> {
        if self.first.is_null() {
            return None;
        }
        let task = self.first;
        // SAFETY: the chain owns and linked its first carrier.
        self.first = unsafe { next_of(task, self.class) };
        if self.first.is_null() {
            self.last = ptr::null_mut();
        }
        self.len -= 1;
        Some(task)
    }

    /// Splits the chain after its first `k` carriers (walking them), returning the rest.
    pub(crate) fn split_off(&mut self, k: usize) -> Chain {
        let mut rest = Chain::empty(self.class);
        if k >= self.len {
            return rest;
        }
        if k == 0 {
            return std::mem::replace(self, rest);
        }
        let mut at = self.first;
        for _ in 1..k {
            // SAFETY: the chain owns and linked its first `k` carriers, which exist (`k < len`).
            at = unsafe { next_of(at, self.class) };
        }
        // SAFETY: as above; `at` is the k-th carrier.
        rest.first = unsafe { next_of(at, self.class) };
        rest.last = self.last;
        rest.len = self.len - k;
        // SAFETY: as above.
        unsafe { set_next(at, self.class, ptr::null_mut()) };
        self.last = at;
        self.len = k;
        rest
    }

    /// Appends `other` after this chain's last carrier.
    fn append(&mut self, mut other: Chain) {
        if other.len == 0 {
            return;
        }
        if self.last.is_null() {
            std::mem::swap(self, &mut other);
            return;
        }
        // SAFETY: this chain owns its last carrier.
        unsafe { set_next(self.last, self.class, other.first) };
        self.last = other.last;
        self.len += other.len;
        other.forget();
    }
}

impl Iterator for Chain {
    type Item = Runnable;

    fn next(&mut self) -> Option<Runnable> {
        let task = self.pop_front()?;
        // SAFETY: the chain owned this task pointer, taken from `into_raw`, and gives it up here,
        // exactly once.
        Some(unsafe { Runnable::from_raw(NonNull::new_unchecked(task)) })
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        // FREE carriers: dropping their runnables frees them.
        for r in self.by_ref() {
            drop(r);
        }
    }
}

/// The stack of chains (see the module docs). Lives under its class list's mutex.
pub(crate) struct FreeStack {
    /// The top chain, described here rather than in its first carrier.
    top: Chain,
    /// The first carrier of the chain under the top one, null if none.
    below: *mut (),
    len: usize,
    /// Carriers filed by [`push`](Self::push) since the last [`take_to_sort`](Self::take_to_sort).
    unsorted: usize,
}

// SAFETY: as for `Chain`.
unsafe impl Send for FreeStack {}

impl FreeStack {
    pub(crate) const fn new(class: u8) -> FreeStack {
        FreeStack {
            top: Chain::empty(class),
            below: ptr::null_mut(),
            len: 0,
            unsorted: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Carriers filed since the top of the stack was last taken out to be sorted.
    pub(crate) fn unsorted(&self) -> usize {
        self.unsorted
    }

    fn class(&self) -> u8 {
        self.top.class
    }

    /// Files `chain` on top. A short chain joins the top chain when together they make at most
    /// [`BATCH`] (so carriers filed one at a time still come back out in batches).
    pub(crate) fn push(&mut self, chain: Chain) {
        self.unsorted += chain.len;
        self.file(chain);
    }

    /// Files chains that [`sorted_chains`] made out of carriers sorted by address, so that the
    /// lowest address comes out first; they do not count as unsorted.
    pub(crate) fn file_sorted(&mut self, chains: &mut [Chain]) {
        // The first chain holds the lowest addresses: it goes on last, on top.
        for chain in chains.iter_mut().rev() {
            let chain = std::mem::replace(chain, Chain::empty(self.class()));
            self.file(chain);
        }
    }

    /// Takes up to `max` carriers from the top to be sorted, and starts counting anew.
    pub(crate) fn take_to_sort(&mut self, max: usize) -> Chain {
        self.unsorted = 0;
        self.pop_chain(max)
    }

    fn file(&mut self, mut chain: Chain) {
        debug_assert_eq!(chain.class, self.class());
        if chain.len == 0 {
            return;
        }
        self.len += chain.len;
        if self.top.len > 0 && self.top.len + chain.len > BATCH {
            // The top chain goes under: its description moves into its first carrier.
            let class = self.class();
            let head = links(self.top.first, class);
            // SAFETY: the stack owns its top chain; only these three fields are written, `next`
            // stays as it is.
            unsafe {
                (*head).below = self.below;
                (*head).last = self.top.last;
                (*head).len = self.top.len;
            }
            self.below = self.top.first;
            self.top.forget();
        }
        // Our carriers go in front of what is left of the top chain (nothing, or few enough).
        let rest = std::mem::replace(&mut self.top, Chain::empty(chain.class));
        chain.append(rest);
        self.top = chain;
    }

    /// The chain under the top one becomes the top chain.
    fn raise_below(&mut self) {
        debug_assert_eq!(self.top.len, 0);
        if self.below.is_null() {
            return;
        }
        let class = self.class();
        let head = links(self.below, class);
        // SAFETY: the stack owns the chains below its top one, whose first carriers hold these
        // fields (the invariants).
        let (below, last, len) = unsafe { ((*head).below, (*head).last, (*head).len) };
        self.top = Chain {
            first: self.below,
            last,
            len,
            class,
        };
        self.below = below;
    }

    /// Takes the top carrier.
    pub(crate) fn pop(&mut self) -> Option<Runnable> {
        if self.top.len == 0 {
            self.raise_below();
        }
        let task = self.top.pop_front()?;
        self.len -= 1;
        prefetch(self.top.first, self.class());
        // SAFETY: the stack owned this task pointer (from `into_raw`) and gives it up here, once.
        Some(unsafe { Runnable::from_raw(NonNull::new_unchecked(task)) })
    }

    /// Takes up to `max` carriers: whole chains from the top, then part of one (walked) if the
    /// next chain would go past `max`. A refill of [`BATCH`] usually takes one whole chain.
    pub(crate) fn pop_chain(&mut self, max: usize) -> Chain {
        let mut out = Chain::empty(self.class());
        while out.len < max {
            if self.top.len == 0 {
                self.raise_below();
                if self.top.len == 0 {
                    break;
                }
            }
            let mut taken = std::mem::replace(&mut self.top, Chain::empty(out.class));
            self.top = taken.split_off(max - out.len);
            self.len -= taken.len;
            out.append(taken);
        }
        out
    }

    /// Reverses the order of the top `n` carriers (fewer if there are fewer).
    pub(crate) fn reverse_top(&mut self, n: usize) {
        let mut reversed = Chain::empty(self.class());
        for _ in 0..n {
            let Some(r) = self.pop() else { break };
            reversed.push_front(r.into_raw().as_ptr());
        }
        // The same carriers back, already counted when they were filed.
        self.file(reversed);
    }

    /// Takes every carrier.
    pub(crate) fn take_all(&mut self) -> Chain {
        self.pop_chain(usize::MAX)
    }
}

/// Links `carriers`, sorted by address (ascending), into chains of [`BATCH`], `chains[0]` holding
/// the lowest addresses, each chain with its lowest address first; `carriers` is left empty.
/// Returns how many chains were used. `chains` must have room (`len * BATCH >= carriers.len()`);
/// every runnable must be a FREE carrier of `class`. Links the carriers without any lock held:
/// the walk through them is the cost of sorting.
pub(crate) fn sorted_chains(
    class: u8,
    carriers: &mut Vec<Runnable>,
    chains: &mut [Chain],
) -> usize {
    let n = carriers.len().div_ceil(BATCH);
    assert!(n <= chains.len(), "room for every chain");
    for i in (0..n).rev() {
        // `Chain::of` files like a stack (the last given comes out first): hand it the carriers
        // highest address first.
        chains[i] = Chain::of(class, carriers.drain(i * BATCH..).rev());
    }
    n
}

impl Drop for FreeStack {
    fn drop(&mut self) {
        drop(self.take_all());
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task::pool::{create, CLASSES};

    /// `n` free carriers of the smallest class, made (and then taken back out of the shared
    /// pool) by a runtime that is returned with them and must outlive them.
    fn carriers(n: usize) -> (crate::Runtime, Vec<Runnable>) {
        // Pooling off: its worker then never sorts the shared list (which it would do when it
        // parks) while we take the new carriers back out of it.
        let rt = crate::Runtime::builder()
            .worker_threads(1)
            .task_pool(false)
            .build()
            .unwrap();
        let shared = rt.handle().shared.clone();
        let shard = shared.registry.num_shards() - 1;
        let mut out = Vec::new();
        for _ in 0..n {
            // This thread is not a worker: the new carrier goes to the shared list, on top.
            create(&shared, 0, shard);
            out.push(shared.pool.pop_one(0).expect("the carrier just made"));
        }
        (rt, out)
    }

    fn id(r: &Runnable) -> usize {
        r.waker().data() as usize
    }

    /// A tiny deterministic generator (xorshift), so a failure can be replayed.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                v.swap(i, self.below(i + 1));
            }
        }
    }

    #[test]
    fn links_fit_every_class() {
        assert!(std::mem::size_of::<FreeLinks>() <= CLASSES[0]);
    }

    #[test]
    fn behaves_like_a_stack_through_every_operation() {
        // Random pushes (single carriers, which join the top chain, and chains of up to twice a
        // batch), pops, partial and whole chain pops and reversals, checked against a `Vec` used
        // as a stack (its end is the top), carrier by carrier.
        let (_rt, mut spare) = carriers(4 * BATCH);
        let mut stack = FreeStack::new(0);
        let mut model: Vec<usize> = Vec::new();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        // Fewer rounds under miri, which runs them a thousand times slower.
        for _ in 0..if cfg!(miri) { 600 } else { 4000 } {
            match rng.below(6) {
                0 | 1 if !spare.is_empty() => {
                    let k = 1 + rng.below(spare.len().min(2 * BATCH));
                    let items: Vec<Runnable> = spare.drain(spare.len() - k..).collect();
                    model.extend(items.iter().map(id));
                    stack.push(Chain::of(0, items));
                }
                2 => {
                    let got = stack.pop().map(|r| {
                        let i = id(&r);
                        spare.push(r);
                        i
                    });
                    assert_eq!(got, model.pop());
                }
                3 => {
                    let n = 1 + rng.below(2 * BATCH);
                    let chain = stack.pop_chain(n);
                    let want: Vec<usize> = (0..n.min(model.len()))
                        .map(|_| model.pop().unwrap())
                        .collect();
                    assert_eq!(chain.len(), want.len());
                    let got: Vec<usize> = chain
                        .map(|r| {
                            let i = id(&r);
                            spare.push(r);
                            i
                        })
                        .collect();
                    assert_eq!(got, want);
                }
                4 => {
                    let n = rng.below(BATCH);
                    stack.reverse_top(n);
                    let at = model.len().saturating_sub(n);
                    model[at..].reverse();
                }
                _ => {}
            }
            assert_eq!(stack.len(), model.len());
        }
        let rest: Vec<usize> = stack.take_all().map(|r| id(&r)).collect();
        model.reverse();
        assert_eq!(rest, model);
        assert_eq!(stack.len(), 0);
    }

    #[test]
    fn single_carriers_come_back_out_as_one_batch() {
        // Carriers filed one at a time (by threads that are not workers) join the top chain, so a
        // refill takes them in one piece; the chain after it starts a new one.
        let (_rt, mut spare) = carriers(BATCH + 1);
        let mut stack = FreeStack::new(0);
        for r in spare.drain(..) {
            stack.push(Chain::of(0, [r]));
        }
        assert_eq!(
            stack.top.len, 1,
            "the carrier past a full batch starts a chain"
        );
        // SAFETY: the stack owns the chain below its top one, whose first carrier describes it.
        assert_eq!(unsafe { (*links(stack.below, 0)).len }, BATCH);
        assert_eq!(stack.pop_chain(BATCH + 1).len(), BATCH + 1);
    }

    #[test]
    fn split_and_dropped_chains_give_back_every_carrier() {
        let (_rt, spare) = carriers(10);
        let ids: Vec<usize> = spare.iter().map(id).collect();
        let mut chain = Chain::of(0, spare);
        let rest = chain.split_off(4);
        assert_eq!((chain.len(), rest.len()), (4, 6));
        let front: Vec<usize> = chain.map(|r| id(&r)).collect();
        let back: Vec<usize> = rest.map(|r| id(&r)).collect();
        let mut all = [front, back].concat();
        all.reverse();
        assert_eq!(all, ids);
        // A stack or chain dropped with carriers in it frees them (checked for leaks and double
        // frees by miri and the sanitizer runs of the pool tests).
        let (_rt2, spare) = carriers(BATCH + 3);
        let mut stack = FreeStack::new(0);
        stack.push(Chain::of(0, spare));
        drop(stack.pop_chain(5));
        drop(stack);
    }

    #[test]
    fn a_sorted_top_comes_out_in_address_order_in_whole_batches() {
        let n = 3 * BATCH + 5;
        let keep = BATCH + 3;
        let (_rt, mut spare) = carriers(n);
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        rng.shuffle(&mut spare);
        let mut stack = FreeStack::new(0);
        // Filed in a scrambled order, in chains of assorted lengths.
        while !spare.is_empty() {
            let k = 1 + rng.below(spare.len().min(BATCH));
            stack.push(Chain::of(0, spare.drain(spare.len() - k..)));
        }
        assert_eq!(stack.unsorted(), n);
        let mut taken: Vec<Runnable> = stack.take_to_sort(n - keep).collect();
        assert_eq!((taken.len(), stack.unsorted()), (n - keep, 0));
        taken.sort_unstable_by_key(id);
        let want: Vec<usize> = taken.iter().map(id).collect();
        let mut chains: [Chain; 4] = std::array::from_fn(|_| Chain::empty(0));
        let used = sorted_chains(0, &mut taken, &mut chains);
        assert!(taken.is_empty());
        assert_eq!(used, (n - keep).div_ceil(BATCH));
        stack.file_sorted(&mut chains[..used]);
        assert_eq!((stack.len(), stack.unsorted()), (n, 0));
        // Refills take whole batches (no walk under the lock), lowest addresses first.
        let mut got = Vec::new();
        for _ in 0..(n - keep) / BATCH {
            let chain = stack.pop_chain(BATCH);
            assert_eq!(chain.len(), BATCH);
            got.extend(chain.map(|r| {
                let i = id(&r);
                spare.push(r);
                i
            }));
        }
        while got.len() < want.len() {
            let r = stack.pop().expect("every carrier filed back");
            got.push(id(&r));
            spare.push(r);
        }
        assert_eq!(got, want);
        assert_eq!(
            stack.len(),
            keep,
            "the carriers below the sorted ones are still there"
        );
        stack.reverse_top(keep);
        assert_eq!(
            (stack.len(), stack.unsorted()),
            (keep, 0),
            "a reversal files nothing new"
        );
    }

    #[test]
    fn the_shared_list_is_sorted_once_enough_was_filed_since_the_last_sort() {
        use crate::task::pool::{SharedPool, CARRIER_OVERHEAD, SORT_AFTER, SORT_MAX};
        let (rt, mut spare) = carriers(SORT_AFTER + 2 * BATCH);
        let registry = &rt.handle().shared.registry;
        let pool = SharedPool::new(usize::MAX / 2);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        rng.shuffle(&mut spare);
        let total = spare.len();
        let mut scratch = Vec::new();
        // Spilled a batch at a time, as workers do; one batch short of a sort.
        let mut filed = 0;
        let mut filed_ids = Vec::new();
        while filed + BATCH < SORT_AFTER {
            filed_ids.extend(spare[..BATCH].iter().map(id));
            pool.push(registry, 0, spare.drain(..BATCH));
            filed += BATCH;
        }
        assert_eq!(pool.lock(0).unsorted(), filed);
        assert_eq!(pool.sort_tops(&mut scratch), 0, "not yet");
        pool.push(registry, 0, spare.drain(..));
        assert_eq!(pool.sort_tops(&mut scratch), 1);
        assert!(scratch.is_empty());
        assert_eq!(pool.idle(), total, "every carrier filed back");
        assert_eq!(pool.lock(0).unsorted(), 0);
        assert!(pool.idle_bytes() >= total * (CLASSES[0] + CARRIER_OVERHEAD));
        // The top SORT_MAX come out lowest address first, the rest as they were filed.
        let mut got: Vec<usize> = (0..total)
            .map(|_| {
                let r = pool.pop_one(0).expect("every carrier filed back");
                let i = id(&r);
                spare.push(r);
                i
            })
            .collect();
        let rest = got.split_off(SORT_MAX);
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in address order");
        // The first carriers filed, untouched: as a stack gives them back.
        let mut oldest: Vec<usize> = filed_ids[..total - SORT_MAX].to_vec();
        oldest.reverse();
        assert_eq!(rest, oldest);
        assert_eq!(pool.sort_tops(&mut scratch), 0, "nothing filed since");
    }
}
