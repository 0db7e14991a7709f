//! A carrier: a long-lived `async-task` runnable that runs one job at a time from an inline
//! buffer, and its state machine.
//!
//! # Layout
//!
//! A carrier is one allocation, made by async-task: header, [`TaskMeta`], schedule function, and
//! the future, a [`CarrierFuture<N>`]: a [`CarrierHeader`] (state word, wakers, job vtable) followed
//! by an `N`-byte, 8-aligned buffer. The buffer holds the job's future while it runs and its
//! output (`Result<T, Panic>`) once it finished. Its [`TaskMeta`] holds its size class; the
//! scheduler and the pool find the header of a [`Runnable`] from the task pointer and the class's
//! shape (recorded on the first poll of the class's first carrier), see [`Carrier::of`].
//!
//! # State word
//!
//! `state` (32 bits) holds a phase (`FREE`, `RUNNING`, `DONE`), flags, and a 24-bit generation in
//! the upper bits that install bumps for each job.
//!
//! * `FREE`: no job. The carrier is in a free list, or on its way there.
//! * `RUNNING`: a job is installed. Only the holder of the carrier's runnable touches the buffer.
//! * `DONE`: the buffer holds the output (unless `CANCELLED`), waiting for the join handle.
//! * `HANDLE`: a join handle refers to this job. While it is set the carrier is never reused or
//!   freed, which is what makes the handle's raw pointer valid; the handle clears it when it has
//!   taken the output or is dropped. `ABORT`: the handle asked for cancellation. `ORPHAN`: the
//!   runtime shut down while the handle was alive; the carrier's runnable was parked (as its raw
//!   task pointer) and the handle drops it when it lets go.
//!
//! # Memory
//!
//! The header is 32 bytes and the buffer 8-aligned right after it, so with async-task's header
//! (40 bytes with its `std` feature, which `blocking` turns on) and the 16-byte [`TaskMeta`] a
//! carrier of a 64-byte job is a 152-byte task: a 160-byte glibc chunk (glibc rounds the request
//! plus 8 up to 16, so 8 bytes more would make it 176), against 144 for a plain task of the same
//! future; the pool's peak memory is a figure of the task-pool issue. To fit 32 bytes the state
//! word is 32 bits and shares eight bytes with the registry key, and the class and the registry
//! shard live in the task's metadata (and the class also in the join handle).
//!
//! What it does not store:
//! * its own waker or task pointer: async-task's waker is the task pointer plus one vtable per
//!   task type, the header sits at a fixed offset from the task pointer, and every carrier of a
//!   class has the same type, so offset and vtable are kept once per class ([`SHAPES`]) and the
//!   waker is rebuilt from the header's address;
//! * its runnable while orphaned: that is the same task pointer (`Runnable::into_raw`);
//! * the registry's address: the pool removes a carrier's registry slot itself when it frees the
//!   carrier, the only time a carrier is freed while the runtime runs.
//!
//! Reaching the buffer or the task from the header needs a pointer whose provenance covers the
//! whole task allocation, not just the header: [`Carrier`] is that pointer (derived from the task
//! pointer, which only an owned runnable gives up). Inside its own poll the carrier uses the
//! `Pin<&mut Self>` async-task gives it instead.
//!
//! Who recycles: whichever of job and handle finishes last. A job that finishes with no handle
//! drops its output and goes `FREE`; a handle that lets go of a `DONE` job makes it `FREE`. Going
//! `FREE` always ends with a wake of the carrier, and the schedule function puts a `FREE`
//! carrier's runnable in a free list instead of a run queue.

