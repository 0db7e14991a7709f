//! Loom models of the publish/pickup and wake protocols.
//!
//! Run with `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p moirai-channel
//! --release --lib batch::`. A lost wake-up shows up as a loom deadlock, a stranded message as
//! a `recv` that never completes (also a deadlock), and a double drop as a failed count.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering};

use loom::future::block_on;
use loom::thread;

use super::sync::Arc;
use super::{Builder, TrySendError};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// A message that counts its drops.
struct Counted(Arc<loom::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn lone_message_is_never_stranded() {
    model(|| {
        // Threshold 4: the message is held unless the receiver waits or picks it up.
        let (mut tx, mut rx) = Builder::new(8).min_batch(4).max_batch(4).build::<u32>();
        let sender = thread::spawn(move || {
            block_on(tx.send(7)).unwrap();
            tx // kept alive: no drop-publish
        });
        assert_eq!(block_on(rx.recv()), Some(7));
        drop(sender.join().unwrap());
        assert_eq!(block_on(rx.recv()), None);
    });
}

#[test]
fn two_senders_per_sender_order_and_close() {
    model(|| {
        let (tx, mut rx) = Builder::new(8)
            .min_batch(2)
            .max_batch(2)
            .build::<(u8, u8)>();
        let mut a = tx.clone();
        let mut b = tx;
        let ta = thread::spawn(move || {
            block_on(a.send((0, 0))).unwrap();
            block_on(a.send((0, 1))).unwrap();
        });
        let tb = thread::spawn(move || {
            block_on(b.send((1, 0))).unwrap();
        });
        let mut next = [0u8; 2];
        while let Some((s, i)) = block_on(rx.recv()) {
            assert_eq!(i, next[s as usize]);
            next[s as usize] += 1;
        }
        assert_eq!(next, [2, 1]);
        ta.join().unwrap();
        tb.join().unwrap();
    });
}

#[test]
fn backpressure_wakes_the_blocked_sender() {
    model(|| {
        let (mut tx, mut rx) = Builder::new(1).min_batch(1).max_batch(1).build::<u8>();
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        assert_eq!(block_on(rx.recv()), None);
        sender.join().unwrap();
    });
}

#[test]
fn receiver_drop_racing_sends_drops_each_message_once() {
    model(|| {
        let drops = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let (mut tx, rx) = Builder::new(1).min_batch(2).max_batch(2).build::<Counted>();
        let d = Arc::clone(&drops);
        let sender = thread::spawn(move || {
            for _ in 0..2 {
                match tx.try_send(Counted(Arc::clone(&d))) {
                    Ok(()) => {}
                    Err(TrySendError::Full(m) | TrySendError::Closed(m)) => drop(m),
                }
            }
        });
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

#[test]
fn aged_pickup_keeps_per_sender_order() {
    // Under loom the clock stands still, so with max_delay zero every partial batch is "old"
    // and every pop of a queued batch also moves held partial batches to the queue.
    model(|| {
        let (tx, mut rx) = Builder::new(8)
            .min_batch(2)
            .max_batch(2)
            .max_delay(std::time::Duration::ZERO)
            .build::<(u8, u8)>();
        let mut a = tx.clone();
        let mut b = tx;
        let ta = thread::spawn(move || {
            for i in 0..3 {
                block_on(a.send((0, i))).unwrap();
            }
            a
        });
        block_on(b.send((1, 0))).unwrap();
        // Both senders stay alive: every message must arrive through publishing or pickup.
        let mut next = [0u8; 2];
        for _ in 0..4 {
            let (s, i) = block_on(rx.recv()).unwrap();
            assert_eq!(i, next[s as usize]);
            next[s as usize] += 1;
        }
        let a = ta.join().unwrap();
        assert_eq!(rx.stats().items_published, 4);
        drop((a, b));
        assert_eq!(block_on(rx.recv()), None);
    });
}

#[test]
fn pickup_races_a_sender_mid_push() {
    // The receiver picks up while a sender pushes its second message: both must arrive, once,
    // in order, whichever side wins the slot.
    model(|| {
        static SEEN: StdAtomicUsize = StdAtomicUsize::new(0);
        SEEN.store(0, Ordering::Relaxed);
        let (mut tx, mut rx) = Builder::new(8).min_batch(3).max_batch(3).build::<u8>();
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
            tx
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        SEEN.fetch_add(2, Ordering::Relaxed);
        drop(sender.join().unwrap());
        assert_eq!(block_on(rx.recv()), None);
        assert_eq!(SEEN.load(Ordering::Relaxed), 2);
    });
}

/// The owner/remote lock on its own: an owner that locks twice and a remote that locks once
/// (twice, the second time sharing a barrier with a request it then cancels) never hold the value
/// at once — loom's `UnsafeCell` reports any overlapping access — and no update is lost.
#[test]
fn owner_lock_excludes_owner_and_remote() {
    use super::sync::OwnerLock;
    model(|| {
        let lock = Arc::new(OwnerLock::new(0u32));
        let other = Arc::new(OwnerLock::new(0u32));
        let remote = {
            let (lock, other) = (Arc::clone(&lock), Arc::clone(&other));
            thread::spawn(move || {
                lock.with_remote(|v| *v += 10);
                lock.request();
                other.request();
                crate::barrier::heavy();
                // SAFETY: requested just above, then the barrier; this is the only remote.
                unsafe { lock.with_requested(|v| *v += 10) };
                other.cancel_request();
            })
        };
        lock.with_owner(|v| *v += 1);
        lock.with_owner(|v| *v += 1);
        other.with_owner(|v| *v += 1);
        remote.join().unwrap();
        assert_eq!(lock.with_owner(|v| *v), 22);
        assert_eq!(other.with_owner(|v| *v), 1);
    });
}
