//! Behaviour of `moirai_channel::batch`: delivery, ordering, exactly-once drops, backpressure,
//! Stream/Sink, pickup of partial batches, settings validation.
//!
//! (Real threads and tokio: not built for the loom model, which lives in the library.)
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use futures::executor::block_on;
use futures::{SinkExt, StreamExt};
use moirai_channel::batch::{self, BuildError, Builder, TrySendError};

/// Scales loop sizes down under miri.
fn n(full: usize) -> usize {
    if cfg!(miri) {
        (full / 200).max(8)
    } else {
        full
    }
}

/// A message that records its own drop in a per-message counter.
struct Tracked {
    sender: usize,
    seq: usize,
    drops: Arc<Vec<AtomicUsize>>,
    index: usize,
}

impl Tracked {
    /// Message `seq` of `sender`, counted in slot `sender * per_sender + seq` of `drops`.
    fn new(sender: usize, seq: usize, per_sender: usize, drops: &Arc<Vec<AtomicUsize>>) -> Self {
        Tracked {
            sender,
            seq,
            drops: Arc::clone(drops),
            index: sender * per_sender + seq,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.index].fetch_add(1, Ordering::Relaxed);
    }
}

fn counters(total: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect())
}

fn assert_each_dropped_once(drops: &[AtomicUsize]) {
    for (i, d) in drops.iter().enumerate() {
        assert_eq!(
            d.load(Ordering::Relaxed),
            1,
            "message {i} dropped {} times",
            d.load(Ordering::Relaxed)
        );
    }
}

#[test]
fn lone_message_arrives_while_its_sender_stays_silent() {
    // A threshold far above one message: only the idle-receiver pickup can deliver it.
    let (mut tx, mut rx) = Builder::new(1024)
        .min_batch(64)
        .max_batch(64)
        .max_delay(Duration::from_secs(3600))
        .build();
    let receiver = thread::spawn(move || {
        let got = block_on(rx.recv());
        (got, rx)
    });
    block_on(tx.send(42u32)).unwrap();
    // `tx` stays alive, unflushed, until the receiver has the message.
    let (got, rx) = receiver.join().unwrap();
    assert_eq!(got, Some(42));
    let stats = rx.stats();
    assert_eq!(stats.items_published, 1);
    assert_eq!(stats.flushes_idle_receiver, 1);
    drop(tx);
}

#[test]
fn lone_message_same_thread() {
    let (mut tx, mut rx) = Builder::new(8).min_batch(8).build::<u8>();
    block_on(tx.send(1)).unwrap();
    assert_eq!(block_on(rx.recv()), Some(1));
    drop(tx);
    assert_eq!(block_on(rx.recv()), None);
}

#[test]
fn busy_receiver_picks_up_partial_batches_older_than_max_delay() {
    // max_delay zero: every partial batch is "old" at the receiver's next pop.
    let (mut fast, mut rx) = Builder::new(1024)
        .min_batch(4)
        .max_batch(4)
        .max_delay(Duration::ZERO)
        .build::<u32>();
    let mut slow = fast.clone();
    block_on(slow.send(1000)).unwrap(); // held: below the threshold, receiver not waiting
    for i in 0..4 {
        block_on(fast.send(i)).unwrap(); // published by size
    }
    let first = block_on(rx.recv_batch()).unwrap();
    assert_eq!(&*first, &[0, 1, 2, 3]);
    // The pop above moved the slow sender's partial batch behind the queue.
    assert_eq!(rx.stats().flushes_delay, 1);
    let second = block_on(rx.recv_batch()).unwrap();
    assert_eq!(&*second, &[1000]);
    drop((fast, slow));
    assert!(block_on(rx.recv_batch()).is_none());
}

