//! Where the work ran: locality figures of Moirai's hierarchical scheduler on a synthetic
//! topology, against the same workers laid out flat (`1xN`). See NUMA.md for what is measured and
//! what is simulated.
//!
//! ```text
//! cargo run --release --example numa_report -- [--threads N] [--topology SPEC] [--workload NAME]...
//! ```
//!
//! For each workload: a table per node (tasks polled, tasks obtained at each level, steals by
//! level, the locality share, tasks that ran away from their home node) for the hierarchical and
//! the flat runtime, then one summary table with medians, throughput, their ratios and the bar.
//! Runs alternate between the two runtimes so that both see the same machine noise. Each
//! synthetic node of the hierarchical runtime gets CPUs of its own (`build_hierarchical`).

use std::sync::Arc;
use std::time::Instant;

use moirai::topology::{allowed_cpus, Topology, TopologySource};
use moirai::{Affinity, Counters, NodeId, Runtime};

#[path = "numa_report/args.rs"]
mod args;
#[path = "numa_report/cpu.rs"]
mod cpu;
#[path = "numa_report/share.rs"]
mod share;
#[path = "numa_report/table.rs"]
mod table;
#[path = "numa_report/workloads.rs"]
mod workloads;

use table::Outcome;
use workloads::{Ctx, Slot};

fn build(threads: usize, topology: Topology, affinity: Affinity) -> Runtime {
    Runtime::builder()
        .worker_threads(threads)
        .topology(topology.clone())
        .affinity(affinity)
        .build()
        .unwrap_or_else(|e| panic!("cannot build a runtime on {topology}: {e}"))
}

/// The hierarchical runtime. A NUMA node owns its cores: an idle node's cores stay idle, and a
/// busy node's workers never run on them. Synthetic nodes own nothing (their CPU numbers are
/// virtual), so by default the allowed CPUs are split between the nodes in equal contiguous blocks and
/// each worker is bound to its node's block ([`Affinity::Node`]). Left unbound (`--unbound`),
/// the OS shares every CPU between all workers: when workers outnumber CPUs, as here (4 on 2),
/// the node whose workers got less CPU time falls behind, and the other node's workers, idle,
/// steal its tail across the boundary (NUMA.md, "Workers bound to their node"). Returns the
/// runtime and a description of the binding.
fn build_hierarchical(a: &args::Args) -> (Runtime, String) {
    let spec: Topology = a
        .topology
        .parse()
        .unwrap_or_else(|e| panic!("bad topology {:?}: {e}", a.topology));
    let n = spec.num_nodes();
    let cpus = allowed_cpus().unwrap_or_else(|| {
        (0..std::thread::available_parallelism().map_or(1, usize::from)).collect()
    });
    if a.unbound || cpus.len() < n {
        let why = if a.unbound {
            "unbound (--unbound)".to_string()
        } else {
            format!("unbound (only {} CPUs for {n} nodes)", cpus.len())
        };
        return (build(a.threads, spec, Affinity::Unbound), why);
    }
    // Equal blocks (a remainder of CPUs is left out), so that every node gets as many workers
    // as the spec gives it.
    let per_node = cpus.len() / n;
    let blocks: Vec<Vec<usize>> = cpus
        .chunks_exact(per_node)
        .take(n)
        .map(<[usize]>::to_vec)
        .collect();
    let distances = (0..n)
        .map(|x| {
            (0..n)
                .map(|y| spec.distance(NodeId::new(x), NodeId::new(y)))
                .collect()
        })
        .collect();
    let topology = Topology::from_parts(blocks, distances, TopologySource::Synthetic)
        .unwrap_or_else(|e| panic!("cannot split CPUs {cpus:?} into {n} nodes: {e}"));
    let described = format!("each node's workers bound to its CPUs: {topology}");
    (build(a.threads, topology, Affinity::Node), described)
}

fn snapshot(rt: &Runtime) -> Vec<Counters> {
    rt.metrics().workers.iter().map(|w| w.counters).collect()
}

