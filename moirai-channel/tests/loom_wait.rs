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

/// A receiver whose wait is cancelled after it registered (and maybe got notified) must not
/// swallow the wake-up meant for the other receiver. The channel stays open throughout, so
/// closing cannot rescue a lost wake-up.
#[test]
fn loom_wait_cancelled_receiver_passes_wakeup_on() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    builder().check(|| {
        let (tx, rx) = channel::<u32>(2);
        let tx2 = tx.clone();
        let rx2 = rx.clone();
        let other = thread::spawn(move || block_on(rx2.recv()));
        let sender = thread::spawn(move || tx2.try_send(5).unwrap());
        let got_here = {
            let mut fut = Box::pin(rx.recv());
            let mut cx = Context::from_waker(Waker::noop());
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(v) => v,
                Poll::Pending => None, // cancelled: dropped while waiting
            }
        };
        sender.join().unwrap();
        if got_here.is_some() {
            tx.try_send(6).unwrap();
        }
        let got_there = other.join().unwrap();
        match got_here {
            Some(5) => assert_eq!(got_there, Some(6)),
            None => assert_eq!(got_there, Some(5)),
            other => panic!("unexpected {other:?}"),
        }
        drop(tx);
    });
}

/// The `poll`-based paths (`Sink::poll_ready` reserving, `Stream::poll_next`) park and wake
/// through the same protocol: capacity 1, two messages, both sides must park.
#[test]
fn loom_wait_sink_and_stream() {
    use futures::{SinkExt, StreamExt};

    builder().check(|| {
        let (mut tx, mut rx) = channel::<u32>(1);
        let t = thread::spawn(move || {
            block_on(async {
                SinkExt::send(&mut tx, 1).await.unwrap();
                SinkExt::send(&mut tx, 2).await.unwrap();
            })
        });
        block_on(async {
            assert_eq!(rx.next().await, Some(1));
            assert_eq!(rx.next().await, Some(2));
            assert_eq!(rx.next().await, None);
        });
        t.join().unwrap();
    });
}
