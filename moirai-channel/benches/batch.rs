//! Throughput and latency of `moirai_channel::batch` against peer channels.
//!
//! All channels run on the same tokio multi-thread runtime with 2 workers:
//! * `mpsc_u64`: 4 producer tasks x 250k `u64`, one consumer task, per-message `send`/`recv`.
//! * `spsc_u64`: 1 producer task x 1M `u64`, one consumer task.
//! * light-load latency (printed after the criterion groups): one message every ~50 µs from a
//!   plain thread, the consumer task records send-to-receive time; p50 and p99.
//!
//! The zero-copy channel (`moirai_channel::zero_copy`, through `send`/`recv`) runs alongside the
//! peers: the bar compares the batch channel with it too.
//!
//! Run: `cargo bench -p moirai-channel --bench batch`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use moirai_channel::{batch, zero_copy};
use tokio::runtime::Runtime;

const CAPACITY: usize = 1024;
const TOTAL: u64 = 1_000_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// Spawns `producers` tasks that each send `per` messages through `send`, and a consumer that
/// sums what `recv` yields until it yields `None`; returns the elapsed time.
macro_rules! run_channel {
    ($rt:expr, $producers:expr, $per:expr, $make:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        let (producers, per) = ($producers, $per);
        $rt.block_on(async move {
            let start = Instant::now();
            #[allow(unused_mut)]
            let (tx, mut $rx) = $make;
            for _ in 0..producers {
                #[allow(unused_mut)]
                let mut $tx = tx.clone();
                tokio::spawn(async move {
                    for $v in 0..per {
                        $send;
                    }
                });
            }
            drop(tx);
            let consumer = tokio::spawn(async move {
                let mut sum = 0u64;
                while let Some(v) = $recv {
                    sum += v;
                }
                sum
            });
            let sum = consumer.await.unwrap();
            assert_eq!(sum, producers as u64 * (per * (per - 1) / 2));
            start.elapsed()
        })
    }};
}

fn batch_recv(rt: &Runtime, producers: u64, per: u64) -> Duration {
    run_channel!(
        rt,
        producers,
        per,
        batch::channel::<u64>(CAPACITY),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await
    )
}

fn batch_recv_batch(rt: &Runtime, producers: u64, per: u64) -> Duration {
    rt.block_on(async move {
        let start = Instant::now();
        let (tx, mut rx) = batch::channel::<u64>(CAPACITY);
        for _ in 0..producers {
            let mut tx = tx.clone();
            tokio::spawn(async move {
                for v in 0..per {
                    tx.send(v).await.unwrap();
                }
            });
        }
        drop(tx);
        let sum = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(b) = rx.recv_batch().await {
                sum += b.iter().sum::<u64>();
            }
            sum
        })
        .await
        .unwrap();
        assert_eq!(sum, producers * (per * (per - 1) / 2));
        start.elapsed()
    })
}

fn zero_copy(rt: &Runtime, producers: u64, per: u64) -> Duration {
    run_channel!(
        rt,
        producers,
        per,
        zero_copy::channel::<u64>(CAPACITY),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await
    )
}

fn tokio_mpsc(rt: &Runtime, producers: u64, per: u64) -> Duration {
    run_channel!(
        rt,
        producers,
        per,
        tokio::sync::mpsc::channel::<u64>(CAPACITY),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await
    )
}

fn async_channel(rt: &Runtime, producers: u64, per: u64) -> Duration {
    run_channel!(
        rt,
        producers,
        per,
        async_channel::bounded::<u64>(CAPACITY),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await.ok()
    )
}

fn flume(rt: &Runtime, producers: u64, per: u64) -> Duration {
    run_channel!(
        rt,
        producers,
        per,
        flume::bounded::<u64>(CAPACITY),
        |tx, v| tx.send_async(v).await.unwrap(),
        |rx| rx.recv_async().await.ok()
    )
}

fn kanal(rt: &Runtime, producers: u64, per: u64) -> Duration {
    run_channel!(
        rt,
        producers,
        per,
        kanal::bounded_async::<u64>(CAPACITY),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await.ok()
    )
}