use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::{self, MaybeUninit};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::OnceLock;
// The state word is loom's under `cfg(loom)`, so the hand-over protocol is model-checked.
use crate::sync::{AtomicU32, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::CLASSES;
use crate::task::registry::Slot;
use crate::task::{Panic, Runnable, TaskMeta};

/// The state word: 8 bits of phase and flags, 24 of generation. 32 bits so that it shares eight
/// bytes with the registry key (the header is 32 bytes: see "Memory" above). The generation only
/// tells a job from the next one on the same carrier while a join handle holds `HANDLE` (which
/// keeps the carrier from being reused at all) or a stale waker races a reuse, where a wrap after
/// 2^24 jobs costs at most a spurious poll.
pub(crate) type State = u32;

pub(crate) const FREE: State = 0;
pub(crate) const RUNNING: State = 1;
pub(crate) const DONE: State = 2;
const PHASE: State = 0b11;
pub(crate) const CANCELLED: State = 1 << 2;
pub(crate) const HANDLE: State = 1 << 3;
pub(crate) const ABORT: State = 1 << 4;
pub(crate) const ORPHAN: State = 1 << 5;
/// The join handle's waker is stored in `join_waker`.
const AWAITER: State = 1 << 6;
/// The join handle is writing `join_waker`; whoever finishes the job leaves it alone meanwhile.
const REGISTERING: State = 1 << 7;
const GEN_SHIFT: u32 = 8;
const GEN_ONE: State = 1 << GEN_SHIFT;

pub(crate) fn phase(s: State) -> State {
    s & PHASE
}

pub(crate) fn generation(s: State) -> State {
    s >> GEN_SHIFT
}

/// What a carrier needs to know about the job it runs, erased over the future's type.
pub(crate) struct JobVTable {
    /// Polls the future in the buffer; on `Ready`, drops it and writes its `Result<T, Panic>`.
    poll: unsafe fn(*mut u8, &mut Context<'_>) -> Poll<()>,
    /// Drops the future in the buffer (job cancelled).
    drop_future: unsafe fn(*mut u8),
    /// Drops the output in the buffer (nobody will take it).
    drop_output: unsafe fn(*mut u8),
}

struct VTableOf<F>(PhantomData<F>);

impl<F: Future> VTableOf<F> {
    const VTABLE: JobVTable = JobVTable {
        poll: poll_job::<F>,
        drop_future: drop_in_buffer::<F>,
        drop_output: drop_in_buffer::<Result<F::Output, Panic>>,
    };
}

/// # Safety
/// `buf` holds a live, pinned `F`.
unsafe fn poll_job<F: Future>(buf: *mut u8, cx: &mut Context<'_>) -> Poll<()> {
    // SAFETY: the caller guarantees `buf` holds a live `F`; it stays in place (the buffer is part
    // of a pinned carrier future) until it is dropped below.
    let fut = unsafe { Pin::new_unchecked(&mut *buf.cast::<F>()) };
    let output: Result<F::Output, Panic> = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(v)) => Ok(v),
        Err(panic) => Err(panic),
    };
    // A panic in the future's destructor must not take the worker down; the output stands.
    // SAFETY: the future is live and never used again after this drop.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        ptr::drop_in_place(buf.cast::<F>())
    }));
    // SAFETY: the output type fits the buffer (checked by `fits` at spawn) and the future's
    // memory is dead, so the buffer is free for it.
    unsafe { buf.cast::<Result<F::Output, Panic>>().write(output) };
    Poll::Ready(())
}

/// # Safety
/// `buf` holds a live `T`, which is not used again.
unsafe fn drop_in_buffer<T>(buf: *mut u8) {
    // SAFETY: as the caller guarantees.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        ptr::drop_in_place(buf.cast::<T>())
    }));
}

/// The task pointer (`Runnable::into_raw`) of the carrier `create` is about to poll for the first
/// time, which that poll checks against its waker's data pointer.
#[derive(Clone, Copy)]
pub(crate) struct Creating {
    pub(crate) task: *const (),
    /// The carrier's size class (its header does not keep it).
    pub(crate) class: u8,
}

thread_local! {
    pub(crate) static CREATING: Cell<Creating> = const {
        Cell::new(Creating { task: ptr::null(), class: 0 })
    };
}

/// What every task of a carrier class has in common: where the header sits in the task
/// allocation, and the vtable of the task's wakers.
#[derive(Clone, Copy)]
struct Shape {
    /// Bytes from the task pointer (async-task's allocation, also its waker's data pointer) to
    /// the carrier header.
    header_offset: usize,
    waker_vtable: &'static RawWakerVTable,
}

/// The [`Shape`] of each class, written by the first carrier of the class on its first poll and
/// checked by every later one. (A plain std `OnceLock`, not the loom shim: it is written once,
/// before any carrier of its class is shared, and is not part of any hand-over protocol.)
static SHAPES: [OnceLock<Shape>; CLASSES.len()] = [const { OnceLock::new() }; CLASSES.len()];

fn shape(class: u8) -> Shape {
    *SHAPES[class as usize]
        .get()
        .expect("an initialised carrier's class has its shape")
}

/// The part of a carrier that does not depend on its buffer size (40 bytes).
#[repr(C)]
pub(crate) struct CarrierHeader {
    pub(crate) state: AtomicU32,
    /// The carrier's key in the live-task registry (the shard is in the task's metadata); the
    /// pool removes it when it frees the carrier.
    registry_key: u32,
    /// The join handle's waker, guarded by AWAITER / REGISTERING in `state` (an AtomicWaker of
    /// our own, 8 bytes smaller).
    join_waker: UnsafeCell<Option<Waker>>,
    vtable: Cell<Option<&'static JobVTable>>,
}

#[repr(C, align(8))]
struct Buffer<const N: usize>([MaybeUninit<u8>; N]);

/// The future of a carrier with an `N`-byte job buffer.
///
/// `!Unpin` on purpose (`PhantomPinned`): async-task polls it through a `Pin<&mut Self>`, while a
/// join handle on another thread reads and writes the header's atomics and cells, and a `&mut`
/// to an `Unpin` type promises that nobody else touches the memory while it lives (the compiler
/// may mark it `noalias`; miri's Tree Borrows reports the handle's accesses as undefined
/// behaviour). A `&mut` to a `!Unpin` type makes no such promise: it is how self-referential
/// and shared-state futures are allowed to exist.
#[repr(C)]
pub(crate) struct CarrierFuture<const N: usize> {
    header: CarrierHeader,
    buf: Buffer<N>,
    _shared: std::marker::PhantomPinned,
}

