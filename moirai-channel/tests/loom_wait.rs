//! Loom models of the wait/notify protocol: senders and receivers that park must be woken
//! (no lost wake-up), with the "notify only when someone waits" counter in place.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p moirai-channel --release --tests loom`.
#![cfg(loom)]

use loom::future::block_on;
use loom::thread;
use moirai_channel::zero_copy::channel;

fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b
}

/// Capacity 1, two messages: the sender must park for room and the receiver for messages.
#[test]
fn loom_wait_sender_and_receiver_park() {
    builder().check(|| {
        let (tx, rx) = channel::<u32>(1);
        let t = thread::spawn(move || {
            block_on(async {
                tx.send(1).await.unwrap();
                tx.send(2).await.unwrap();
            })
        });
        block_on(async {
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(rx.recv().await, None);
        });
        t.join().unwrap();
    });
}

/// A parked receiver is woken by the last sender dropping.
#[test]
fn loom_wait_close_wakes_receiver() {
    builder().check(|| {
        let (tx, rx) = channel::<u32>(1);
        let t = thread::spawn(move || drop(tx));
        block_on(async { assert_eq!(rx.recv().await, None) });
        t.join().unwrap();
    });
}

/// Two parked receivers, two messages from another thread: both receivers get one.
#[test]
fn loom_wait_two_receivers() {
    builder().check(|| {
        let (tx, rx) = channel::<u32>(2);
        let rx2 = rx.clone();
        let t = thread::spawn(move || block_on(rx2.recv()));
        let s = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
        });
        let mine = block_on(rx.recv()).unwrap();
        let theirs = t.join().unwrap().unwrap();
        s.join().unwrap();
        assert_eq!(mine + theirs, 3);
    });
}

/// A parked sender is woken when the receiver drops (and gets its value back).
#[test]
fn loom_wait_receiver_drop_wakes_sender() {
    builder().check(|| {
        let (tx, rx) = channel::<u32>(1);
        tx.try_send(1).unwrap();
        let t = thread::spawn(move || drop(rx));
        let err = block_on(tx.send(2)).unwrap_err();
        assert_eq!(err.0, 2);
        t.join().unwrap();
    });
}
