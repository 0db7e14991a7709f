//! The API tour of README.md, compiled (and runnable: `cargo run --example tour`).

#[moirai::main] // also (worker_threads = 8, topology = "2x4", affinity = "node")
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Tasks: JoinHandle is a Future of Result<T, JoinError>; dropping it detaches the task.
    let h = moirai::spawn(async { 6 * 7 });
    assert_eq!(h.await?, 42);

    // Placement: run on the workers of a node (a hint; idle nodes may still steal it).
    let node = moirai::NodeId::new(0);
    moirai::spawn_on(node, async { assert!(moirai::current_node().is_some()) }).await?;

    // Channels, timers, blocking work.
    let (tx, mut rx) = moirai::channel::batch::channel::<u64>(1024);
    let producer = moirai::spawn(async move {
        let mut tx = tx;
        for i in 0..1000 {
            tx.send(i).await.unwrap();
        }
    });
    let mut sum = 0;
    while let Some(batch) = rx.recv_batch().await {
        sum += batch.iter().sum::<u64>();
    }
    producer.await?;
    moirai::time::sleep(std::time::Duration::from_millis(1)).await;
    let n = moirai::spawn_blocking(|| std::fs::read_dir(".").map(|d| d.count())).await??;
    println!("{sum} {n}");
    Ok(())
}
