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
//! Runs alternate between the two runtimes so that both see the same machine noise.

use std::sync::Arc;
use std::time::Instant;

use moirai::{Counters, Runtime};

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

fn build(threads: usize, spec: &str) -> Runtime {
    let topology = spec
        .parse()
        .unwrap_or_else(|e| panic!("bad topology {spec:?}: {e}"));
    Runtime::builder()
        .worker_threads(threads)
        .topology(topology)
        .build()
        .unwrap_or_else(|e| panic!("cannot build a runtime on {spec}: {e}"))
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
    let hier = build(a.threads, &a.topology);
    // The node of each worker index in the hierarchical layout: the flat run's virtual nodes.
    let vnode_of: Vec<usize> = hier
        .metrics()
        .workers
        .iter()
        .map(|w| w.node.index())
        .collect();
    let vnodes = hier.topology().nodes().len();
    let flat = build(a.threads, &flat_spec);

    println!(
        "# numa_report: {} workers, hierarchical {} vs flat {flat_spec}, {} timed runs each \
         (median), work {} iterations/task, numa_model penalty +{:.0}% (simulated)\n",
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
