//! The three workloads of the NUMA report. Each runs on a runtime of `N` workers and records, per
//! worker, how many tasks it ran and how many of those ran away from their *home* node.
//!
//! * `uniform`: one task tree per node (placed with `spawn_on`), each node of a tree spawning its
//!   children with plain `spawn`; nothing but spawning, joining and summing.
//! * `stranded`: a root on node 0 spawns every task with `spawn_on(node 0)`; each spins `work`
//!   iterations. The other nodes get work only by stealing across the node boundary.
//! * `numa_model` (**a simulation**): producers placed on every node with `spawn_on`, each
//!   spawning `children` tasks with plain `spawn`; a task's home is its producer's node, and a
//!   task spins `work` iterations, times `1 + penalty` when it runs on a worker of another node.
//!
//! On the flat topology (`1xN`) the same code runs: `spawn_on(k)` lands on the only node, and a
//! worker's "node" for the home check is the node the same worker index has in the hierarchical
//! layout (`Ctx::vnode_of`).
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use moirai::{NodeId, Runtime};

/// Per-worker tallies on their own cache lines (each worker writes only its own).
#[repr(align(128))]
#[derive(Default)]
pub struct Slot {
    pub ran: AtomicU64,
    pub away: AtomicU64,
}

/// What every task of a run shares.
pub struct Ctx {
    /// Node of worker `w` in the hierarchical layout (used as a virtual node on the flat one).
    pub vnode_of: Vec<usize>,
    /// Number of (virtual) nodes.
    pub vnodes: usize,
    /// True on the flat topology: the home check uses `vnode_of`, not `current_node()`.
    pub flat: bool,
    pub slots: Vec<Slot>,
    /// Spin iterations per task.
    pub work: u64,
    /// Extra cost of running away from home in `numa_model` (0.6 = +60%).
    pub penalty: f64,
    /// `uniform`: leaves per node's tree; `stranded`: tasks; `numa_model`: children per producer.
    pub size: u64,
    /// `numa_model`: producers per node.
    pub producers: u64,
}

impl Ctx {
    /// The (virtual) node of the worker running this code, and the worker.
    fn here(&self) -> (usize, usize) {
        let w = moirai::current_worker().expect("workload tasks run on workers");
        let node = if self.flat {
            self.vnode_of[w]
        } else {
            moirai::current_node().expect("on a worker").index()
        };
        (node, w)
    }

    /// Counts one task run by this worker; true if it ran away from `home`.
    fn record(&self, home: usize) -> bool {
        let (node, w) = self.here();
        let s = &self.slots[w];
        s.ran.fetch_add(1, Relaxed);
        let away = node != home;
        if away {
            s.away.fetch_add(1, Relaxed);
        }
        away
    }

    /// (tasks run, tasks run away from home) per virtual node.
    pub fn tallies(&self) -> Vec<(u64, u64)> {
        let mut out = vec![(0, 0); self.vnodes];
        for (w, s) in self.slots.iter().enumerate() {
            out[self.vnode_of[w]].0 += s.ran.load(Relaxed);
            out[self.vnode_of[w]].1 += s.away.load(Relaxed);
        }
        out
    }
}

/// CPU-bound work that the optimiser cannot remove (the same loop as the benches' `spin`).
pub fn spin(n: u64) -> u64 {
    let mut x = 0x1234_5678u64;
    for i in 0..n {
        x = x.rotate_left(5) ^ i.wrapping_mul(0x9E37_79B9);
        x = std::hint::black_box(x);
    }
    x
}

pub const NAMES: [&str; 3] = ["uniform", "stranded", "numa_model"];

/// Runs workload `name` once on `rt`; returns the number of tasks it ran.
pub fn run(name: &str, rt: &Runtime, ctx: &Arc<Ctx>) -> u64 {
    match name {
        "uniform" => uniform(rt, ctx),
        "stranded" => stranded(rt, ctx),
        "numa_model" => numa_model(rt, ctx),
        other => panic!("unknown workload {other:?} (one of {NAMES:?})"),
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A tree node of `size` leaves: spawns up to `div` children splitting the leaves, returns the
/// number of leaves (tasks: about `size * div / (div - 1)`).
fn tree(ctx: Arc<Ctx>, home: usize, size: u64, div: u64) -> BoxFuture<(u64, u64)> {
    Box::pin(async move {
        ctx.record(home);
        if size <= 1 {
            return (1, 1);
        }
        let parts = div.min(size);
        let handles: Vec<_> = (0..parts)
            .map(|i| {
                let part = size / parts + u64::from(i < size % parts);
                moirai::spawn(tree(ctx.clone(), home, part, div))
            })
            .collect();
        let (mut leaves, mut tasks) = (0, 1);
        for h in handles {
            let (l, t) = h.await.expect("tree task");
            leaves += l;
            tasks += t;
        }
        (leaves, tasks)
    })
}

fn uniform(rt: &Runtime, ctx: &Arc<Ctx>) -> u64 {
    let roots: Vec<_> = (0..ctx.vnodes)
        .map(|k| rt.spawn_on(NodeId::new(k), tree(ctx.clone(), k, ctx.size, 10)))
        .collect();
    rt.block_on(async {
        let mut tasks = 0;
        for r in roots {
            let (leaves, t) = r.await.expect("root");
            assert_eq!(leaves, ctx.size, "every leaf must have run");
            tasks += t;
        }
        tasks
    })
}

fn stranded(rt: &Runtime, ctx: &Arc<Ctx>) -> u64 {
    let c = ctx.clone();
    let root = rt.spawn_on(NodeId::new(0), async move {
        c.record(0);
        let handles: Vec<_> = (0..c.size)
            .map(|_| {
                let c = c.clone();
                moirai::spawn_on(NodeId::new(0), async move {
                    c.record(0);
                    spin(c.work)
                })
            })
            .collect();
        let mut acc = 0u64;
        for h in handles {
            acc ^= h.await.expect("stranded task");
        }
        acc
    });
    std::hint::black_box(rt.block_on(root).expect("root"));
    ctx.size + 1
}

/// One task of the model: `work` spin iterations, times `1 + penalty` away from `home`.
fn modelled_work(ctx: &Ctx, home: usize) -> u64 {
    let away = ctx.record(home);
    let n = if away {
        (ctx.work as f64 * (1.0 + ctx.penalty)) as u64
    } else {
        ctx.work
    };
    spin(n)
}

fn numa_model(rt: &Runtime, ctx: &Arc<Ctx>) -> u64 {
    let mut producers = Vec::new();
    // Interleaved (home 0, 1, 0, 1, ...): on the flat layout, whichever worker takes a batch of
    // producers from the injector gets a mix of homes, not a run of one node's.
    for _ in 0..ctx.producers {
        for k in 0..ctx.vnodes {
            let c = ctx.clone();
            producers.push(rt.spawn_on(NodeId::new(k), async move {
                let mut acc = modelled_work(&c, k);
                let children: Vec<_> = (0..c.size)
                    .map(|_| {
                        let c = c.clone();
                        moirai::spawn(async move { modelled_work(&c, k) })
                    })
                    .collect();
                for h in children {
                    acc ^= h.await.expect("model task");
                }
                acc
            }));
        }
    }
    rt.block_on(async {
        for p in producers {
            std::hint::black_box(p.await.expect("producer"));
        }
    });
    ctx.vnodes as u64 * ctx.producers * (ctx.size + 1)
}
