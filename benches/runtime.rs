//! Criterion benchmarks of the runtime: every workload on Moirai and on tokio, same worker count
//! (2, or `BENCH_THREADS`), same process. The ratio table in README.md comes from
//! `examples/bench_report.rs`, which runs the same workloads (`benches/workloads/mod.rs`).

use criterion::{criterion_group, criterion_main, Criterion};

mod workloads;
use workloads::{Moirai, Rt, Tokio, Workload};

fn threads() -> usize {
    std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

fn bench(c: &mut Criterion) {
    let moirai = Moirai::new(threads(), None);
    let tokio = Tokio::new(threads());
    let m: Vec<Workload<Moirai>> = workloads::all();
    let t: Vec<Workload<Tokio>> = workloads::all();
    for (wm, wt) in m.iter().zip(&t) {
        let mut g = c.benchmark_group(wm.name);
        g.sample_size(10);
        g.bench_function("moirai", |b| b.iter(|| (wm.run)(&moirai)));
        g.bench_function("tokio", |b| b.iter(|| (wt.run)(&tokio)));
        g.finish();
    }
    // Keep the runtimes alive until every group ran.
    let _ = (moirai.block_on(async {}), tokio.block_on(async {}));
}

criterion_group!(benches, bench);
criterion_main!(benches);
