//! `mpsc_u64` of `benches/channel.rs` (4 producers x 250k `u64`, one consumer, capacity 1024,
//! tokio with 2 workers), Moirai's zero-copy channel and kanal (the best peer there) alternating
//! round by round in one process, so both see the same moments of a noisy machine. Prints each
//! round's ratio and the median: a steadier figure than two separate criterion groups.
//!
//! ```text
//! cargo run --release -p moirai-channel --example fan_in_ratio -- [ROUNDS]
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

use moirai_channel::zero_copy;

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 250_000;
const CAPACITY: usize = 1024;

/// Runs the fan-in: `PRODUCERS` futures made by `producer`, and `consumer`. Returns the wall
/// time and the consumer's sum.
fn fan_in<P, C>(
    rt: &tokio::runtime::Runtime,
    mut producer: impl FnMut() -> P,
    consumer: C,
) -> (Duration, u64)
where
    P: Future<Output = ()> + Send + 'static,
    C: Future<Output = u64> + Send + 'static,
{
    let producers: Vec<P> = (0..PRODUCERS).map(|_| producer()).collect();
    // `producer` owns the original sender: dropping it leaves the producers' clones as the only
    // senders, so the channel closes when they finish and the consumer ends.
    drop(producer);
    let start = Instant::now();
    let sum = rt.block_on(async move {
        tokio::spawn(async move {
            let consumer = tokio::spawn(consumer);
            let handles: Vec<_> = producers.into_iter().map(tokio::spawn).collect();
            for h in handles {
                h.await.unwrap();
            }
            consumer.await.unwrap()
        })
        .await
        .unwrap()
    });
    (start.elapsed(), sum)
}

/// One round on `rt` of the fan-in through the channel `$make` makes; `$recv` is the receive
/// expression (an `Option<u64>`) on the receiver `$rx`. The two channels differ only there.
macro_rules! round {
    ($rt:expr, $make:expr, |$rx:ident| $recv:expr) => {{
        let (tx, $rx) = $make;
        let consumer = async move {
            let mut sum = 0u64;
            while let Some(v) = $recv {
                sum = sum.wrapping_add(v);
            }
            sum
        };
        let producer = move || {
            let tx = tx.clone();
            async move {
                for i in 0..PER_PRODUCER {
                    tx.send(i).await.unwrap();
                }
            }
        };
        fan_in($rt, producer, consumer)
    }};
}

fn moirai_round(rt: &tokio::runtime::Runtime) -> (Duration, u64) {
    round!(rt, zero_copy::channel::<u64>(CAPACITY), |rx| rx
        .recv()
        .await)
}

fn kanal_round(rt: &tokio::runtime::Runtime) -> (Duration, u64) {
    round!(rt, kanal::bounded_async::<u64>(CAPACITY), |rx| rx
        .recv()
        .await
        .ok())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(15, |a| a.parse().expect("ROUNDS must be a number"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let expected = PRODUCERS * (PER_PRODUCER * (PER_PRODUCER - 1) / 2);
    let (mut moirai_ms, mut kanal_ms, mut ratios) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        let (m, m_sum) = moirai_round(&rt);
        let (k, k_sum) = kanal_round(&rt);
        assert_eq!((m_sum, k_sum), (expected, expected), "a message was lost");
        let ratio = m.as_secs_f64() / k.as_secs_f64();
        println!(
            "round {round:2}: moirai {:6.1} ms  kanal {:6.1} ms  ratio {ratio:.2}x",
            m.as_secs_f64() * 1e3,
            k.as_secs_f64() * 1e3
        );
        moirai_ms.push(m.as_secs_f64() * 1e3);
        kanal_ms.push(k.as_secs_f64() * 1e3);
        ratios.push(ratio);
    }
    println!(
        "median of {rounds}: moirai {:.1} ms, kanal {:.1} ms, per-round ratio {:.2}x",
        median(moirai_ms),
        median(kanal_ms),
        median(ratios)
    );
}
