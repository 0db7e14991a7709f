//! The runtime workloads, written once against [`Rt`] so that Moirai and tokio run exactly the
//! same code. Used by `benches/runtime.rs` (criterion) and `examples/bench_report.rs` (the ratio
//! table in README.md). Every workload checks its own result, so a benchmark of a broken runtime
//! fails instead of reporting a fast time.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::channel::oneshot;

/// A runtime under test.
pub trait Rt: Sync + 'static {
    /// A join handle that yields the task's output (errors are turned into panics).
    type Join<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;

    /// Spawns from inside the runtime (a task or the `block_on` future).
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns from a thread that is not a worker.
    fn spawn_outside<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    fn block_on<F: Future>(&self, f: F) -> F::Output;

    fn yield_now() -> impl Future<Output = ()> + Send;
}

/// Turns a `Result`-yielding join handle into one that yields the value.
pub struct Unwrapped<J>(pub J);

impl<J, T, E> Future for Unwrapped<J>
where
    J: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.expect("task failed"))
    }
}

pub struct Moirai(pub moirai::Runtime);

impl Moirai {
    pub fn new(threads: usize, topology: Option<&str>) -> Moirai {
        Moirai::with_pool(threads, topology, true)
    }

    /// `pool: false` spawns plain one-allocation tasks (`Builder::task_pool(false)`).
    pub fn with_pool(threads: usize, topology: Option<&str>, pool: bool) -> Moirai {
        let mut b = moirai::Runtime::builder()
            .worker_threads(threads)
            .task_pool(pool);
        if let Some(t) = topology {
            b = b.topology(t.parse().expect("bad topology"));
        }
        Moirai(b.build().expect("moirai runtime"))
    }
}

impl Rt for Moirai {
    type Join<T: Send + 'static> = Unwrapped<moirai::JoinHandle<T>>;

    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(moirai::spawn(f))
    }

    fn spawn_outside<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(self.0.spawn(f))
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        moirai::yield_now()
    }
}

pub struct Tokio(pub tokio::runtime::Runtime);

impl Tokio {
    pub fn new(threads: usize) -> Tokio {
        Tokio(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .build()
                .expect("tokio runtime"),
        )
    }
}

impl Rt for Tokio {
    type Join<T: Send + 'static> = Unwrapped<tokio::task::JoinHandle<T>>;

    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(tokio::spawn(f))
    }

    fn spawn_outside<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(self.0.spawn(f))
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

/// One workload: its name, how many operations one run performs (for per-op times), and the run.
pub struct Workload<R: Rt> {
    pub name: &'static str,
    pub ops: u64,
    pub run: fn(&R),
}

pub const SPAWN_MANY: u64 = 100_000;
pub const YIELD_TASKS: u64 = 1000;
pub const YIELDS: u64 = 200;
pub const PINGS: u64 = 1000;
pub const CHAIN: u64 = 1000;
pub const SKYNET_LEAVES: u64 = 1_000_000;
pub const FANOUT_TASKS: u64 = 64;

pub fn all<R: Rt>() -> Vec<Workload<R>> {
    vec![
        Workload {
            name: "spawn_many",
            ops: SPAWN_MANY,
            run: spawn_many::<R>,
        },
        Workload {
            name: "spawn_remote",
            ops: SPAWN_MANY,
            run: spawn_remote::<R>,
        },
        Workload {
            name: "yield_many",
            ops: YIELD_TASKS * YIELDS,
            run: yield_many::<R>,
        },
        Workload {
            name: "ping_pong",
            ops: PINGS,
            run: ping_pong::<R>,
        },
        Workload {
            name: "chained_spawn",
            ops: CHAIN,
            run: chained_spawn::<R>,
        },
        Workload {
            name: "chained_spawn_boxed",
            ops: CHAIN,
            run: chained_spawn_boxed::<R>,
        },
        Workload {
            name: "skynet",
            ops: 1_111_111,
            run: skynet::<R>,
        },
        Workload {
            name: "skynet_boxed",
            ops: 1_111_111,
            run: skynet_boxed::<R>,
        },
        Workload {
            name: "cpu_fanout",
            ops: FANOUT_TASKS,
            run: cpu_fanout::<R>,
        },
    ]
}

/// Runs `f` as a task of `rt` (spawned inside `block_on`, where both runtimes allow it).
fn in_task<R: Rt, F>(rt: &R, f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(async move { R::spawn(f).await })
}

