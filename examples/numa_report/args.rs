//! Command line of the NUMA report.

pub struct Args {
    pub threads: usize,
    /// The hierarchical topology (the flat one is always `1x{threads}`).
    pub topology: String,
    /// Workloads to run, in order.
    pub workloads: Vec<String>,
    pub runs: usize,
    pub penalty: f64,
    pub work: u64,
    /// Overrides of each workload's size (see `workloads::Ctx::size`).
    pub leaves: u64,
    pub stranded_tasks: u64,
    pub children: u64,
    pub producers: u64,
    /// Print the per-worker table too.
    pub per_worker: bool,
    /// Leave the hierarchical runtime's workers unbound (see `main::build_hierarchical`).
    pub unbound: bool,
}

pub const USAGE: &str = "numa_report [--threads N] [--topology SPEC] [--workload NAME]... \
[--runs R] [--penalty P] [--work ITERS] [--leaves L] [--stranded-tasks T] [--children C] \
[--producers P] [--per-worker] [--unbound]

  --threads N        workers (default 4)
  --topology SPEC    hierarchical topology, e.g. 2x2 (default 2x{N/2}); compared with 1x{N}
  --workload NAME    uniform | stranded | numa_model (repeatable; default all three)
  --runs R           timed runs per layout, median reported (default 5)
  --penalty P        numa_model: extra cost away from home, 0.6 = +60% (default 0.6)
  --work ITERS       spin iterations per task in stranded and numa_model (default 20000)
  --leaves L         uniform: leaves per node's tree (default 200000)
  --stranded-tasks T stranded: tasks spawned on node 0 (default 2048)
  --children C       numa_model: children per producer (default 128)
  --producers P      numa_model: producers per node (default 8)
  --per-worker       print a row per worker too
  --unbound          do not give each synthetic node CPUs of its own (the hierarchical runtime's
                     workers then float over every CPU, as the flat runtime's always do)";

pub fn parse() -> Args {
    let mut a = Args {
        threads: 4,
        topology: String::new(),
        workloads: Vec::new(),
        runs: 5,
        penalty: 0.6,
        work: 20_000,
        leaves: 200_000,
        stranded_tasks: 2048,
        children: 128,
        producers: 8,
        per_worker: false,
        unbound: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| die(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--threads" => a.threads = num(&flag, &value()),
            "--topology" => a.topology = value(),
            "--workload" => a.workloads.push(value()),
            "--runs" => a.runs = num(&flag, &value()),
            "--penalty" => a.penalty = num(&flag, &value()),
            "--work" => a.work = num(&flag, &value()),
            "--leaves" => a.leaves = num(&flag, &value()),
            "--stranded-tasks" => a.stranded_tasks = num(&flag, &value()),
            "--children" => a.children = num(&flag, &value()),
            "--producers" => a.producers = num(&flag, &value()),
            "--per-worker" => a.per_worker = true,
            "--unbound" => a.unbound = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => die(&format!("unknown argument {other:?}")),
        }
    }
    if a.threads == 0 || a.runs == 0 {
        die("--threads and --runs must be at least 1");
    }
    if a.topology.is_empty() {
        a.topology = format!("2x{}", (a.threads / 2).max(1));
    }
    if a.workloads.is_empty() {
        a.workloads = super::workloads::NAMES
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    for w in &a.workloads {
        if !super::workloads::NAMES.contains(&w.as_str()) {
            die(&format!(
                "unknown workload {w:?} (one of {:?})",
                super::workloads::NAMES
            ));
        }
    }
    if !(0.0..=10.0).contains(&a.penalty) {
        die("--penalty must be in 0..=10");
    }
    a
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
    v.parse()
        .unwrap_or_else(|_| die(&format!("{flag}: not a number: {v:?}")))
}

fn die(msg: &str) -> ! {
    eprintln!("numa_report: {msg}\n\n{USAGE}");
    std::process::exit(2)
}