/// Alignment of the job buffer: 8, so that it follows the 40-byte header without padding.
/// Futures (or outputs) that need more, such as those holding a `u128`, run as plain tasks.
const BUF_ALIGN: usize = mem::align_of::<Buffer<16>>();

/// Offset of the buffer from the header: the same for every `N` (the header is `repr(C)` and the
/// buffer's alignment does not depend on `N`).
const BUF_OFFSET: usize = mem::offset_of!(CarrierFuture<16>, buf);

// SAFETY (of the `Send` impl below): the header's cells are only touched by whoever holds the
// carrier's runnable (one thread at a time), or under the state-word protocol above.
unsafe impl<const N: usize> Send for CarrierFuture<N> {}

impl<const N: usize> CarrierFuture<N> {
    /// A free carrier whose registry key is `registry_key` (its shard and class are in the
    /// task's metadata).
    pub(crate) fn new(registry_key: u32) -> Self {
        debug_assert_eq!(mem::offset_of!(CarrierFuture<N>, buf), BUF_OFFSET);
        CarrierFuture {
            header: CarrierHeader {
                state: AtomicU32::new(FREE),
                registry_key,
                join_waker: UnsafeCell::new(None),
                vtable: Cell::new(None),
            },
            buf: Buffer([MaybeUninit::uninit(); N]),
            _shared: std::marker::PhantomPinned,
        }
    }
}

/// Whether a job of future `F` fits a buffer of `n` bytes (future and output both).
pub(crate) const fn fits<F: Future>(n: usize) -> bool {
    mem::size_of::<F>() <= n
        && mem::align_of::<F>() <= BUF_ALIGN
        && mem::size_of::<Result<F::Output, Panic>>() <= n
        && mem::align_of::<Result<F::Output, Panic>>() <= BUF_ALIGN
}

/// A carrier reached from outside its own poll: a pointer to its header with the provenance of
/// its whole task allocation (see the module docs), so that it can also reach the buffer after
/// the header and the task before it. [`Carrier::of`] makes one from a runnable.
#[derive(Clone, Copy)]
pub(crate) struct Carrier(NonNull<CarrierHeader>);

// SAFETY: a `Carrier` is an address; what may be done through it from which thread is governed by
// the state-word protocol (the same as for `&CarrierHeader`, which is `Sync` in effect).
unsafe impl Send for Carrier {}
unsafe impl Sync for Carrier {}

/// The links of a shared free list ([`super::free_stack`]), kept in the job buffer of a free
/// carrier, which holds nothing else while it is free. Raw task pointers (`Runnable::into_raw`),
/// null for none. `below`, `last` and `len` are written only in the first carrier of a chain
/// below the top one (see `free_stack`).
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct FreeLinks {
    /// The next carrier of the same chain.
    pub(crate) next: *mut (),
    /// The first carrier of the chain below this one in the stack.
    pub(crate) below: *mut (),
    /// The last carrier of this chain.
    pub(crate) last: *mut (),
    /// Carriers in this chain.
    pub(crate) len: usize,
}

const _: () = assert!(
    mem::size_of::<FreeLinks>() <= CLASSES[0] && mem::align_of::<FreeLinks>() <= BUF_ALIGN,
    "the free-list links fit the smallest buffer"
);

impl Carrier {
    /// The carrier of a raw task pointer (`Runnable::into_raw`) of a carrier of `class`.
    ///
    /// # Safety
    /// `task` is the task pointer of a live, initialised carrier of `class`.
    pub(crate) unsafe fn from_task(task: NonNull<()>, class: u8) -> Carrier {
        // SAFETY: as the caller guarantees, a carrier task of `class`, which has its shape.
        unsafe { Carrier::at(task, shape(class)) }
    }

    /// The carrier whose task pointer is `task`, given its class's shape. The pointer keeps the
    /// task pointer's provenance: the whole allocation.
    ///
    /// # Safety
    /// `task` is the task pointer of a carrier of the class `shape` was recorded for.
    unsafe fn at(task: NonNull<()>, shape: Shape) -> Carrier {
        let header = task
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(shape.header_offset)
            .cast::<CarrierHeader>();
        // SAFETY: the header lies `header_offset` bytes into the task allocation (the same for
        // every carrier of the class: checked on each one's first poll), so it is not null.
        Carrier(unsafe { NonNull::new_unchecked(header) })
    }

    /// Where the free-list links live: the start of the buffer.
    ///
    /// Reads and writes through the pointer need the carrier FREE and owned by the caller (its
    /// runnable held, or kept as its raw task pointer), so that nobody else reads or writes the
    /// buffer meanwhile; a field may only be read after it was written since the carrier went FREE.
    pub(crate) fn links(self) -> *mut FreeLinks {
        // A FREE carrier's buffer holds no job (no future, no output), so while the caller owns
        // the carrier it may use it; `FreeLinks` fits the smallest buffer and its alignment
        // (asserted above).
        self.buf().cast::<FreeLinks>()
    }

