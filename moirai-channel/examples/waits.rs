//! Prints the wait counters of the benchmark workloads (diagnostics for tuning).
use moirai_channel::zero_copy::channel;
use std::time::Instant;

fn main() {
    let workers: usize = std::env::args().nth(1).map_or(2, |a| a.parse().unwrap());
    {
        let (tx, rx) = channel::<u64>(1024);
        let t = Instant::now();
        for i in 0..1_000_000u64 {
            tx.try_send(i).unwrap();
            rx.try_recv().unwrap();
        }
        println!(
            "try_send+try_recv single thread: {:?} per pair",
            t.elapsed() / 1_000_000
        );
        let (ktx, krx) = kanal::bounded::<u64>(1024);
        let t = Instant::now();
        for i in 0..1_000_000u64 {
            ktx.try_send(i).unwrap();
            krx.try_recv().unwrap();
        }
        println!(
            "kanal try_send+try_recv: {:?} per pair",
            t.elapsed() / 1_000_000
        );
        let t = Instant::now();
        futures::executor::block_on(async {
            for i in 0..1_000_000u64 {
                tx.send(i).await.unwrap();
                rx.recv().await.unwrap();
            }
        });
        println!(
            "send+recv single thread: {:?} per pair",
            t.elapsed() / 1_000_000
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap();
    for producers in [1u64, 4] {
        let per = 1_000_000 / producers;
        let t = Instant::now();
        let stats = rt.block_on(async move {
            let (tx, rx) = channel::<u64>(1024);
            let c = tokio::spawn(async move {
                let mut n = 0u64;
                while rx.recv().await.is_some() {
                    n += 1;
                }
                (n, rx.stats())
            });
            for _ in 0..producers {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..per {
                        tx.send(i).await.unwrap();
                    }
                });
            }
            drop(tx);
            c.await.unwrap()
        });
        println!("producers={producers} {:?} in {:?}", stats, t.elapsed());
    }
}