fn thingbuf(rt: &Runtime, producers: u64, per: u64) -> Duration {
    run_channel!(
        rt,
        producers,
        per,
        thingbuf::mpsc::channel::<u64>(CAPACITY),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await
    )
}

type Runner = fn(&Runtime, u64, u64) -> Duration;

const CHANNELS: &[(&str, Runner)] = &[
    ("batch", batch_recv),
    ("batch_recv_batch", batch_recv_batch),
    ("zero_copy", zero_copy),
    ("tokio_mpsc", tokio_mpsc),
    ("async_channel", async_channel),
    ("flume", flume),
    ("kanal", kanal),
    ("thingbuf", thingbuf),
];

fn throughput(c: &mut Criterion) {
    let rt = runtime();
    for (group, producers) in [("mpsc_u64", 4u64), ("spsc_u64", 1)] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(TOTAL));
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        for &(name, run) in CHANNELS {
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| run(&rt, producers, TOTAL / producers))
                        .sum()
                })
            });
        }
        g.finish();
    }
}

/// Light load: a plain thread sends its send time every ~50 µs; the consumer task records the
/// delay. Returns the latencies in nanoseconds.
macro_rules! latency {
    ($rt:expr, $n:expr, $make:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        let n: usize = $n;
        #[allow(unused_mut)]
        let ($tx, mut $rx) = $make;
        let consumer = $rt.spawn(async move {
            let mut lat = Vec::with_capacity(n);
            while let Some(sent) = $recv {
                let sent: u64 = sent;
                lat.push(now_nanos() - sent);
            }
            lat
        });
        let producer = std::thread::spawn(move || {
            #[allow(unused_mut)]
            let mut $tx = $tx;
            for _ in 0..n {
                std::thread::sleep(Duration::from_micros(50));
                let $v = now_nanos();
                futures::executor::block_on(async { $send });
            }
        });
        producer.join().unwrap();
        $rt.block_on(consumer).unwrap()
    }};
}

/// Nanoseconds since the first call, on a clock shared by all threads.
fn now_nanos() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn latency_table() {
    now_nanos();
    let rt = runtime();
    // Rounds interleave the channels so that background load spreads evenly over them.
    let (rounds, n) = (5, 1_000);
    let names = [
        "batch",
        "zero_copy",
        "tokio_mpsc",
        "async_channel",
        "flume",
        "kanal",
        "thingbuf",
    ];
    let mut samples: Vec<Vec<u64>> = vec![Vec::new(); names.len()];
    for _ in 0..rounds {
        samples[0].extend(latency!(
            rt,
            n,
            batch::channel::<u64>(CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await
        ));
        samples[1].extend(latency!(
            rt,
            n,
            zero_copy::channel::<u64>(CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await
        ));
        samples[2].extend(latency!(
            rt,
            n,
            tokio::sync::mpsc::channel::<u64>(CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await
        ));
        samples[3].extend(latency!(
            rt,
            n,
            async_channel::bounded::<u64>(CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.ok()
        ));
        samples[4].extend(latency!(
            rt,
            n,
            flume::bounded::<u64>(CAPACITY),
            |tx, v| tx.send_async(v).await.unwrap(),
            |rx| rx.recv_async().await.ok()
        ));
        samples[5].extend(latency!(
            rt,
            n,
            kanal::bounded_async::<u64>(CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await.ok()
        ));
        samples[6].extend(latency!(
            rt,
            n,
            thingbuf::mpsc::channel::<u64>(CAPACITY),
            |tx, v| tx.send(v).await.unwrap(),
            |rx| rx.recv().await
        ));
    }
    println!(
        "\nlight-load latency ({} messages each, one every ~50 us, send-to-receive):",
        rounds * n
    );
    println!("{:<16} {:>10} {:>10}", "channel", "p50 (us)", "p99 (us)");
    for (name, lat) in names.iter().zip(&mut samples) {
        lat.sort_unstable();
        let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!("{name:<16} {:>10.2} {:>10.2}", p(0.50), p(0.99));
    }
}

criterion_group!(benches, throughput);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::var_os("BATCH_BENCH_SKIP_LATENCY").is_none() {
        latency_table();
    }
}
