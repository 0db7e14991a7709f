//! Drop counters: every message is delivered or dropped exactly once, also under concurrency.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::Tracked;
use futures::executor::block_on;
use moirai_channel::zero_copy::channel;

const PER_PRODUCER: u64 = if cfg!(miri) { 30 } else { 2_000 };

#[test]
fn messages_left_in_the_ring_are_dropped_once_with_the_channel() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Tracked>(8);
    for i in 0..6 {
        tx.try_send(Tracked::new(i, &drops)).unwrap();
    }
    drop(rx.try_recv().unwrap());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(rx);
    // Receivers gone: the value comes back (and is dropped here, once).
    drop(
        tx.try_send(Tracked::new(99, &drops))
            .unwrap_err()
            .into_inner(),
    );
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 7);
}

#[test]
fn send_ref_and_recv_ref_drop_nothing_twice() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Tracked>(2);
    for i in 0..5 {
        *tx.try_send_ref().unwrap() = Tracked::new(i, &drops); // drops the husk (uncounted)
        let msg = rx.try_recv_ref().unwrap();
        assert_eq!(msg.id, i);
        drop(msg); // recycled: the message is dropped here
        assert_eq!(drops.load(Ordering::SeqCst), i as usize + 1);
    }
    *tx.try_send_ref().unwrap() = Tracked::new(5, &drops);
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 6);
}

#[test]
fn concurrent_producers_and_consumers_deliver_each_message_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Tracked>(4);
    let producers: Vec<_> = (0..3u64)
        .map(|p| {
            let tx = tx.clone();
            let drops = drops.clone();
            std::thread::spawn(move || {
                block_on(async {
                    for i in 0..PER_PRODUCER {
                        tx.send(Tracked::new(p * 1_000_000 + i, &drops))
                            .await
                            .unwrap();
                    }
                })
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || {
                block_on(async {
                    let mut got = Vec::new();
                    while let Some(m) = rx.recv().await {
                        got.push(m.id);
                    }
                    got
                })
            })
        })
        .collect();
    drop(rx);
    producers.into_iter().for_each(|h| h.join().unwrap());
    let mut all: Vec<u64> = consumers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(all.len() as u64, 3 * PER_PRODUCER);
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len() as u64, 3 * PER_PRODUCER, "no duplicates");
    assert_eq!(drops.load(Ordering::SeqCst) as u64, 3 * PER_PRODUCER);
}

#[test]
fn receivers_dropping_mid_stream_lose_nothing_unaccounted() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Tracked>(4);
    let producer = {
        let drops = drops.clone();
        std::thread::spawn(move || {
            block_on(async {
                let mut sent = 0u64;
                for i in 0..PER_PRODUCER {
                    match tx.send(Tracked::new(i, &drops)).await {
                        Ok(()) => sent += 1,
                        Err(e) => {
                            drop(e.0);
                            break;
                        }
                    }
                }
                sent
            })
        })
    };
    let mut received = 0;
    block_on(async {
        while received < PER_PRODUCER / 2 {
            rx.recv().await.unwrap();
            received += 1;
        }
    });
    drop(rx);
    let sent = producer.join().unwrap();
    assert!(sent >= received);
    // Everything created was dropped once: received, returned in the error, or left in the ring.
    let created = (sent + 1).min(PER_PRODUCER);
    assert_eq!(drops.load(Ordering::SeqCst) as u64, created);
}