/// 100k tasks spawned from inside a task, then joined.
pub fn spawn_many<R: Rt>(rt: &R) {
    let sum = in_task(rt, async {
        let handles: Vec<_> = (0..SPAWN_MANY)
            .map(|i| R::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        sum
    });
    assert_eq!(sum, SPAWN_MANY * (SPAWN_MANY - 1) / 2);
}

/// 100k tasks spawned from a thread outside the runtime, then joined.
pub fn spawn_remote<R: Rt>(rt: &R) {
    let handles: Vec<_> = (0..SPAWN_MANY)
        .map(|i| rt.spawn_outside(async move { i }))
        .collect();
    let sum = rt.block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        sum
    });
    assert_eq!(sum, SPAWN_MANY * (SPAWN_MANY - 1) / 2);
}

/// 1000 tasks, each yielding 200 times.
pub fn yield_many<R: Rt>(rt: &R) {
    let done = in_task(rt, async {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                R::spawn(async {
                    for _ in 0..YIELDS {
                        R::yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        true
    });
    assert!(done);
}

/// 1000 rounds of: spawn a task that spawns a partner, and the two exchange a message each way.
pub fn ping_pong<R: Rt>(rt: &R) {
    let (done_tx, done_rx) = oneshot::channel();
    let remaining = Arc::new(AtomicUsize::new(PINGS as usize));
    let done_tx = Arc::new(std::sync::Mutex::new(Some(done_tx)));
    in_task(rt, async move {
        for _ in 0..PINGS {
            let remaining = remaining.clone();
            let done_tx = done_tx.clone();
            drop(R::spawn(async move {
                let (ping_tx, ping_rx) = oneshot::channel::<()>();
                let (pong_tx, pong_rx) = oneshot::channel::<()>();
                drop(R::spawn(async move {
                    ping_rx.await.unwrap();
                    pong_tx.send(()).unwrap();
                }));
                ping_tx.send(()).unwrap();
                pong_rx.await.unwrap();
                if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    done_tx.lock().unwrap().take().unwrap().send(()).unwrap();
                }
            }));
        }
    });
    rt.block_on(done_rx).unwrap();
}

// Why the recursive workloads come twice.
//
// A task that spawns a task of its own kind cannot be an `async` block: the compiler would need
// the block's `Send`-ness to type-check the block itself. The usual way out, a `Box::pin`ned
// `dyn Future` per task, puts one `malloc` and one (often cross-thread) `free` into every task,
// the same for both runtimes; in `skynet` that is a third of the run and most of its kernel time
// (glibc's arena lock). `chained_spawn` and `skynet` therefore use a named future type (no
// allocation but the runtime's own), so they measure spawning and scheduling;
// `chained_spawn_boxed` and `skynet_boxed` keep the boxed form, to show what a program written
// the usual way sees.

/// One link of `chained_spawn`: spawns the next link, or reports the depth at the end.
struct Chain<R> {
    left: u64,
    done: Option<oneshot::Sender<u64>>,
    runtime: std::marker::PhantomData<fn() -> R>,
}

impl<R: Rt> Future for Chain<R> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let done = self
            .done
            .take()
            .expect("a chain link polled after it finished");
        if self.left == 0 {
            done.send(CHAIN).unwrap();
        } else {
            drop(R::spawn(Chain::<R> {
                left: self.left - 1,
                done: Some(done),
                runtime: std::marker::PhantomData,
            }));
        }
        Poll::Ready(())
    }
}

/// Each task spawns the next, 1000 deep (named future per link, no allocation of its own).
pub fn chained_spawn<R: Rt>(rt: &R) {
    let (tx, rx) = oneshot::channel();
    in_task(
        rt,
        Chain::<R> {
            left: CHAIN,
            done: Some(tx),
            runtime: std::marker::PhantomData,
        },
    );
    assert_eq!(rt.block_on(rx).unwrap(), CHAIN);
}

fn chain_boxed<R: Rt>(
    n: u64,
    done: oneshot::Sender<u64>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if n == 0 {
            done.send(CHAIN).unwrap();
        } else {
            drop(R::spawn(chain_boxed::<R>(n - 1, done)));
        }
    })
}