    /// The carrier behind a runnable, if it is one (handing the runnable back).
    ///
    /// The header is found from the task pointer and the class's shape, so it carries the task
    /// pointer's provenance (the whole allocation), which a pointer derived from a reference
    /// into the task (its metadata, or `&self` during a poll) would not. The runnable is taken by
    /// value because `into_raw` is the only way to that pointer.
    pub(crate) fn of(runnable: Runnable) -> (Runnable, Option<Carrier>) {
        let class = runnable.metadata().class;
        if class == TaskMeta::PLAIN {
            return (runnable, None);
        }
        // Every carrier's first poll happens inside `create`, before anything else can reach its
        // runnable, and records its class's shape if no carrier of the class did before.
        let Some(shape) = SHAPES[usize::from(class)].get().copied() else {
            return (runnable, None);
        };
        let task = runnable.into_raw();
        // SAFETY: the pointer `into_raw` just returned, turned back exactly once.
        let runnable = unsafe { Runnable::from_raw(task) };
        // SAFETY: a runnable of a carrier class is a carrier of that class.
        (runnable, Some(unsafe { Carrier::at(task, shape) }))
    }

    /// The header.
    ///
    /// # Safety
    /// The carrier is alive for `'a` (its runnable is held, or the caller holds `HANDLE`).
    pub(crate) unsafe fn header<'a>(self) -> &'a CarrierHeader {
        // SAFETY: the caller guarantees the carrier is alive; the header is only ever shared.
        unsafe { self.0.as_ref() }
    }

    /// The job buffer (outside the carrier's own poll).
    fn buf(self) -> *mut u8 {
        // Every header is the first field of a `CarrierFuture<N>` (the only place one is built),
        // whose buffer starts `BUF_OFFSET` bytes after it, inside the same allocation.
        self.0.as_ptr().cast::<u8>().wrapping_add(BUF_OFFSET)
    }

    /// The async-task pointer of the carrier's task (also its wakers' data pointer), given its
    /// class's shape.
    fn task(self, shape: Shape) -> NonNull<()> {
        let task = self
            .0
            .as_ptr()
            .cast::<u8>()
            .wrapping_sub(shape.header_offset);
        // SAFETY: the header lies `header_offset` bytes into the task allocation (recorded and
        // checked on every carrier's first poll), so `task` is that allocation's address.
        unsafe { NonNull::new_unchecked(task.cast()) }
    }

    /// The carrier's own waker, borrowed: rebuilt from its task pointer and its class's vtable,
    /// and never dropped (`ManuallyDrop`), so it owns no task reference; `clone` takes one.
    ///
    /// # Safety
    /// The carrier is initialised (polled once) and alive for as long as the waker is used.
    unsafe fn self_waker(self, class: u8) -> mem::ManuallyDrop<Waker> {
        let shape = shape(class);
        let task = self.task(shape);
        // SAFETY: the task pointer and the class's vtable are the data pointer and vtable of this
        // task's wakers (checked on its first poll), so together they are its waker; the task is
        // alive (caller). Not dropping it leaves the reference count as it was.
        mem::ManuallyDrop::new(unsafe {
            Waker::from_raw(RawWaker::new(
                task.as_ptr().cast_const(),
                shape.waker_vtable,
            ))
        })
    }

    /// Installs a job. The caller holds the carrier's runnable and the carrier is `FREE`.
    ///
    /// # Safety
    /// `fits::<F>(N)` for this carrier's buffer size `N`.
    pub(crate) unsafe fn install<F>(self, meta: &TaskMeta, future: F, home_node: usize) -> State
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // SAFETY: we hold the runnable, so the carrier is alive.
        let h = unsafe { self.header() };
        let s = h.state.load(Ordering::Relaxed);
        debug_assert_eq!(phase(s), FREE);
        // SAFETY: the buffer is large and aligned enough (caller) and holds nothing (`FREE`).
        unsafe { self.buf().cast::<F>().write(future) };
        h.vtable.set(Some(&VTableOf::<F>::VTABLE));
        // A handle that detached while registered left its waker behind; nobody else can reach
        // the slot now (no handle exists for a FREE carrier).
        // SAFETY: as just said.
        drop(unsafe { (*h.join_waker.get()).take() });
        meta.set_home_node(home_node);
        let s = (s & !(GEN_ONE - 1)).wrapping_add(GEN_ONE) | RUNNING | HANDLE;
        // Published to the worker that pops the runnable by the queue's own synchronisation, and
        // to the join handle through its pointer; Release for both.
        h.state.store(s, Ordering::Release);
        generation(s)
    }

    /// Shuts the carrier down with its runnable in hand (the runtime is closed): drops its job's
    /// future if it has one, and either drops the runnable or, while a join handle still refers to
    /// the carrier, parks it (as the raw task pointer) for the handle to drop.
    pub(crate) fn retire(self, runnable: Runnable) {
        // SAFETY: we hold the runnable, so the carrier is alive until we let go of it below.
        let h = unsafe { self.header() };
        let s = h.state.load(Ordering::Acquire);
        if phase(s) == RUNNING {
            let vtable = h.vtable.get().expect("a running carrier has a job");
            // SAFETY: we hold the runnable, so nobody polls the job; the buffer holds the future.
            unsafe { (vtable.drop_future)(self.buf()) };
            h.vtable.set(None);
            // Record the cancellation now, so that a handle arriving later sees a finished job.
            let mut s = s;
            loop {
                let done = (s & !(PHASE | ABORT)) | DONE | CANCELLED;
                match h
                    .state
                    .compare_exchange_weak(s, done, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => {
                        h.wake_joiner(s);
                        break;
                    }
                    Err(actual) => s = actual,
                }
            }
        }
        // Park the runnable: its reference now lives in the raw pointer, the task pointer.
        let class = runnable.metadata().class;
        let parked = runnable.into_raw();
        // A carrier that has a runnable to retire has been polled once, so its shape is known.
        debug_assert_eq!(parked, self.task(shape(class)));
        let mut s = h.state.load(Ordering::Acquire);
        loop {
            if s & HANDLE == 0 {
                // Nobody refers to the carrier: take the runnable back and drop it.
                // SAFETY: `parked` came from `into_raw` just above and is turned back only here.
                drop(unsafe { Runnable::from_raw(parked) });
                return;
            }
            match h
                .state
                .compare_exchange_weak(s, s | ORPHAN, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    // From here on the handle owns the carrier; do not touch it again.
                    return;
                }
                Err(actual) => s = actual,
            }
        }
    }
}