/// Runs `senders` threads, each sending `per_sender` tracked messages through its own clone of
/// `tx` (yielding its thread after every `yield_every`-th message, if given) and dropping it,
/// usually mid-batch; receives everything with `recv_batch`, checking per-sender order; checks
/// that each message arrived and was dropped exactly once; returns the channel's stats.
fn send_all_tracked(
    (tx, mut rx): (batch::Sender<Tracked>, batch::Receiver<Tracked>),
    senders: usize,
    per_sender: usize,
    yield_every: Option<usize>,
) -> batch::Stats {
    let drops = counters(senders * per_sender);
    let handles: Vec<_> = (0..senders)
        .map(|s| {
            let mut tx = tx.clone();
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                block_on(async {
                    for seq in 0..per_sender {
                        let msg = Tracked::new(s, seq, per_sender, &drops);
                        tx.send(msg).await.unwrap();
                        if yield_every.is_some_and(|k| seq % k == 0) {
                            thread::yield_now();
                        }
                    }
                })
            })
        })
        .collect();
    drop(tx);
    let mut next = vec![0; senders];
    let mut received = 0;
    block_on(async {
        while let Some(batch) = rx.recv_batch().await {
            for msg in batch {
                assert_eq!(
                    msg.seq, next[msg.sender],
                    "sender {} out of order",
                    msg.sender
                );
                next[msg.sender] += 1;
                received += 1;
            }
        }
    });
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(received, senders * per_sender);
    assert_each_dropped_once(&drops);
    rx.stats()
}

#[test]
fn every_message_once_in_sender_order_with_backpressure() {
    let (senders, per_sender) = (4, n(20_000));
    let channel = Builder::new(64).min_batch(1).max_batch(32).build();
    let stats = send_all_tracked(channel, senders, per_sender, None);
    assert_eq!(stats.items_published as usize, senders * per_sender);
    assert!(stats.threshold >= 1 && stats.threshold <= 32);
}

/// The receiver keeps picking up partial batches (its side of the owner/remote slot lock, with
/// the process-wide barrier) while the senders keep pushing into them (the owner side, with no
/// fence): nothing may be lost, duplicated or reordered.
#[test]
fn pickups_racing_pushes_lose_nothing() {
    let channel = Builder::new(1 << 16)
        .min_batch(64)
        .max_batch(64)
        .max_delay(Duration::from_micros(1))
        .build();
    // Yielding leaves batches partial for a while: the receiver catches up and picks them up
    // from under their senders.
    let stats = send_all_tracked(channel, 3, n(30_000), Some(7));
    assert!(
        stats.flushes_idle_receiver + stats.flushes_delay > 0,
        "the receiver never picked up a partial batch: {stats:?}"
    );
}

