//! `Stream`/`Sink` behaviour with `futures::StreamExt`/`SinkExt`, on `futures::executor` and on
//! a tokio multi-thread runtime.
#![cfg(not(loom))]

use futures::executor::block_on;
use futures::stream::{self, FusedStream};
use futures::{SinkExt, StreamExt};
use moirai_channel::zero_copy::channel;

const N: u64 = if cfg!(miri) { 50 } else { 10_000 };

async fn forward_roundtrip() {
    let (tx, rx) = channel::<u64>(8);
    let producer = async move {
        stream::iter(0..N).map(Ok).forward(tx).await.unwrap();
    };
    let consumer = async move { rx.collect::<Vec<_>>().await };
    let ((), got) = futures::join!(producer, consumer);
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}

async fn send_all_and_pipe() {
    // tx1 -> rx1 -> forward -> tx2 -> rx2, all through Sink/Stream.
    let (mut tx1, rx1) = channel::<u64>(4);
    let (tx2, mut rx2) = channel::<u64>(4);
    let source = async move {
        tx1.send_all(&mut stream::iter(1..=N).map(Ok))
            .await
            .unwrap();
        // send_all does not close; dropping the sender ends rx1.
    };
    let pipe = async move { rx1.map(|v| Ok(v * 2)).forward(tx2).await.unwrap() };
    let sink = async move {
        let mut sum = 0;
        while let Some(v) = rx2.next().await {
            sum += v;
        }
        assert!(rx2.is_terminated());
        assert_eq!(rx2.next().await, None);
        sum
    };
    let ((), (), sum) = futures::join!(source, pipe, sink);
    assert_eq!(sum, N * (N + 1));
}

#[test]
fn forward_on_futures_executor() {
    block_on(forward_roundtrip());
}

#[test]
fn send_all_on_futures_executor() {
    block_on(send_all_and_pipe());
}

#[cfg(not(miri))]
mod on_tokio {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forward_on_tokio() {
        forward_roundtrip().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn send_all_on_tokio() {
        send_all_and_pipe().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawned_stream_and_sink_tasks() {
        let (tx, rx) = channel::<u64>(2);
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let mut tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..N / 4 {
                        tx.feed(p * N + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let consumer =
            tokio::spawn(async move { rx.fold(0u64, |n, _| async move { n + 1 }).await });
        for p in producers {
            p.await.unwrap();
        }
        assert_eq!(consumer.await.unwrap(), N);
    }
}
