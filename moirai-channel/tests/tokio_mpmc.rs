//! The async API under contention on a tokio multi-thread runtime (and the same scenarios on
//! plain threads with `futures::executor`).
#![cfg(not(loom))]

use moirai_channel::zero_copy::{channel, with_recycle, WithCapacity};

const N: u64 = if cfg!(miri) { 40 } else { 20_000 };

async fn mpmc(capacity: usize, producers: u64, consumers: usize) {
    let (tx, rx) = channel::<u64>(capacity);
    let mut handles = Vec::new();
    for p in 0..producers {
        let tx = tx.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..N {
                tx.send(p << 32 | i).await.unwrap();
            }
        }));
    }
    drop(tx);
    let mut readers = Vec::new();
    for _ in 0..consumers {
        let rx = rx.clone();
        readers.push(tokio::spawn(async move {
            let mut last = [None::<u64>; 8];
            let mut count = 0u64;
            while let Some(v) = rx.recv().await {
                let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
                // Per-producer FIFO as seen by one consumer.
                assert!(last[p].is_none_or(|l| l < i));
                last[p] = Some(i);
                count += 1;
            }
            count
        }));
    }
    drop(rx);
    for h in handles {
        h.await.unwrap();
    }
    let mut total = 0;
    for r in readers {
        total += r.await.unwrap();
    }
    assert_eq!(total, producers * N);
}

#[cfg(not(miri))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spsc_tokio() {
    mpmc(16, 1, 1).await;
}

#[cfg(not(miri))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpsc_tokio_capacity_one() {
    mpmc(1, 4, 1).await;
}

#[cfg(not(miri))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpmc_tokio() {
    mpmc(8, 4, 3).await;
}

#[cfg(not(miri))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_copy_buffers_on_tokio() {
    let (tx, rx) = with_recycle::<Vec<u8>, _>(4, WithCapacity::new().with_max(4096));
    let producer = tokio::spawn(async move {
        for i in 0..N {
            let mut slot = tx.send_ref().await.unwrap();
            slot.resize(1 + (i % 1024) as usize, i as u8);
        }
    });
    let mut n = 0;
    while let Some(msg) = rx.recv_ref().await {
        assert_eq!(msg.len(), 1 + (n % 1024) as usize);
        assert!(msg.iter().all(|&b| b == n as u8));
        n += 1;
    }
    producer.await.unwrap();
    assert_eq!(n, N);
}

#[test]
fn mpmc_on_threads() {
    futures::executor::block_on(async {
        let (tx, rx) = channel::<u64>(2);
        let t = std::thread::spawn(move || {
            futures::executor::block_on(async {
                for i in 0..N {
                    tx.send(i).await.unwrap();
                }
            })
        });
        let mut expected = 0;
        while let Some(v) = rx.recv().await {
            assert_eq!(v, expected);
            expected += 1;
        }
        t.join().unwrap();
        assert_eq!(expected, N);
    });
}