#[test]
fn recv_one_at_a_time_keeps_order() {
    let per_sender = n(10_000);
    let (tx, mut rx) = batch::channel::<(usize, usize)>(128);
    let handles: Vec<_> = (0..3)
        .map(|s| {
            let mut tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per_sender {
                    block_on(tx.send((s, i))).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = [0; 3];
    while let Some((s, i)) = block_on(rx.recv()) {
        assert_eq!(i, next[s]);
        next[s] += 1;
    }
    assert_eq!(next, [per_sender; 3]);
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn senders_dropped_mid_batch_lose_nothing() {
    let drops = counters(7);
    let (tx, mut rx) = Builder::new(100).min_batch(50).build::<Tracked>();
    let mut a = tx.clone();
    let mut b = tx;
    for seq in 0..4 {
        block_on(a.send(Tracked::new(0, seq, 4, &drops))).unwrap();
    }
    for seq in 0..3 {
        block_on(b.send(Tracked::new(1, seq, 4, &drops))).unwrap();
    }
    drop(a);
    drop(b);
    let mut seen = Vec::new();
    while let Some(m) = block_on(rx.recv()) {
        seen.push((m.sender, m.seq));
    }
    assert_eq!(
        seen,
        [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2)]
    );
    assert_eq!(rx.stats().flushes_drop, 2);
    assert_each_dropped_once(&drops);
}

#[test]
fn receiver_dropped_midway_drops_everything_once() {
    let senders = 3;
    let per_sender = n(5_000);
    let drops = counters(senders * per_sender);
    let (tx, mut rx) = Builder::new(32).max_batch(16).build::<Tracked>();
    let handles: Vec<_> = (0..senders)
        .map(|s| {
            let mut tx = tx.clone();
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                let mut accepted = 0;
                for seq in 0..per_sender {
                    let msg = Tracked::new(s, seq, per_sender, &drops);
                    match block_on(tx.send(msg)) {
                        Ok(()) => accepted += 1,
                        Err(e) => drop(e.into_inner()),
                    }
                }
                accepted
            })
        })
        .collect();
    drop(tx);
    for _ in 0..n(1_000) {
        if block_on(rx.recv()).is_none() {
            break;
        }
    }
    drop(rx);
    for h in handles {
        h.join().unwrap();
    }
    assert_each_dropped_once(&drops);
}

#[test]
fn send_after_receiver_drop_returns_the_message() {
    let (mut tx, rx) = batch::channel::<String>(4);
    drop(rx);
    assert!(tx.is_closed());
    let err = block_on(tx.send("x".to_string())).unwrap_err();
    assert_eq!(err.into_inner(), "x");
    assert!(matches!(tx.try_send("y".into()), Err(TrySendError::Closed(s)) if s == "y"));
    assert!(block_on(tx.flush()).is_err());
}

#[test]
fn try_send_reports_full_and_recovers() {
    let (mut tx, mut rx) = Builder::new(2).min_batch(2).max_batch(2).build::<u32>();
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap(); // threshold reached: published, the queue is now full
    tx.try_send(3).unwrap();
    tx.try_send(4).unwrap(); // held: no room to publish
    assert!(matches!(tx.try_send(5), Err(TrySendError::Full(5))));
    assert_eq!(&*block_on(rx.recv_batch()).unwrap(), &[1, 2]);
    tx.try_send(5).unwrap(); // publishes [3, 4] first
    assert_eq!(&*block_on(rx.recv_batch()).unwrap(), &[3, 4]);
    block_on(tx.flush()).unwrap();
    assert_eq!(&*block_on(rx.recv_batch()).unwrap(), &[5]);
}

#[test]
fn recv_then_recv_batch_keeps_order_and_recycles() {
    let (mut tx, mut rx) = Builder::new(16).min_batch(4).max_batch(4).build::<u32>();
    for v in 0..8 {
        tx.try_send(v).unwrap(); // two batches of four, published by size
    }
    assert_eq!(block_on(rx.recv()), Some(0));
    assert_eq!(block_on(rx.recv()), Some(1));
    // The rest of the first batch comes first, as one batch, in order.
    assert_eq!(&*block_on(rx.recv_batch()).unwrap(), &[2, 3]);
    // Then `recv` again, through a whole batch and into the next one.
    for v in 4..8 {
        assert_eq!(block_on(rx.recv()), Some(v));
    }
    for v in 8..12 {
        tx.try_send(v).unwrap();
    }
    drop(tx);
    let rest: Vec<u32> = std::iter::from_fn(|| block_on(rx.recv())).collect();
    assert_eq!(rest, [8, 9, 10, 11]);
}

#[test]
fn blocked_send_resumes_when_receiver_drains() {
    let (mut tx, mut rx) = Builder::new(4).min_batch(4).max_batch(4).build::<usize>();
    let total = n(2_000);
    let producer = thread::spawn(move || {
        for i in 0..total {
            block_on(tx.send(i)).unwrap();
        }
    });
    let mut expected = 0;
    while let Some(v) = block_on(rx.recv()) {
        assert_eq!(v, expected);
        expected += 1;
    }
    assert_eq!(expected, total);
    producer.join().unwrap();
}

#[test]
fn explicit_flush_publishes_partial_batch() {
    let (mut tx, mut rx) = Builder::new(100).min_batch(100).build::<u8>();
    for i in 0..3 {
        block_on(tx.send(i)).unwrap();
    }
    block_on(tx.flush()).unwrap();
    block_on(tx.flush()).unwrap(); // nothing held: no batch
    let stats = rx.stats();
    assert_eq!((stats.flushes_explicit, stats.batches_published), (1, 1));
    assert_eq!(&*block_on(rx.recv_batch()).unwrap(), &[0, 1, 2]);
}

#[test]
fn batch_buffers_are_reused() {
    let (mut tx, mut rx) = Builder::new(64).min_batch(8).max_batch(8).build::<u64>();
    let mut round = |base: u64| {
        for i in 0..8 {
            block_on(tx.send(base + i)).unwrap();
        }
        let b = block_on(rx.recv_batch()).unwrap();
        assert_eq!(b.len(), 8);
        assert_eq!(b[0], base);
        b.as_ptr() as usize
    };
    let first = round(0);
    let _second = round(8);
    // The first buffer went to the free list, became the slot's next buffer, and came back.
    assert_eq!(round(16), first);
}

#[test]
fn batch_iterates_by_value_and_by_reference() {
    let (mut tx, mut rx) = Builder::new(16).min_batch(4).max_batch(4).build::<String>();
    for s in ["a", "b", "c", "d"] {
        block_on(tx.send(s.to_string())).unwrap();
    }
    let mut batch = block_on(rx.recv_batch()).unwrap();
    batch[0].push('!');
    assert_eq!(
        (&batch).into_iter().map(String::as_str).collect::<Vec<_>>(),
        ["a!", "b", "c", "d"]
    );
    let mut it = batch.into_iter();
    assert_eq!(it.len(), 4);
    assert_eq!(it.next().as_deref(), Some("a!"));
    drop(it); // drops the other three
    for s in ["e", "f", "g", "h"] {
        block_on(tx.send(s.to_string())).unwrap();
    }
    assert_eq!(
        block_on(rx.recv_batch()).unwrap().into_vec(),
        ["e", "f", "g", "h"]
    );
}

#[test]
fn recv_then_recv_batch_returns_the_rest() {
    let (mut tx, mut rx) = Builder::new(16).min_batch(4).max_batch(4).build::<u8>();
    for i in 0..4 {
        block_on(tx.send(i)).unwrap();
    }
    assert_eq!(block_on(rx.recv()), Some(0));
    assert_eq!(&*block_on(rx.recv_batch()).unwrap(), &[1, 2, 3]);
}

#[test]
fn stream_and_sink() {
    let (tx, rx) = Builder::new(64).min_batch(8).max_batch(8).build::<u32>();
    let total = n(1_000) as u32;
    let producer = thread::spawn(move || {
        block_on(async {
            let mut a = tx.clone();
            let mut b = tx;
            a.send_all(&mut futures::stream::iter(0..total).map(Ok))
                .await
                .unwrap(); // flushes; `a` is dropped at the end
            for i in 0..5 {
                b.feed(total + i).await.unwrap();
            }
            b.flush().await.unwrap(); // Sink::poll_flush
            b.close().await.unwrap();
            assert!(b.feed(0).await.is_err(), "a closed sink refuses messages");
        })
    });
    let mut got: Vec<u32> = block_on(rx.collect());
    producer.join().unwrap();
    got.sort_unstable();
    assert_eq!(got, (0..total + 5).collect::<Vec<_>>());
}

#[test]
fn sink_close_flushes_and_ends_the_stream() {
    let (mut tx, mut rx) = Builder::new(16).min_batch(16).build::<u8>();
    block_on(async {
        tx.feed(1).await.unwrap();
        tx.feed(2).await.unwrap();
        SinkExt::close(&mut tx).await.unwrap();
        assert_eq!(rx.next().await, Some(1));
        assert_eq!(rx.next().await, Some(2));
        assert_eq!(rx.next().await, None);
        assert_eq!(rx.stats().flushes_explicit, 1);
    });
}

#[test]
fn invalid_settings_are_rejected_at_the_call() {
    assert_eq!(
        Builder::new(0).try_build::<u8>().unwrap_err(),
        BuildError::ZeroCapacity
    );
    assert_eq!(
        Builder::new(4).max_batch(0).try_build::<u8>().unwrap_err(),
        BuildError::ZeroMaxBatch
    );
    assert_eq!(
        Builder::new(4).min_batch(0).try_build::<u8>().unwrap_err(),
        BuildError::ZeroMinBatch
    );
    assert_eq!(
        Builder::new(4)
            .min_batch(9)
            .max_batch(3)
            .try_build::<u8>()
            .unwrap_err(),
        BuildError::MinAboveMax { min: 9, max: 3 }
    );
    let panicked = std::panic::catch_unwind(|| batch::channel::<u8>(0));
    let msg = panicked.unwrap_err();
    assert!(msg
        .downcast_ref::<String>()
        .unwrap()
        .contains("capacity must be at least 1"));
    // Thresholds above the capacity are capped, not rejected.
    let (tx, rx) = Builder::new(4).min_batch(8).max_batch(16).build::<u8>();
    assert_eq!(rx.threshold(), 4);
    drop(tx);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "tokio's multi-thread runtime is slow under miri; the thread tests cover the same paths"
)]
fn works_on_a_multi_thread_tokio_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let per = n(50_000) as u64;
    let sum = rt.block_on(async move {
        let (tx, mut rx) = batch::channel::<u64>(1024);
        for _ in 0..4 {
            let mut tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    tx.send(i).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut sum = 0;
        while let Some(b) = rx.recv_batch().await {
            sum += b.iter().sum::<u64>();
        }
        sum
    });
    assert_eq!(sum, 4 * per * (per - 1) / 2);
}