impl CarrierHeader {
    /// The carrier's slot in the live-task registry, given its task's metadata.
    pub(crate) fn registry_slot(&self, meta: &TaskMeta) -> Slot {
        Slot::from_parts(meta.registry_shard, self.registry_key)
    }

    /// Polls the carrier. Called by `CarrierFuture::poll` with the carrier's own context and its
    /// buffer.
    fn poll(&self, buf: *mut u8, cx: &mut Context<'_>) {
        let s = self.state.load(Ordering::Acquire);
        match phase(s) {
            RUNNING => {}
            FREE => {
                // The first poll happens inside `create`, which left its marker for it; a later
                // poll of a FREE carrier (a stale wake) finds none.
                let creating = CREATING.with(|c| {
                    c.replace(Creating {
                        task: ptr::null(),
                        class: 0,
                    })
                });
                if !creating.task.is_null() {
                    self.first_poll(creating, cx.waker());
                }
                // A free carrier that got polled (first poll, or a stale wake racing with its
                // release): schedule it again, and the schedule function files it as free.
                cx.waker().wake_by_ref();
                return;
            }
            _ => return, // DONE: a stale wake-up from the job that just finished.
        }
        let vtable = self.vtable.get().expect("a running carrier has a job");
        if s & ABORT != 0 {
            // SAFETY: RUNNING means the buffer holds the live future; we hold the runnable.
            unsafe { (vtable.drop_future)(buf) };
            self.finish(buf, cx, true);
            return;
        }
        // SAFETY: as above.
        if unsafe { (vtable.poll)(buf, cx) }.is_ready() {
            self.finish(buf, cx, false);
        }
    }

    /// Records (or checks) its class's shape, from which [`Carrier::of`] finds the header.
    fn first_poll(&self, creating: Creating, waker: &Waker) {
        // `self_waker`, `Carrier::of` and the orphan hand-over rebuild a waker, a header pointer
        // and a runnable from this pointer: it must be the task pointer itself.
        assert_eq!(
            waker.data(),
            creating.task,
            "async-task's waker data is its task pointer"
        );
        let here = Shape {
            header_offset: (self as *const CarrierHeader as usize) - (waker.data() as usize),
            waker_vtable: waker.vtable(),
        };
        let shape = *SHAPES[usize::from(creating.class)].get_or_init(|| here);
        assert!(
            shape.header_offset == here.header_offset
                && ptr::eq(shape.waker_vtable, here.waker_vtable),
            "all carriers of a class have the same layout and waker vtable"
        );
    }

    /// The job ended (its output is in the buffer unless `cancelled`): hand it to the join
    /// handle, or recycle the carrier if there is none.
    fn finish(&self, buf: *mut u8, cx: &mut Context<'_>, cancelled: bool) {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & HANDLE != 0 {
                let done = (s & !(PHASE | ABORT)) | DONE | if cancelled { CANCELLED } else { 0 };
                match self
                    .state
                    .compare_exchange_weak(s, done, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => {
                        self.wake_joiner(s);
                        return;
                    }
                    Err(actual) => s = actual,
                }
            } else {
                // Detached: nobody will read the output. HANDLE is never set again for this job,
                // so nothing else touches the state until we publish FREE.
                if !cancelled {
                    let vtable = self.vtable.get().expect("a running carrier has a job");
                    // SAFETY: the buffer holds the output, which nobody else can reach.
                    unsafe { (vtable.drop_output)(buf) };
                }
                self.vtable.set(None);
                self.state
                    .store((s & !(GEN_ONE - 1)) | FREE, Ordering::Release);
                cx.waker().wake_by_ref();
                return;
            }
        }
    }

    /// After the transition to DONE from state `before`: wakes the join handle if it had
    /// registered and is not registering right now (if it is, it sees DONE when it finishes).
    fn wake_joiner(&self, before: State) {
        if before & AWAITER != 0 && before & REGISTERING == 0 {
            // SAFETY: a handle only writes the slot while REGISTERING is set, and cannot set it
            // once the phase is DONE, so the slot is ours.
            if let Some(w) = unsafe { (*self.join_waker.get()).take() } {
                w.wake();
            }
        }
    }

    /// The join handle stores its waker; `false` if the job is already DONE (nothing stored).
    fn register_joiner(&self, waker: &Waker) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if phase(s) == DONE {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                s | REGISTERING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        // SAFETY: REGISTERING is ours; the finisher does not touch the slot while it is set.
        let old = unsafe { (*self.join_waker.get()).replace(waker.clone()) };
        let mut s = s | REGISTERING;
        loop {
            if phase(s) == DONE {
                // The job finished while we were registering and left the waker to us.
                // SAFETY: REGISTERING is still ours.
                drop(unsafe { (*self.join_waker.get()).take() });
                self.state
                    .fetch_and(!(REGISTERING | AWAITER), Ordering::AcqRel);
                drop(old);
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                (s & !REGISTERING) | AWAITER,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    drop(old);
                    return true;
                }
                Err(actual) => s = actual,
            }
        }
    }
}

