//! Channel throughput: Moirai's zero-copy ring against tokio mpsc, async-channel, flume, kanal
//! and thingbuf, all on the same tokio multi-thread runtime (2 workers), capacity 1024.
//!
//! `cargo bench -p moirai-channel --bench channel -- --warm-up-time 1 --measurement-time 3`
//!
//! One criterion iteration runs a whole workload; throughput is reported per message.

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use moirai_channel::zero_copy;
use tokio::runtime::Runtime;

const CAP: usize = 1024;
const SPSC_N: u64 = 1_000_000;
const MPSC_PRODUCERS: u64 = 4;
const MPSC_PER: u64 = 250_000;
const BIG_N: u64 = 200_000;

/// A 1 KiB message.
#[derive(Clone)]
struct Kib([u8; 1024]);

impl Default for Kib {
    fn default() -> Self {
        Self([0; 1024])
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

fn run<F: Future<Output = ()> + Send + 'static>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    name: &str,
    workload: impl Fn() -> F,
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let fut = workload();
                let start = Instant::now();
                rt.block_on(async { tokio::spawn(fut).await.unwrap() });
                total += start.elapsed();
            }
            total
        })
    });
}

/// Spawns `producers` tasks running `produce(p)` and one consumer `consume()`; waits for all.
async fn fan_in<P, C>(producers: u64, mut produce: impl FnMut(u64) -> P, consume: C)
where
    P: Future<Output = ()> + Send + 'static,
    C: Future<Output = u64> + Send + 'static,
{
    let consumer = tokio::spawn(consume);
    let handles: Vec<_> = (0..producers).map(|p| tokio::spawn(produce(p))).collect();
    for h in handles {
        h.await.unwrap();
    }
    black_box(consumer.await.unwrap());
}

macro_rules! u64_workload {
    ($producers:expr, $per:expr, $make:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {
        || async move {
            let ($tx, $rx) = $make;
            let txs: Vec<_> = (0..$producers).map(|_| $tx.clone()).collect();
            drop($tx);
            let mut txs = txs.into_iter();
            fan_in(
                $producers,
                move |_| {
                    let $tx = txs.next().unwrap();
                    async move {
                        for $v in 0..$per {
                            $send;
                        }
                    }
                },
                async move {
                    #[allow(unused_mut)]
                    let mut $rx = $rx;
                    let mut sum = 0u64;
                    while let Some(v) = $recv {
                        sum = sum.wrapping_add(v);
                    }
                    sum
                },
            )
            .await
        }
    };
}

fn u64_group(c: &mut Criterion, rt: &Runtime, name: &str, producers: u64, per: u64) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(producers * per));
    g.sample_size(10);
    run(
        &mut g,
        rt,
        "moirai",
        u64_workload!(
            producers,
            per,
            zero_copy::channel::<u64>(CAP),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await
        ),
    );
    run(
        &mut g,
        rt,
        "tokio",
        u64_workload!(
            producers,
            per,
            tokio::sync::mpsc::channel::<u64>(CAP),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await
        ),
    );
    run(
        &mut g,
        rt,
        "async-channel",
        u64_workload!(
            producers,
            per,
            async_channel::bounded::<u64>(CAP),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.ok()
        ),
    );
    run(
        &mut g,
        rt,
        "flume",
        u64_workload!(
            producers,
            per,
            flume::bounded::<u64>(CAP),
            |tx, v| tx.send_async(v).await.unwrap(),
            |rx| rx.recv_async().await.ok()
        ),
    );
    run(
        &mut g,
        rt,
        "kanal",
        u64_workload!(
            producers,
            per,
            kanal::bounded_async::<u64>(CAP),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.ok()
        ),
    );
    run(
        &mut g,
        rt,
        "thingbuf",
        u64_workload!(
            producers,
            per,
            thingbuf::mpsc::channel::<u64>(CAP),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await
        ),
    );
    g.finish();
}

fn fill(msg: &mut Kib, v: u64) {
    msg.0.fill(v as u8);
}

fn check(msg: &Kib) -> u64 {
    u64::from(msg.0[0]) + u64::from(msg.0[1023])
}

fn spsc_1k(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("spsc_1k");
    g.throughput(Throughput::Elements(BIG_N));
    g.sample_size(10);
    run(&mut g, rt, "moirai", || async {
        let (tx, rx) = zero_copy::channel::<Kib>(CAP);
        let mut tx = Some(tx);
        fan_in(
            1,
            move |_| {
                let tx = tx.take().unwrap();
                async move {
                    for v in 0..BIG_N {
                        fill(&mut tx.send_ref().await.unwrap(), v);
                    }
                }
            },
            async move {
                let mut sum = 0;
                while let Some(m) = rx.recv_ref().await {
                    sum += check(&m);
                }
                sum
            },
        )
        .await
    });
    macro_rules! by_value {
        ($name:expr, $make:expr, |$tx:ident, $m:ident| $send:expr, |$rx:ident| $recv:expr) => {
            run(&mut g, rt, $name, || async {
                let ($tx, $rx) = $make;
                let mut $tx = Some($tx);
                fan_in(
                    1,
                    move |_| {
                        let $tx = $tx.take().unwrap();
                        async move {
                            for v in 0..BIG_N {
                                let mut $m = Kib::default();
                                fill(&mut $m, v);
                                $send;
                            }
                        }
                    },
                    async move {
                        #[allow(unused_mut)]
                        let mut $rx = $rx;
                        let mut sum = 0;
                        while let Some(m) = $recv {
                            sum += check(&m);
                        }
                        sum
                    },
                )
                .await
            });
        };
    }
    by_value!(
        "tokio",
        tokio::sync::mpsc::channel::<Kib>(CAP),
        |tx, m| tx.send(m).await.unwrap(),
        |rx| rx.recv().await
    );
    by_value!(
        "async-channel",
        async_channel::bounded::<Kib>(CAP),
        |tx, m| tx.send(m).await.unwrap(),
        |rx| rx.recv().await.ok()
    );
    by_value!(
        "flume",
        flume::bounded::<Kib>(CAP),
        |tx, m| tx.send_async(m).await.unwrap(),
        |rx| rx.recv_async().await.ok()
    );
    by_value!(
        "kanal",
        kanal::bounded_async::<Kib>(CAP),
        |tx, m| tx.send(m).await.unwrap(),
        |rx| rx.recv().await.ok()
    );
    run(&mut g, rt, "thingbuf", || async {
        let (tx, rx) = thingbuf::mpsc::channel::<Kib>(CAP);
        let mut tx = Some(tx);
        fan_in(
            1,
            move |_| {
                let tx = tx.take().unwrap();
                async move {
                    for v in 0..BIG_N {
                        fill(&mut tx.send_ref().await.unwrap(), v);
                    }
                }
            },
            async move {
                let mut sum = 0;
                while let Some(m) = rx.recv_ref().await {
                    sum += check(&m);
                }
                sum
            },
        )
        .await
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    u64_group(c, &rt, "spsc_u64", 1, SPSC_N);
    u64_group(c, &rt, "mpsc_u64", MPSC_PRODUCERS, MPSC_PER);
    spsc_1k(c, &rt);
}

criterion_group!(channel_benches, benches);
criterion_main!(channel_benches);
