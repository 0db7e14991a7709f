//! A three-stage pipeline over batch channels: producers -> transform -> consumer.
//!
//! Four producer tasks send numbers; a transform task squares them (taking whole batches and
//! forwarding each result); the consumer awaits `recv_batch()` and sums. Prints throughput and
//! both channels' batch statistics.
//!
//! Run: `cargo run --release --example pipeline`

use std::time::Instant;

use moirai::channel::batch::{self, Stats};

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 250_000;

fn print_stats(name: &str, s: &Stats) {
    println!(
        "{name}: {} batches, {} messages, mean batch {:.1}, threshold now {}; flushes by cause: \
         size {}, delay {}, explicit {}, drop {}, idle receiver {}",
        s.batches_published,
        s.items_published,
        s.mean_batch_size(),
        s.threshold,
        s.flushes_size,
        s.flushes_delay,
        s.flushes_explicit,
        s.flushes_drop,
        s.flushes_idle_receiver,
    );
}

#[moirai::main(worker_threads = 2)]
async fn main() {
    let start = Instant::now();
    let (numbers, mut numbers_rx) = batch::channel::<u64>(4096);
    let (squares, mut squares_rx) = batch::channel::<u64>(4096);

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let mut tx = numbers.clone();
            moirai::spawn(async move {
                for i in 0..PER_PRODUCER {
                    tx.send(p * PER_PRODUCER + i)
                        .await
                        .expect("transform stage alive");
                }
                // Dropping `tx` publishes whatever it still holds.
            })
        })
        .collect();
    drop(numbers);

    let transform = moirai::spawn(async move {
        let mut out = squares;
        while let Some(batch) = numbers_rx.recv_batch().await {
            for n in batch {
                out.send(n % 1_000 * (n % 1_000))
                    .await
                    .expect("consumer alive");
            }
        }
        numbers_rx.stats()
    });

    let mut total = 0u64;
    let mut messages = 0u64;
    let mut batches = 0u64;
    while let Some(batch) = squares_rx.recv_batch().await {
        batches += 1;
        messages += batch.len() as u64;
        total += batch.iter().sum::<u64>();
    }
    let elapsed = start.elapsed();
    for p in producers {
        p.await.expect("producer finished");
    }
    let first_stage = transform.await.expect("transform finished");

    let expected: u64 = (0..PRODUCERS * PER_PRODUCER)
        .map(|n| n % 1_000 * (n % 1_000))
        .sum();
    assert_eq!(total, expected, "every message arrives exactly once");
    println!(
        "{messages} messages through 2 stages in {:.1} ms: {:.1} M messages/s ({batches} batches at the consumer)",
        elapsed.as_secs_f64() * 1e3,
        messages as f64 / elapsed.as_secs_f64() / 1e6,
    );
    print_stats("numbers (producers -> transform)", &first_stage);
    print_stats("squares (transform -> consumer)", &squares_rx.stats());
}