impl<const N: usize> Future for CarrierFuture<N> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: nothing is moved out of the carrier; the buffer pointer keeps the provenance of
        // the `&mut` async-task polls us through.
        let this = unsafe { self.get_unchecked_mut() };
        let buf = ptr::addr_of_mut!(this.buf).cast::<u8>();
        // A carrier never completes: it is dropped (by its runnable) when retired or trimmed.
        this.header.poll(buf, cx);
        Poll::Pending
    }
}

/// Dropping a carrier leaves its registry slot alone: the pool removes it before it frees a carrier
/// of a running runtime (`SharedPool::push`), and every other carrier is dropped after shutdown
/// closed and drained the registry.
impl<const N: usize> Drop for CarrierFuture<N> {
    fn drop(&mut self) {
        let buf = ptr::addr_of_mut!(self.buf).cast::<u8>();
        let h = &self.header;
        let s = h.state.load(Ordering::Acquire);
        if let Some(vtable) = h.vtable.get() {
            // Defensive: every path that drops a carrier's runnable goes through `retire` or holds
            // a FREE carrier, so a job is only found here if that invariant was broken.
            // SAFETY: the vtable is set exactly while the buffer holds a future or an output.
            match phase(s) {
                RUNNING => unsafe { (vtable.drop_future)(buf) },
                DONE if s & CANCELLED == 0 => unsafe { (vtable.drop_output)(buf) },
                _ => {}
            }
        }
    }
}

/// The join side of a pooled job.
pub(crate) struct PooledJoin<T> {
    carrier: Carrier,
    generation: State,
    /// The carrier's size class (its header does not keep it), to rebuild its waker and task.
    class: u8,
    /// Set once the handle has let go of the carrier; after that it never touches it again.
    released: bool,
    _output: PhantomData<fn() -> T>,
}

// SAFETY: the handle only touches the carrier through its atomic state word, its AtomicWaker and,
// once the job is DONE and before releasing, the output it then owns exclusively; moving it to
// another thread moves the right to take a `T`, hence `T: Send`.
unsafe impl<T: Send> Send for PooledJoin<T> {}
// SAFETY: `&self` methods (`abort`, `is_finished`) only use the atomic state word and the
// carrier's own waker.
unsafe impl<T: Send> Sync for PooledJoin<T> {}

/// What awaiting a pooled job gave.
pub(crate) enum JoinOutcome<T> {
    Output(Result<T, Panic>),
    Cancelled,
}

impl<T> PooledJoin<T> {
    pub(crate) fn new(carrier: Carrier, class: u8, generation: State) -> Self {
        PooledJoin {
            carrier,
            generation,
            class,
            released: false,
            _output: PhantomData,
        }
    }

    fn header(&self) -> &CarrierHeader {
        debug_assert!(!self.released);
        // SAFETY: while `released` is false this handle holds the carrier's HANDLE flag, and a
        // carrier is neither reused nor freed while that flag is set.
        unsafe { self.carrier.header() }
    }

    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<JoinOutcome<T>> {
        if self.released {
            return Poll::Ready(JoinOutcome::Cancelled);
        }
        let h = self.header();
        let mut s = h.state.load(Ordering::Acquire);
        if phase(s) != DONE {
            if h.register_joiner(cx.waker()) {
                return Poll::Pending;
            }
            s = h.state.load(Ordering::Acquire);
        }
        if generation(s) != self.generation {
            // Cannot happen while we hold HANDLE; refuse another job's output all the same.
            self.released = true;
            return Poll::Ready(JoinOutcome::Cancelled);
        }
        let outcome = if s & CANCELLED != 0 {
            JoinOutcome::Cancelled
        } else {
            // SAFETY: DONE without CANCELLED: the buffer holds this job's `Result<T, Panic>` (the
            // generation matches), and holding HANDLE makes us its only reader.
            JoinOutcome::Output(unsafe { self.carrier.buf().cast::<Result<T, Panic>>().read() })
        };
        // The output has been moved out: release without dropping it.
        h.vtable.set(None);
        self.release();
        Poll::Ready(outcome)
    }