fn new_ctx(a: &args::Args, name: &str, vnode_of: &[usize], vnodes: usize, flat: bool) -> Arc<Ctx> {
    let size = match name {
        "uniform" => a.leaves,
        "stranded" => a.stranded_tasks,
        _ => a.children,
    };
    Arc::new(Ctx {
        vnode_of: vnode_of.to_vec(),
        vnodes,
        flat,
        slots: (0..vnode_of.len()).map(|_| Slot::default()).collect(),
        work: a.work,
        penalty: a.penalty,
        size,
        producers: a.producers,
    })
}

fn main() {
    let a = args::parse();
    let flat_spec = format!("1x{}", a.threads);
    let (hier, binding) = build_hierarchical(&a);
    // The node of each worker index in the hierarchical layout: the flat run's virtual nodes.
    let vnode_of: Vec<usize> = hier.metrics().worker_nodes();
    let vnodes = hier.topology().nodes().len();
    let flat_topology = flat_spec.parse().expect("1xN is a valid spec");
    let flat = build(a.threads, flat_topology, Affinity::Unbound);

    println!(
        "# numa_report: {} workers, hierarchical {} vs flat {flat_spec}, {} timed runs each \
         (median), work {} iterations/task, numa_model penalty +{:.0}% (simulated)\n\n\
         hierarchical: {binding}; flat: unbound\n",
        a.threads,
        a.topology,
        a.runs,
        a.work,
        a.penalty * 100.0
    );

    let layouts = [
        (&hier, a.topology.as_str(), false),
        (&flat, flat_spec.as_str(), true),
    ];
    let mut results = Vec::new();
    for name in &a.workloads {
        let mut outcomes = layouts.map(|(_, label, f)| Outcome {
            label: label.to_string(),
            flat: f,
            per_worker: vec![Counters::default(); a.threads],
            tallies: vec![(0, 0); vnodes],
            times: Vec::new(),
            cpu: Vec::new(),
            tasks: 0,
        });
        // Warm-up (thread wake-ups, allocator), not counted.
        for (rt, _, f) in layouts {
            workloads::run(name, rt, &new_ctx(&a, name, &vnode_of, vnodes, f));
        }
        let before = layouts.map(|(rt, _, _)| snapshot(rt));
        for _ in 0..a.runs {
            for (i, (rt, _, f)) in layouts.into_iter().enumerate() {
                let ctx = new_ctx(&a, name, &vnode_of, vnodes, f);
                let cpu0 = cpu::process_cpu_ns();
                let t = Instant::now();
                let tasks = workloads::run(name, rt, &ctx);
                let wall = t.elapsed().as_secs_f64();
                let o = &mut outcomes[i];
                o.times.push(wall);
                if let (Some(a), Some(b)) = (cpu0, cpu::process_cpu_ns()) {
                    o.cpu.push(b.saturating_sub(a) as f64 * 1e-9);
                }
                o.tasks = tasks;
                for (k, (ran, away)) in ctx.tallies().into_iter().enumerate() {
                    o.tallies[k].0 += ran;
                    o.tallies[k].1 += away;
                }
            }
        }
        for (i, (rt, _, _)) in layouts.into_iter().enumerate() {
            let after = snapshot(rt);
            outcomes[i].per_worker = after
                .iter()
                .zip(&before[i])
                .map(|(x, y)| share::delta(x, y))
                .collect();
        }
        println!(
            "## {name}: {} tasks per run, counters summed over {} runs\n",
            outcomes[0].tasks, a.runs
        );
        table::print_header();
        for o in &outcomes {
            table::print_nodes(o, &vnode_of, vnodes, a.per_worker);
        }
        println!();
        results.push((name.clone(), outcomes));
    }

    println!("## summary ({} vs {flat_spec})\n", a.topology);
    table::print_summary_header(a.threads);
    for (name, [h, f]) in &results {
        table::print_summary(name, h, f, a.penalty);
    }
}
