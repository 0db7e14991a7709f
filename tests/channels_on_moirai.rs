//! The channels' Stream/Sink and contention scenarios, run on Moirai (their own test suite runs
//! them on `futures::executor` and tokio).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::stream::{self, FusedStream};
use futures::{SinkExt, StreamExt};
use moirai::channel::{batch, zero_copy};
use moirai::Runtime;

const N: u64 = 10_000;

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).build().unwrap()
}

#[moirai::test(worker_threads = 2)]
async fn zero_copy_forward_and_send_all_pipe() {
    let (tx, rx) = zero_copy::channel::<u64>(8);
    let producer =
        moirai::spawn(async move { stream::iter(0..N).map(Ok).forward(tx).await.unwrap() });
    let got: Vec<u64> = rx.collect().await;
    producer.await.unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());

    let (mut tx1, rx1) = zero_copy::channel::<u64>(4);
    let (tx2, mut rx2) = zero_copy::channel::<u64>(4);
    let source = moirai::spawn(async move {
        tx1.send_all(&mut stream::iter(1..=N).map(Ok))
            .await
            .unwrap()
    });
    let pipe = moirai::spawn(async move { rx1.map(|v| Ok(v * 2)).forward(tx2).await.unwrap() });
    let mut sum = 0;
    while let Some(v) = rx2.next().await {
        sum += v;
    }
    assert!(rx2.is_terminated());
    source.await.unwrap();
    pipe.await.unwrap();
    assert_eq!(sum, N * (N + 1));
}

#[test]
fn zero_copy_mpmc_delivers_each_message_once_in_per_producer_order() {
    let rt = runtime();
    let received = Arc::new(AtomicU64::new(0));
    let sum = Arc::new(AtomicU64::new(0));
    rt.block_on(rt.spawn({
        let (received, sum) = (received.clone(), sum.clone());
        async move {
            let (tx, rx) = zero_copy::channel::<u64>(16);
            let producers: Vec<_> = (0..4u64)
                .map(|p| {
                    let tx = tx.clone();
                    moirai::spawn(async move {
                        for i in 0..N {
                            tx.send(p << 32 | i).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let (rx, received, sum) = (rx.clone(), received.clone(), sum.clone());
                    moirai::spawn(async move {
                        let mut last = [None::<u64>; 4];
                        while let Some(v) = rx.recv().await {
                            let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
                            assert!(last[p].is_none_or(|l| l < i), "per-producer order");
                            last[p] = Some(i);
                            received.fetch_add(1, Ordering::SeqCst);
                            sum.fetch_add(i, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            drop(rx);
            for h in producers.into_iter().chain(consumers) {
                h.await.unwrap();
            }
        }
    }))
    .unwrap();
    assert_eq!(received.load(Ordering::SeqCst), 4 * N);
    assert_eq!(sum.load(Ordering::SeqCst), 4 * N * (N - 1) / 2);
}

#[moirai::test(worker_threads = 2)]
async fn batch_channel_streams_every_message_once_in_per_sender_order() {
    let (tx, rx) = batch::channel::<u64>(64);
    let senders: Vec<_> = (0..3u64)
        .map(|s| {
            let mut tx = tx.clone();
            moirai::spawn(async move {
                for i in 0..N {
                    tx.send(s << 32 | i).await.unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut last = [None::<u64>; 3];
    let mut count = 0;
    let mut rx = rx;
    while let Some(batch) = rx.recv_batch().await {
        for v in batch {
            let (s, i) = ((v >> 32) as usize, v & 0xffff_ffff);
            assert!(last[s].is_none_or(|l| l < i), "per-sender order");
            last[s] = Some(i);
            count += 1;
        }
    }
    for h in senders {
        h.await.unwrap();
    }
    assert_eq!(count, 3 * N);
}

#[moirai::test(worker_threads = 2)]
async fn batch_sink_flushes_and_closes() {
    let (mut tx, rx) = batch::channel::<u64>(16);
    let consumer = moirai::spawn(async move { rx.collect::<Vec<_>>().await });
    tx.send_all(&mut stream::iter(0..1000).map(Ok))
        .await
        .unwrap();
    SinkExt::close(&mut tx).await.unwrap();
    drop(tx);
    assert_eq!(consumer.await.unwrap(), (0..1000).collect::<Vec<_>>());
}
