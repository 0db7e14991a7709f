//! Runs the runtime workloads on Moirai and on tokio in one process and prints a markdown table of
//! per-operation medians and ratios (the table in README.md).
//!
//! ```text
//! cargo run --release --example bench_report -- [--threads N] [--topology SPEC]... [--runs R]
//!     [--workload NAME[,NAME...]] [--unpooled] [--profile]
//! ```
//!
//! Each `--topology` adds a Moirai column (default: the detected topology); `--unpooled` adds the
//! same columns again with the task pool off, and a pooled/unpooled ratio per topology. Runs alternate between the runtimes (in an order
//! that rotates from round to round) so that all of them see the same machine noise; each time is
//! the median of `R` runs and each ratio the median of the `R` per-round ratios. `--profile` runs only
//! Moirai (for a profiler), printing nothing.

use std::time::Instant;

#[path = "../benches/workloads/mod.rs"]
mod workloads;
use workloads::{Moirai, Rt, Tokio, Workload};

struct Args {
    threads: usize,
    topologies: Vec<Option<String>>,
    runs: usize,
    only: Option<String>,
    profile: bool,
    unpooled: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        threads: 2,
        topologies: Vec::new(),
        runs: 15,
        only: None,
        profile: false,
        unpooled: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--threads" => args.threads = value().parse().expect("--threads N"),
            "--topology" => args.topologies.push(Some(value())),
            "--runs" => args.runs = value().parse().expect("--runs R"),
            "--workload" => args.only = Some(value()),
            "--profile" => args.profile = true,
            "--unpooled" => args.unpooled = true,
            "--help" | "-h" => {
                println!(
                    "bench_report [--threads N] [--topology SPEC]... [--runs R] [--workload NAME[,NAME...]] \
                     [--unpooled] [--profile]"
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument {other:?} (try --help)"),
        }
    }
    if args.topologies.is_empty() {
        args.topologies.push(None);
    }
    args
}

fn time<R: Rt>(rt: &R, w: &Workload<R>) -> f64 {
    // Let the runtime measured before this one go idle first: on a 2-core machine its workers,
    // still spinning in their search before they park, would otherwise steal this run's CPU.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let t = Instant::now();
    (w.run)(rt);
    t.elapsed().as_secs_f64() * 1e9 / w.ops as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The median of `a[r] / b[r]` over the rounds `r`.
fn per_round_ratio(a: &[f64], b: &[f64]) -> f64 {
    median(a.iter().zip(b).map(|(a, b)| a / b).collect())
}

fn selected(args: &Args, name: &str) -> bool {
    args.only
        .as_deref()
        .is_none_or(|o| o.split(',').any(|o| o == name))
}

fn main() {
    let args = parse_args();
    if args.profile {
        let m = Moirai::with_pool(args.threads, args.topologies[0].as_deref(), !args.unpooled);
        for w in workloads::all::<Moirai>()
            .iter()
            .filter(|w| selected(&args, w.name))
        {
            for _ in 0..args.runs {
                (w.run)(&m);
            }
        }
        return;
    }

    // One Moirai column per topology, pooled; with --unpooled, the same again with the pool off.
    let mut configs: Vec<(Option<String>, bool)> =
        args.topologies.iter().map(|t| (t.clone(), true)).collect();
    if args.unpooled {
        configs.extend(args.topologies.iter().map(|t| (t.clone(), false)));
    }
    let tokio = Tokio::new(args.threads);
    let moirais: Vec<Moirai> = configs
        .iter()
        .map(|(t, pool)| Moirai::with_pool(args.threads, t.as_deref(), *pool))
        .collect();
    let tw: Vec<Workload<Tokio>> = workloads::all();
    let mw: Vec<Workload<Moirai>> = workloads::all();

    print!("| workload ({} threads) | tokio ns/op |", args.threads);
    for (t, pool) in &configs {
        let name = t
            .clone()
            .map_or("moirai".to_string(), |t| format!("moirai {t}"));
        let name = if *pool {
            name
        } else {
            format!("{name} unpooled")
        };
        print!(" {name} ns/op | ratio |");
    }
    let pooled_columns = args.topologies.len();
    if args.unpooled {
        for t in &args.topologies {
            let name = t
                .clone()
                .map_or("moirai".to_string(), |t| format!("moirai {t}"));
            print!(" {name} pooled / unpooled |");
        }
    }
    // With several topologies, each one against the first (the hierarchy's cost when the first
    // is flat), by the same per-round statistic.
    let topology_name = |t: &Option<String>| t.clone().unwrap_or_else(|| "detected".to_string());
    for t in &args.topologies[1..] {
        print!(
            " {} / {} |",
            topology_name(t),
            topology_name(&args.topologies[0])
        );
    }
    println!();
    print!("|---|---:|");
    for _ in &configs {
        print!("---:|---:|");
    }
    if args.unpooled {
        for _ in &args.topologies {
            print!("---:|");
        }
    }
    for _ in 1..pooled_columns {
        print!("---:|");
    }
    println!();

    for (i, w) in tw.iter().enumerate() {
        if !selected(&args, w.name) {
            continue;
        }
        // Warm up every runtime (pools, allocator, thread wake-ups).
        (w.run)(&tokio);
        for m in &moirais {
            (mw[i].run)(m);
        }
        let mut t_runs = Vec::new();
        let mut m_runs: Vec<Vec<f64>> = vec![Vec::new(); moirais.len()];
        // The order rotates from run to run: whichever runtime goes first after another one's
        // run meets that runtime's workers still spinning down, so a fixed order would
        // favour one runtime (it made Moirai look 1.3x-1.6x slower on cpu_fanout).
        let columns = 1 + moirais.len();
        for run in 0..args.runs {
            for j in 0..columns {
                match (run + j) % columns {
                    0 => t_runs.push(time(&tokio, w)),
                    k => m_runs[k - 1].push(time(&moirais[k - 1], &mw[i])),
                }
            }
        }
        // The ratio is the median of the per-round ratios (each round runs every runtime once,
        // back to back), not the ratio of the medians: this machine's speed drifts between
        // rounds, and a drift moves both sides of a round's ratio together. For workloads of a
        // few milliseconds with a bimodal time (cpu_fanout) the ratio of medians jumped by 2x
        // between invocations.
        let t = median(t_runs.clone());
        print!("| {} | {:.1} |", w.name, t);
        for runs in &m_runs {
            print!(
                " {:.1} | {:.2}x |",
                median(runs.clone()),
                per_round_ratio(runs, &t_runs)
            );
        }
        if args.unpooled {
            // Same statistic, pooled against unpooled: the task-pool issue's bar.
            for k in 0..pooled_columns {
                let ratio = per_round_ratio(&m_runs[k], &m_runs[k + pooled_columns]);
                print!(" {ratio:.2}x |");
            }
        }
        for k in 1..pooled_columns {
            print!(" {:.2}x |", per_round_ratio(&m_runs[k], &m_runs[0]));
        }
        println!();
    }
}