    /// Gives the carrier up: clears HANDLE, recycles it if its job is done, and drops it if the
    /// runtime orphaned it.
    fn release(&mut self) {
        debug_assert!(!self.released);
        // SAFETY: as in `header`; the reference is not tied to `self` so that `released` can be
        // updated while it lives, and it is not used after the carrier may be gone.
        let carrier = self.carrier;
        let h: &CarrierHeader = unsafe { carrier.header() };
        let mut s = h.state.load(Ordering::Acquire);
        loop {
            if s & ORPHAN != 0 {
                self.released = true;
                // SAFETY: `retire` parked the runnable (`into_raw`, which gives the task pointer)
                // before it published ORPHAN, and only we, seeing ORPHAN, turn it back.
                let runnable = unsafe { Runnable::from_raw(carrier.task(shape(self.class))) };
                if let Some(vtable) = h.vtable.get() {
                    if phase(s) == DONE && s & CANCELLED == 0 {
                        // SAFETY: an untaken output of a finished job that nobody else can reach.
                        unsafe { (vtable.drop_output)(carrier.buf()) };
                    }
                    h.vtable.set(None);
                }
                // Dropping the runnable drops the carrier: do not touch `h` after this.
                drop(runnable);
                return;
            }
            if phase(s) == DONE {
                if let Some(vtable) = h.vtable.take() {
                    if s & CANCELLED == 0 {
                        // SAFETY: as above: nobody took the output and nobody else can.
                        unsafe { (vtable.drop_output)(carrier.buf()) };
                    }
                }
                // Keep the carrier alive (a task reference) across the store below: once it is
                // FREE another thread may pick it up, or the pool may free it.
                // SAFETY: the carrier was initialised before it was handed out, and we hold
                // HANDLE, so it is alive.
                let waker = Waker::clone(&*unsafe { carrier.self_waker(self.class) });
                match h.state.compare_exchange(
                    s,
                    (s & !(GEN_ONE - 1)) | FREE,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        self.released = true;
                        waker.wake();
                        return;
                    }
                    Err(actual) => s = actual,
                }
            } else {
                // Still running: detach.
                match h.state.compare_exchange_weak(
                    s,
                    s & !HANDLE,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        self.released = true;
                        return;
                    }
                    Err(actual) => s = actual,
                }
            }
        }
    }

    /// Asks the job to stop; it resolves as cancelled unless it already finished.
    pub(crate) fn abort(&self) {
        if self.released {
            return;
        }
        let h = self.header();
        let s = h.state.fetch_or(ABORT, Ordering::AcqRel);
        if phase(s) == RUNNING && s & ABORT == 0 {
            // SAFETY: the carrier was initialised before it was handed out; we hold HANDLE so it
            // is alive.
            unsafe { self.carrier.self_waker(self.class) }.wake_by_ref();
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.released || phase(self.header().state.load(Ordering::Acquire)) == DONE
    }
}

