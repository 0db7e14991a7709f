//! Property test: random sequences of channel operations against a `VecDeque` model.
#![cfg(not(loom))]

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::Tracked;
use moirai_channel::zero_copy::{channel, Receiver, Sender, TryRecvError, TrySendError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    TrySend,
    TrySendRef,
    TryRecv,
    TryRecvRef,
    Send,
    Recv,
    CloneSender,
    DropSender(usize),
    CloneReceiver,
    DropReceiver(usize),
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::TrySend),
        2 => Just(Op::TrySendRef),
        4 => Just(Op::TryRecv),
        2 => Just(Op::TryRecvRef),
        2 => Just(Op::Send),
        2 => Just(Op::Recv),
        1 => Just(Op::CloneSender),
        1 => (0..3usize).prop_map(Op::DropSender),
        1 => Just(Op::CloneReceiver),
        1 => (0..3usize).prop_map(Op::DropReceiver),
        1 => Just(Op::Close),
    ]
}

/// Polls a future once: the model says whether it must complete right away.
fn now<F: std::future::Future>(f: F) -> Option<F::Output> {
    futures::FutureExt::now_or_never(f)
}

fn run(capacity: usize, ops: Vec<Op>) {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Tracked>(capacity);
    let cap = tx.capacity();
    let mut senders: Vec<Sender<Tracked>> = vec![tx];
    let mut receivers: Vec<Receiver<Tracked>> = vec![rx];
    let mut model: VecDeque<u64> = VecDeque::new();
    let mut closed = false;
    let mut next_id = 0u64;
    let mut created = 0usize;

    for op in ops {
        let full = model.len() == cap;
        match op {
            Op::TrySend | Op::Send | Op::TrySendRef if !senders.is_empty() => {
                let id = next_id;
                next_id += 1;
                created += 1;
                let msg = Tracked::new(id, &drops);
                let tx = &senders[0];
                match op {
                    Op::TrySend => match tx.try_send(msg) {
                        Ok(()) => {
                            assert!(!closed && !full);
                            model.push_back(id);
                        }
                        Err(TrySendError::Full(m)) => assert!(!closed && full && m.id == id),
                        Err(TrySendError::Closed(m)) => assert!(closed && m.id == id),
                    },
                    Op::Send => match now(tx.send(msg)) {
                        Some(Ok(())) => {
                            assert!(!closed && !full);
                            model.push_back(id);
                        }
                        Some(Err(e)) => assert!(closed && e.0.id == id),
                        None => assert!(!closed && full, "send pending only when full"),
                    },
                    _ => match tx.try_send_ref() {
                        Ok(mut slot) => {
                            assert!(!closed && !full);
                            assert!(slot.id == 0, "recycled slot is clean");
                            *slot = msg;
                            model.push_back(id);
                        }
                        Err(TrySendError::Full(())) => assert!(!closed && full),
                        Err(TrySendError::Closed(())) => assert!(closed),
                    },
                }
            }
            Op::TryRecv | Op::Recv | Op::TryRecvRef if !receivers.is_empty() => {
                let rx = &receivers[0];
                let got = match op {
                    Op::TryRecv => rx.try_recv().map(|m| m.id),
                    Op::TryRecvRef => rx.try_recv_ref().map(|m| m.id),
                    _ => match now(rx.recv()) {
                        Some(Some(m)) => Ok(m.id),
                        Some(None) => Err(TryRecvError::Closed),
                        None => Err(TryRecvError::Empty),
                    },
                };
                match model.pop_front() {
                    Some(id) => assert_eq!(got, Ok(id)),
                    None if closed => assert_eq!(got, Err(TryRecvError::Closed)),
                    None => assert_eq!(got, Err(TryRecvError::Empty)),
                }
            }
            Op::CloneSender if !senders.is_empty() => senders.push(senders[0].clone()),
            Op::CloneReceiver if !receivers.is_empty() => receivers.push(receivers[0].clone()),
            Op::DropSender(i) if i < senders.len() => {
                senders.remove(i);
                closed |= senders.is_empty();
            }
            Op::DropReceiver(i) if i < receivers.len() => {
                receivers.remove(i);
                closed |= receivers.is_empty();
            }
            Op::Close => {
                if let Some(tx) = senders.first() {
                    assert_eq!(tx.close(), !closed);
                    closed = true;
                } else if let Some(rx) = receivers.first() {
                    assert_eq!(rx.close(), !closed);
                    closed = true;
                }
            }
            _ => {}
        }
        if let Some(rx) = receivers.first() {
            assert_eq!(rx.len(), model.len());
            assert_eq!(rx.is_closed(), closed);
        }
        if senders.is_empty() && receivers.is_empty() {
            // The last handle is gone: the channel and what it held were dropped.
            model.clear();
        }
        let received_or_refused = drops.load(Ordering::SeqCst);
        assert_eq!(
            received_or_refused + model.len(),
            created,
            "nothing lost, nothing doubled"
        );
    }
    drop((senders, receivers));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        created,
        "ring contents dropped exactly once"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn channel_matches_vecdeque_model(capacity in 1usize..6, ops in prop::collection::vec(op(), 0..80)) {
        run(capacity, ops);
    }
}
