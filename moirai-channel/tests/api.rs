//! Single-threaded behaviour of the zero-copy channel API.
#![cfg(not(loom))]

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use common::{counting_waker, park, wakes, Tracked};
use futures::executor::block_on;
use futures::task::noop_waker;
use futures::{Sink, SinkExt};
use moirai_channel::zero_copy::{
    channel, with_recycle, Closed, SendError, Stats, TryRecvError, TrySendError, WithCapacity,
};

#[test]
fn capacity_rounds_up_to_power_of_two() {
    for (asked, got) in [(1, 1), (2, 2), (3, 4), (5, 8), (1000, 1024), (1024, 1024)] {
        let (tx, rx) = channel::<u8>(asked);
        assert_eq!((tx.capacity(), rx.capacity()), (got, got));
    }
}

#[test]
#[should_panic(expected = "channel capacity must be at least 1")]
fn zero_capacity_panics() {
    let _ = channel::<u8>(0);
}

#[test]
fn try_send_try_recv_fifo_full_empty() {
    let (tx, rx) = channel::<u32>(3);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    for i in 0..4 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(tx.len(), 4);
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    for i in 0..4 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert!(rx.is_empty());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn senders_dropped_receiver_drains_then_ends() {
    let (tx, rx) = channel::<u32>(4);
    let tx2 = tx.clone();
    block_on(tx.send(1)).unwrap();
    block_on(tx2.send(2)).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(block_on(rx.recv()), None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn receivers_dropped_sends_fail_with_value() {
    let (tx, rx) = channel::<String>(4);
    let rx2 = rx.clone();
    drop(rx);
    tx.try_send("a".into()).unwrap();
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(
        block_on(tx.send("b".into())),
        Err(SendError("b".to_string()))
    );
    match tx.try_send("c".into()) {
        Err(TrySendError::Closed(v)) => assert_eq!(v, "c"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(block_on(tx.send_ref()), Err(Closed)));
}

#[test]
fn explicit_close_from_either_side() {
    let (tx, rx) = channel::<u8>(2);
    tx.try_send(1).unwrap();
    assert!(rx.close());
    assert!(!tx.close());
    assert!(tx.try_send(2).unwrap_err().is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn send_ref_recv_ref_recycle_allocations() {
    let (tx, rx) = with_recycle::<Vec<u8>, _>(2, WithCapacity::new());
    let mut seen = Vec::new();
    for round in 0..6u8 {
        block_on(async {
            let mut slot = tx.send_ref().await.unwrap();
            assert!(slot.is_empty(), "slots are recycled clean");
            slot.extend(std::iter::repeat_n(round, 100));
            drop(slot);
            let msg = rx.recv_ref().await.unwrap();
            assert_eq!(msg.len(), 100);
            assert!(msg.iter().all(|&b| b == round));
            seen.push(msg.as_ptr() as usize);
        });
    }
    // Two slots, six rounds: after the first lap every message reuses a slot's allocation.
    assert_eq!(seen[0], seen[2]);
    assert_eq!(seen[1], seen[3]);
    assert_eq!(seen[2], seen[4]);
}

#[test]
fn default_recycle_clears_slots_between_uses() {
    let (tx, rx) = channel::<String>(1);
    tx.try_send_ref().unwrap().push_str("first");
    assert_eq!(&*rx.try_recv_ref().unwrap(), "first");
    let slot = tx.try_send_ref().unwrap();
    assert_eq!(&*slot, "");
}

#[test]
fn held_send_ref_delays_receivers_but_not_senders() {
    let (tx, rx) = channel::<u32>(4);
    let mut first = tx.try_send_ref().unwrap();
    *first = 1;
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(first);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn held_recv_ref_keeps_its_slot_from_senders() {
    let (tx, rx) = channel::<u32>(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    let held = rx.try_recv_ref().unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    // Slot 1 is free, but the ring is ordered: the next position needs slot 0, still held.
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    assert_eq!(*held, 1);
    drop(held);
    tx.try_send(3).unwrap();
    tx.try_send(4).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn cancelled_recv_loses_nothing_and_passes_its_wakeup_on() {
    let (tx, rx) = channel::<u32>(2);
    let rx2 = rx.clone();
    let (ca, wa) = counting_waker();
    let (cb, wb) = counting_waker();
    let mut a = Box::pin(rx.recv());
    let mut b = Box::pin(rx2.recv());
    let base_a = park(a.as_mut(), &ca, &wa);
    let base_b = park(b.as_mut(), &cb, &wb);
    tx.try_send(7).unwrap();
    let (woke_a, woke_b) = (wakes(&ca) - base_a, wakes(&cb) - base_b);
    assert_eq!(woke_a + woke_b, 1, "exactly one receiver is woken");
    let woken_first = woke_a == 1;
    // Cancel the woken receiver: its notification must move to the other one.
    let (survivor, counter, waker, base) = if woken_first {
        drop(a);
        (b, &cb, &wb, base_b)
    } else {
        drop(b);
        (a, &ca, &wa, base_a)
    };
    assert_eq!(
        wakes(counter) - base,
        1,
        "notification passed on to the remaining receiver"
    );
    let mut survivor = survivor;
    assert_eq!(
        survivor.as_mut().poll(&mut Context::from_waker(waker)),
        Poll::Ready(Some(7))
    );
    assert_eq!(rx.stats().empty_waits, 2);
}

#[test]
fn cancelled_send_drops_its_value_and_sends_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Tracked>(1);
    tx.try_send(Tracked::new(1, &drops)).unwrap();
    {
        let fut = pin!(tx.send(Tracked::new(2, &drops)));
        let (c, w) = counting_waker();
        park(fut, &c, &w);
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the cancelled value was dropped"
    );
    assert_eq!(rx.try_recv().unwrap().id, 1);
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    assert_eq!(tx.stats().full_waits, 1);
}

#[test]
fn blocked_sender_is_woken_by_receiver() {
    let (tx, rx) = channel::<u32>(1);
    tx.try_send(1).unwrap();
    let (c, w) = counting_waker();
    let mut fut = Box::pin(tx.send(2));
    let base = park(fut.as_mut(), &c, &w);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(wakes(&c) - base, 1);
    assert_eq!(
        fut.as_mut().poll(&mut Context::from_waker(&w)),
        Poll::Ready(Ok(()))
    );
    assert_eq!(rx.try_recv(), Ok(2));
}

/// A sender that found the ring full waits for a gap (a quarter of the ring) only while it spins
/// and yields; after that it takes any free slot. With a single slot freed and nothing else
/// happening, the send must still complete within its bounded patient phase.
#[test]
fn blocked_sender_takes_a_single_free_slot_after_its_patient_phase() {
    let (tx, rx) = channel::<u32>(8);
    for v in 0..8 {
        tx.try_send(v).unwrap();
    }
    let (_c, w) = counting_waker();
    let mut cx = Context::from_waker(&w);
    let mut fut = Box::pin(tx.send(8));
    assert!(fut.as_mut().poll(&mut cx).is_pending()); // full: into the patient phase
    assert_eq!(rx.try_recv(), Ok(0)); // one slot free, less than the gap of two
    let completed_after = (1..=20).find(|_| fut.as_mut().poll(&mut cx).is_ready());
    assert!(
        completed_after.is_some(),
        "a sender stayed blocked with a free slot"
    );
    drop(fut);
    let got: Vec<u32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn close_wakes_all_waiters() {
    let (tx, rx) = channel::<u32>(1);
    let rx2 = rx.clone();
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let mut a = Box::pin(rx.recv());
    let mut b = Box::pin(rx2.recv());
    let base1 = park(a.as_mut(), &c1, &w1);
    let base2 = park(b.as_mut(), &c2, &w2);
    drop(tx);
    assert_eq!((wakes(&c1) - base1, wakes(&c2) - base2), (1, 1));
    assert_eq!(
        a.as_mut().poll(&mut Context::from_waker(&w1)),
        Poll::Ready(None)
    );
    assert_eq!(
        b.as_mut().poll(&mut Context::from_waker(&w2)),
        Poll::Ready(None)
    );
}

#[test]
fn sink_poll_ready_reserves_a_slot() {
    let (mut tx, rx) = channel::<u32>(1);
    let other = tx.clone();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(Pin::new(&mut tx).poll_ready(&mut cx), Poll::Ready(Ok(())));
    // The reservation holds the only slot.
    assert!(matches!(other.try_send(5), Err(TrySendError::Full(5))));
    Pin::new(&mut tx).start_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn unused_sink_reservation_is_skipped_by_receivers() {
    let (tx, rx) = channel::<u32>(2);
    let mut reserving = tx.clone();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut reserving).poll_ready(&mut cx).is_ready());
    tx.try_send(5).unwrap();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(reserving);
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(6).unwrap();
    tx.try_send(7).unwrap();
    assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(6), Ok(7)));
}

#[test]
fn sink_close_closes_the_channel() {
    let (mut tx, rx) = channel::<u32>(2);
    block_on(async {
        tx.send(1).await.unwrap();
        SinkExt::close(&mut tx).await.unwrap();
    });
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn stats_count_messages_and_waits() {
    let (tx, rx) = channel::<u32>(2);
    for i in 0..5 {
        tx.try_send(i).unwrap();
        rx.try_recv().unwrap();
    }
    assert_eq!(
        tx.stats(),
        Stats {
            sent: 5,
            received: 5,
            full_waits: 0,
            empty_waits: 0
        }
    );
}

#[test]
fn recv_by_value_leaves_new_element() {
    let (tx, rx) = with_recycle::<Vec<u8>, _>(1, WithCapacity::new().with_min(16));
    tx.try_send(vec![1, 2, 3]).unwrap();
    assert_eq!(rx.try_recv().unwrap(), vec![1, 2, 3]);
    let slot = tx.try_send_ref().unwrap();
    assert!(slot.is_empty() && slot.capacity() >= 16);
}

use std::pin::Pin;
