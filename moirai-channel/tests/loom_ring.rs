//! Loom models of the lock-free ring (through the public try_* API).
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p moirai-channel --release --tests loom`.
#![cfg(loom)]

use loom::thread;
use moirai_channel::zero_copy::{channel, TryRecvError, TrySendError};

fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b
}

/// Two senders race for the slots of a capacity-2 ring while a receiver drains it.
#[test]
fn loom_ring_two_senders_one_receiver() {
    builder().check(|| {
        let (tx, rx) = channel::<u32>(2);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.try_send(1).unwrap());
        let b = thread::spawn(move || tx2.try_send(2).unwrap());
        let mut got = Vec::new();
        while got.len() < 2 {
            match rx.try_recv() {
                Ok(v) => got.push(v),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Closed) => panic!("closed before drained"),
            }
        }
        a.join().unwrap();
        b.join().unwrap();
        got.sort();
        assert_eq!(got, [1, 2]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

/// Wrap-around on a capacity-1 ring: the sender reuses the slot the receiver releases, and
/// in-place writes/reads never overlap (loom checks the cell accesses).
#[test]
fn loom_ring_wraparound_in_place() {
    builder().check(|| {
        let (tx, rx) = channel::<u32>(1);
        let t = thread::spawn(move || {
            for i in 1..=2 {
                loop {
                    match tx.try_send_ref() {
                        Ok(mut slot) => {
                            *slot = i;
                            break;
                        }
                        Err(TrySendError::Full(())) => thread::yield_now(),
                        Err(TrySendError::Closed(())) => panic!("closed"),
                    }
                }
            }
        });
        let mut expected = 1;
        while expected <= 2 {
            match rx.try_recv_ref() {
                Ok(v) => {
                    assert_eq!(*v, expected);
                    expected += 1;
                }
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Closed) => panic!("closed before drained"),
            }
        }
        t.join().unwrap();
    });
}

/// Two receivers race for one message; exactly one gets it, and closing is seen after drain.
#[test]
fn loom_ring_two_receivers_close() {
    builder().check(|| {
        let (tx, rx) = channel::<u32>(2);
        let rx2 = rx.clone();
        tx.try_send(7).unwrap();
        let t = thread::spawn(move || rx2.try_recv());
        let closer = thread::spawn(move || drop(tx));
        let mine = rx.try_recv();
        let theirs = t.join().unwrap();
        closer.join().unwrap();
        let got: Vec<_> = [mine, theirs].into_iter().filter_map(Result::ok).collect();
        match got.len() {
            1 => assert_eq!(got[0], 7),
            0 => assert_eq!(rx.try_recv(), Ok(7)),
            _ => panic!("delivered twice"),
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}
