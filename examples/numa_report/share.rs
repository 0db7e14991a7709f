//! The locality accounting of the NUMA report, as pure functions of [`Counters`] (shared with
//! `tests/numa_accounting.rs`).
//!
//! **Locality share** of a worker, a node or the runtime:
//!
//! ```text
//! share = 1 - (remote_tasks + global_tasks) / polls        (1 when nothing was polled)
//! ```
//!
//! `remote_tasks` counts every task moved across a node boundary by a steal (a batch of `k`
//! counts `k`), `global_tasks` every task taken from the global injector (spawns from threads
//! that are not workers), and `polls` every task run. Everything else a worker runs came from
//! its own node: its LIFO slot, its own deque, its node's injector or a same-node sibling.
//!
//! Why `polls` and not the sum of the "obtained" counters as the denominator: the rest of a batch
//! steal is counted once when it is moved (at its level) and once more when the thief pops it
//! from its own deque (`from_local`), so that sum counts batch-stolen tasks twice. `polls` counts
//! every run once. This is the same figure as [`Counters::locality_share`]; it is written out
//! here so that the report's definition is visible and tested on its own.
#![allow(dead_code)]

use moirai::Counters;

/// Tasks that came from another node or from the global injector.
pub fn away_tasks(c: &Counters) -> u64 {
    c.remote_tasks + c.global_tasks
}

/// The locality share (see the module docs), in `0.0..=1.0`.
pub fn locality_share(c: &Counters) -> f64 {
    if c.polls == 0 {
        return 1.0;
    }
    1.0 - away_tasks(c).min(c.polls) as f64 / c.polls as f64
}

/// `after - before`, counter by counter (counters only grow, so this is what happened between
/// two snapshots of the same runtime).
pub fn delta(after: &Counters, before: &Counters) -> Counters {
    let mut d = Counters::default();
    d.polls = after.polls - before.polls;
    d.spawns = after.spawns - before.spawns;
    d.from_lifo = after.from_lifo - before.from_lifo;
    d.from_local = after.from_local - before.from_local;
    d.from_node_injector = after.from_node_injector - before.from_node_injector;
    d.sibling_steals = after.sibling_steals - before.sibling_steals;
    d.sibling_tasks = after.sibling_tasks - before.sibling_tasks;
    d.remote_steals = after.remote_steals - before.remote_steals;
    d.remote_tasks = after.remote_tasks - before.remote_tasks;
    d.global_steals = after.global_steals - before.global_steals;
    d.global_tasks = after.global_tasks - before.global_tasks;
    d.parks = after.parks - before.parks;
    d.overflows = after.overflows - before.overflows;
    d
}

/// Sums per-worker counters into groups: `group_of[w]` is the group of worker `w`.
pub fn group(per_worker: &[Counters], group_of: &[usize], groups: usize) -> Vec<Counters> {
    let mut out = vec![Counters::default(); groups];
    for (w, c) in per_worker.iter().enumerate() {
        out[group_of[w]] += *c;
    }
    out
}

/// Adds up counters.
pub fn sum(cs: &[Counters]) -> Counters {
    let mut t = Counters::default();
    for c in cs {
        t += *c;
    }
    t
}