/// `chained_spawn` written the usual way: one boxed `async` block per link.
pub fn chained_spawn_boxed<R: Rt>(rt: &R) {
    let (tx, rx) = oneshot::channel();
    in_task(rt, chain_boxed::<R>(CHAIN, tx));
    assert_eq!(rt.block_on(rx).unwrap(), CHAIN);
}

/// One node of the skynet tree: a leaf returns its number, an inner node spawns its children on
/// its first poll and sums them, dropping each join handle as soon as it has the child's value.
struct SkynetNode<R: Rt> {
    num: u64,
    size: u64,
    div: u64,
    children: Vec<Option<R::Join<u64>>>,
    next: usize,
    sum: u64,
}

impl<R: Rt> SkynetNode<R> {
    fn new(num: u64, size: u64, div: u64) -> Self {
        SkynetNode {
            num,
            size,
            div,
            children: Vec::new(),
            next: 0,
            sum: 0,
        }
    }
}

impl<R: Rt> Future for SkynetNode<R> {
    type Output = u64;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        let this = &mut *self;
        if this.size == 1 {
            return Poll::Ready(this.num);
        }
        if this.children.is_empty() {
            let child = this.size / this.div;
            this.children = (0..this.div)
                .map(|i| {
                    Some(R::spawn(SkynetNode::<R>::new(
                        this.num + i * child,
                        child,
                        this.div,
                    )))
                })
                .collect();
        }
        while let Some(slot) = this.children.get_mut(this.next) {
            let handle = slot
                .as_mut()
                .expect("a finished child is never polled again");
            match Pin::new(handle).poll(cx) {
                Poll::Ready(v) => {
                    this.sum += v;
                    *slot = None;
                    this.next += 1;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(this.sum)
    }
}

/// The skynet tree: 10-ary, 1M leaves (1.11M tasks), each node summing its children (named
/// future per node, no allocation but the runtime's and one `Vec` per inner node).
pub fn skynet<R: Rt>(rt: &R) {
    let sum = in_task(rt, SkynetNode::<R>::new(0, SKYNET_LEAVES, 10));
    assert_eq!(sum, SKYNET_LEAVES * (SKYNET_LEAVES - 1) / 2);
}

fn skynet_node_boxed<R: Rt>(
    num: u64,
    size: u64,
    div: u64,
) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let child = size / div;
        let handles: Vec<_> = (0..div)
            .map(|i| R::spawn(skynet_node_boxed::<R>(num + i * child, child, div)))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        sum
    })
}

/// `skynet` written the usual way: one boxed `async` block per node.
pub fn skynet_boxed<R: Rt>(rt: &R) {
    let sum = in_task(rt, skynet_node_boxed::<R>(0, SKYNET_LEAVES, 10));
    assert_eq!(sum, SKYNET_LEAVES * (SKYNET_LEAVES - 1) / 2);
}

/// Iterations of [`spin`] that take about 50 us on this machine (measured once).
pub fn spin_iterations() -> u64 {
    static ITERS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *ITERS.get_or_init(|| {
        let target = Duration::from_micros(50);
        let mut n = 1_000u64;
        loop {
            let t = Instant::now();
            std::hint::black_box(spin(n));
            let e = t.elapsed();
            if e >= Duration::from_millis(2) {
                return (n as f64 * target.as_secs_f64() / e.as_secs_f64()) as u64;
            }
            n *= 2;
        }
    })
}

/// CPU-bound work that the optimiser cannot remove.
///
/// Never inlined: inlined, the loop was compiled once into each runtime's poll function (and once
/// into the calibration), each copy at its own code alignment, so the "same" 50 us of work ran at
/// different speeds depending on which runtime polled it. One out-of-line copy makes every
/// runtime execute the same instructions.
#[inline(never)]
pub fn spin(n: u64) -> u64 {
    let mut x = 0x1234_5678u64;
    for i in 0..n {
        x = x.rotate_left(5) ^ i.wrapping_mul(0x9E37_79B9);
        x = std::hint::black_box(x);
    }
    x
}

/// 64 tasks of about 50 us of computation each.
pub fn cpu_fanout<R: Rt>(rt: &R) {
    let iters = spin_iterations();
    let out = in_task(rt, async move {
        let handles: Vec<_> = (0..FANOUT_TASKS)
            .map(|_| R::spawn(async move { spin(iters) }))
            .collect();
        let mut acc = 0u64;
        for h in handles {
            acc ^= h.await;
        }
        acc
    });
    std::hint::black_box(out);
}
