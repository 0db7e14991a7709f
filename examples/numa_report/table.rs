//! Markdown tables of the NUMA report.

use moirai::Counters;

use super::share;

/// One layout's results for one workload, summed over the timed runs.
pub struct Outcome {
    /// `2x2`, `1x4`, ...
    pub label: String,
    pub flat: bool,
    /// Per worker, what happened during the timed runs.
    pub per_worker: Vec<Counters>,
    /// (ran, away from home) per (virtual) node, summed over the timed runs.
    pub tallies: Vec<(u64, u64)>,
    /// Wall time of each timed run, seconds.
    pub times: Vec<f64>,
    /// CPU time of the process during each timed run, seconds (empty if not available).
    pub cpu: Vec<f64>,
    /// Tasks of one run.
    pub tasks: u64,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Outcome {
    pub fn median_s(&self) -> f64 {
        median(&self.times)
    }

    /// Median CPU seconds per run (NaN if not measured).
    pub fn median_cpu_s(&self) -> f64 {
        median(&self.cpu)
    }

    /// Fastest and slowest run, seconds.
    pub fn range_s(&self) -> (f64, f64) {
        let min = self.times.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.times.iter().copied().fold(0.0, f64::max);
        (min, max)
    }

    pub fn total(&self) -> Counters {
        share::sum(&self.per_worker)
    }

    pub fn away_fraction(&self) -> f64 {
        let (ran, away) = self
            .tallies
            .iter()
            .fold((0, 0), |(r, a), &(r2, a2)| (r + r2, a + a2));
        if ran == 0 {
            0.0
        } else {
            away as f64 / ran as f64
        }
    }
}

pub fn print_header() {
    println!(
        "| run | node | workers | polls | own (LIFO+deque) | node inj. | sibling steals/tasks \
         | remote steals/tasks | global steals/tasks | overflows | parks | ran here | of which away from home | locality share |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

/// `tally`: (ran, away from home), counted per node only (`None` on per-worker rows).
fn row(run: &str, node: &str, workers: usize, c: &Counters, tally: Option<(u64, u64)>, flat: bool) {
    let (ran, away) = tally.map_or(("-".to_string(), "-".to_string()), |(r, a)| {
        (r.to_string(), a.to_string())
    });
    let loc = if flat {
        // One node: crossing a node boundary is impossible, the figure would say nothing.
        "n/a (1 node)".to_string()
    } else {
        format!("{:.1}%", share::locality_share(c) * 100.0)
    };
    println!(
        "| {run} | {node} | {workers} | {} | {} | {} | {}/{} | {}/{} | {}/{} | {} | {} | {ran} | {away} | {loc} |",
        c.polls,
        c.from_lifo + c.from_local,
        c.from_node_injector,
        c.sibling_steals,
        c.sibling_tasks,
        c.remote_steals,
        c.remote_tasks,
        c.global_steals,
        c.global_tasks,
        c.overflows,
        c.parks,
    );
}

/// Per node (virtual nodes on the flat layout) and total; per worker too if asked.
pub fn print_nodes(o: &Outcome, vnode_of: &[usize], vnodes: usize, per_worker: bool) {
    let prefix = if o.flat { "v" } else { "n" };
    if per_worker {
        for (w, c) in o.per_worker.iter().enumerate() {
            let node = format!("w{w} {prefix}{}", vnode_of[w]);
            row(&o.label, &node, 1, c, None, o.flat);
        }
    }
    let nodes = share::group(&o.per_worker, vnode_of, vnodes);
    for (k, c) in nodes.iter().enumerate() {
        let workers = vnode_of.iter().filter(|&&n| n == k).count();
        let name = if o.flat {
            format!("v{k} (workers of n{k})")
        } else {
            format!("n{k}")
        };
        row(&o.label, &name, workers, c, Some(o.tallies[k]), o.flat);
    }
    let (ran, away) = o
        .tallies
        .iter()
        .fold((0, 0), |(r, a), &(r2, a2)| (r + r2, a + a2));
    row(
        &o.label,
        "**total**",
        vnode_of.len(),
        &o.total(),
        Some((ran, away)),
        o.flat,
    );
}

pub fn print_summary_header(threads: usize) {
    println!(
        "| workload ({threads} workers) | hier. ms median (min-max) | flat ms median (min-max) \
         | time hier/flat | CPU ms hier. / flat | CPU hier/flat | throughput hier/flat (wall) \
         | hier. locality share | hier. remote steals | away from home hier. / flat \
         | modelled work flat/hier | bar |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
}

/// The spin work the model charges the flat run over the hierarchical one, from the measured
/// away-from-home fractions: `(1 + penalty * away_flat) / (1 + penalty * away_hier)`. What the
/// throughput ratio would be on idle, dedicated cores; wall-clock noise does not enter it.
pub fn modelled_work_ratio(h: &Outcome, f: &Outcome, penalty: f64) -> f64 {
    (1.0 + penalty * f.away_fraction()) / (1.0 + penalty * h.away_fraction())
}

/// One summary line, with the bar for that workload.
pub fn print_summary(name: &str, h: &Outcome, f: &Outcome, penalty: f64) {
    let ht = h.total();
    let share = share::locality_share(&ht);
    let time_ratio = h.median_s() / f.median_s();
    let cpu_ratio = h.median_cpu_s() / f.median_cpu_s();
    let tp_ratio = 1.0 / time_ratio;
    let modelled = modelled_work_ratio(h, f, penalty);
    let bar = match name {
        "uniform" => verdict(share >= 0.90, &format!("share {:.1}% >= 90%", share * 100.0)),
        "stranded" => verdict(
            ht.remote_steals > 0 && time_ratio <= 1.10,
            &format!(
                "remote steals {} > 0, time {time_ratio:.2}x <= 1.10x",
                ht.remote_steals
            ),
        ),
        "numa_model" => verdict(
            tp_ratio >= 1.25,
            &format!(
                "simulated; wall-clock throughput {tp_ratio:.2}x >= 1.25x; CPU {:.2}x, model {modelled:.2}x",
                1.0 / cpu_ratio
            ),
        ),
        _ => String::new(),
    };
    let modelled = if name == "numa_model" {
        format!("{modelled:.2}x")
    } else {
        "-".to_string()
    };
    let (hmin, hmax) = h.range_s();
    let (fmin, fmax) = f.range_s();
    println!(
        "| {name} | {:.1} ({:.1}-{:.1}) | {:.1} ({:.1}-{:.1}) | {time_ratio:.2}x | {:.1} / {:.1} | {cpu_ratio:.2}x \
         | {tp_ratio:.2}x | {:.1}% | {} | {:.1}% / {:.1}% | {modelled} | {bar} |",
        h.median_s() * 1e3,
        hmin * 1e3,
        hmax * 1e3,
        f.median_s() * 1e3,
        fmin * 1e3,
        fmax * 1e3,
        h.median_cpu_s() * 1e3,
        f.median_cpu_s() * 1e3,
        share * 100.0,
        ht.remote_steals,
        h.away_fraction() * 100.0,
        f.away_fraction() * 100.0,
    );
}

fn verdict(ok: bool, what: &str) -> String {
    format!("{} ({what})", if ok { "PASS" } else { "FAIL" })
}