impl<T> Drop for PooledJoin<T> {
    fn drop(&mut self) {
        if !self.released {
            self.release();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    /// Memory per live job is the pool's cost: the header must stay within 32 bytes, with the
    /// buffer 8-aligned right after it (no padding: a 16-byte buffer makes a 48-byte carrier
    /// future), so that a carrier of the 64-byte class is a 96-byte future (with async-task's
    /// 40-byte header and the 16-byte metadata: a 152-byte task, a 160-byte glibc chunk; 8 bytes
    /// more and it is 176).
    #[test]
    fn carrier_header_stays_small() {
        assert_eq!(std::mem::size_of::<super::CarrierHeader>(), 32);
        assert_eq!(std::mem::size_of::<super::CarrierFuture<16>>(), 48);
        assert_eq!(std::mem::size_of::<super::CarrierFuture<64>>(), 96);
        // A `u64` output with a thin-enough panic payload fits the smallest class.
        assert!(std::mem::size_of::<Result<u64, crate::task::Panic>>() <= 16);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model of the hand-over between a job finishing on a worker and its join handle being
    //! awaited or dropped on another thread: the output is taken or dropped exactly once, and the
    //! carrier is recycled (woken while FREE) exactly once. The carrier is driven directly, without
    //! async-task, inside a [`FakeTask`] whose waker counts wake-ups.
    use super::*;
    use std::sync::atomic::AtomicUsize as StdCounter;
    use std::sync::Arc as StdArc;
    use std::task::Wake;

    struct Counting(StdCounter);
    impl Wake for Counting {
        fn wake(self: StdArc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        fn wake_by_ref(self: &StdArc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Stands in for async-task's allocation: the carrier lives inside it, and its waker's data
    /// pointer is its address (as async-task's is the task's), so the carrier's rebuilt waker
    /// and its buffer pointer both point into this one allocation. Waking counts.
    #[repr(C)]
    struct FakeTask {
        wakes: StdCounter,
        carrier: std::cell::UnsafeCell<CarrierFuture<64>>,
    }

    // SAFETY: the carrier inside is shared the way a real carrier is (by the state-word
    // protocol under test); `wakes` is atomic.
    unsafe impl Sync for FakeTask {}
    unsafe impl Send for FakeTask {}

    static FAKE_TASK_WAKER: RawWakerVTable =
        RawWakerVTable::new(fake_clone, fake_wake, fake_wake, fake_drop);

    unsafe fn fake_clone(task: *const ()) -> RawWaker {
        RawWaker::new(task, &FAKE_TASK_WAKER)
    }

    unsafe fn fake_wake(task: *const ()) {
        // SAFETY: the data pointer of a fake waker is a live `FakeTask` (the model outlives it).
        unsafe { &*task.cast::<FakeTask>() }
            .wakes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    unsafe fn fake_drop(_: *const ()) {}

    impl FakeTask {
        fn waker(&self) -> Waker {
            // SAFETY: the vtable's functions only count, and `self` outlives every waker.
            unsafe {
                Waker::from_raw(RawWaker::new(
                    (self as *const Self).cast(),
                    &FAKE_TASK_WAKER,
                ))
            }
        }

        fn header(&self) -> &CarrierHeader {
            // SAFETY: a shared view of the header, whose mutable parts are cells and atomics.
            unsafe { &(*self.carrier.get()).header }
        }

        /// The carrier as the pool reaches it: a pointer into this whole allocation.
        fn carrier(&self) -> Carrier {
            // SAFETY: the field of a live allocation is never null.
            Carrier(unsafe {
                NonNull::new_unchecked(ptr::addr_of_mut!((*self.carrier.get()).header))
            })
        }

        /// Polls the carrier as async-task would (with a pointer to the whole future).
        fn poll(&self) {
            let carrier = self.carrier.get();
            // SAFETY: one poller at a time (the models poll from one thread at a time).
            let buf = unsafe { ptr::addr_of_mut!((*carrier).buf) }.cast::<u8>();
            self.header()
                .poll(buf, &mut Context::from_waker(&self.waker()));
        }

        fn wakes(&self) -> usize {
            self.wakes.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    struct Tracked(StdArc<StdCounter>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// A carrier with one job installed whose output is a `Tracked`.
    fn carrier_with_job(
        meta: &TaskMeta,
        drops: &StdArc<StdCounter>,
    ) -> (loom::sync::Arc<FakeTask>, State) {
        let task = loom::sync::Arc::new(FakeTask {
            wakes: StdCounter::new(0),
            carrier: std::cell::UnsafeCell::new(CarrierFuture::<64>::new(0)),
        });
        CREATING.with(|c| {
            c.set(Creating {
                task: task.waker().data(),
                class: 0,
            })
        });
        task.poll(); // first poll: records the carrier, wakes it (FREE)
        let d = drops.clone();
        // SAFETY: the job and its output fit 64 bytes; the carrier is FREE.
        let generation = unsafe { task.carrier().install(meta, async move { Tracked(d) }, 0) };
        (task, generation)
    }

    fn run(await_handle: bool) {
        loom::model(move || {
            let meta = TaskMeta::for_tests(0);
            let drops = StdArc::new(StdCounter::new(0));
            let (task, generation) = carrier_with_job(&meta, &drops);
            let first_poll_wakes = task.wakes();
            let join = PooledJoin::<Tracked>::new(task.carrier(), 0, generation);

            let worker = {
                let task = task.clone();
                loom::thread::spawn(move || task.poll())
            };
            let joiner_wakes = StdArc::new(Counting(StdCounter::new(0)));
            let handle = {
                let joiner_wakes = joiner_wakes.clone();
                loom::thread::spawn(move || {
                    let mut join = join;
                    if !await_handle {
                        drop(join);
                        return None;
                    }
                    // One poll, racing with the job's end; if it pends, the job's end must wake us.
                    let waker = Waker::from(joiner_wakes);
                    match join.poll(&mut Context::from_waker(&waker)) {
                        Poll::Ready(JoinOutcome::Output(Ok(out))) => {
                            drop(out);
                            None
                        }
                        Poll::Ready(_) => panic!("the job neither panicked nor was cancelled"),
                        Poll::Pending => Some(join),
                    }
                })
            };
            worker.join().unwrap();
            if let Some(mut join) = handle.join().unwrap() {
                assert_eq!(
                    joiner_wakes.0.load(std::sync::atomic::Ordering::SeqCst),
                    1,
                    "a pending join handle is woken when the job ends"
                );
                let waker = futures::task::noop_waker();
                match join.poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(JoinOutcome::Output(Ok(out))) => drop(out),
                    _ => panic!("the job has ended: its output must be ready"),
                }
            }

            assert_eq!(
                drops.load(std::sync::atomic::Ordering::SeqCst),
                1,
                "output dropped exactly once"
            );
            let recycles = task.wakes() - first_poll_wakes;
            assert_eq!(recycles, 1, "recycled exactly once");
            assert_eq!(phase(task.header().state.load(Ordering::SeqCst)), FREE);
        });
    }

    #[test]
    fn job_end_and_handle_drop_recycle_once() {
        run(false);
    }

    #[test]
    fn job_end_and_handle_await_recycle_once() {
        run(true);
    }
}
