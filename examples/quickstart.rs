//! The main demo: prints the topology Moirai found, runs a spawn-heavy job (a skynet tree of
//! 1.1 million tasks plus a fan-out of CPU work), and prints the scheduler's metrics.
//!
//! ```text
//! cargo run --release --example quickstart
//! MOIRAI_TOPOLOGY=2x2 cargo run --release --example quickstart   # simulate two NUMA nodes
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// Sums the numbers `num..num + size` through a tree of tasks, `div` children per node.
fn skynet(num: u64, size: u64, div: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let child = size / div;
        let handles: Vec<_> = (0..div)
            .map(|i| moirai::spawn(skynet(num + i * child, child, div)))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("a skynet task failed");
        }
        sum
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = moirai::Runtime::new()?;
    println!("topology: {}", rt.topology());
    println!("workers:  {}", rt.handle().num_workers());

    let started = Instant::now();
    // `rt.spawn`, not `moirai::spawn`: this line runs on the main thread, outside any runtime,
    // where `moirai::spawn` would use the global runtime (and `rt`'s metrics would not show it).
    // Inside the tasks, `moirai::spawn` spawns on the runtime running them.
    let sum = rt.block_on(rt.spawn(skynet(0, 1_000_000, 10)))?;
    assert_eq!(sum, 499_999_500_000);
    println!(
        "skynet:   1,111,111 tasks summed to {sum} in {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let checksum = rt.block_on(async {
        let handles: Vec<_> = (0..256u64)
            .map(|i| {
                moirai::spawn(async move {
                    // Some CPU work per task, then a yield so the scheduler can rebalance.
                    let mut x = i;
                    for k in 0..20_000u64 {
                        x = x.rotate_left(7) ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    }
                    moirai::yield_now().await;
                    x
                })
            })
            .collect();
        // A sum, not an XOR: the loop above is linear over XOR, so the XOR of the 256 results
        // would be 0 whatever the tasks computed.
        let mut acc = 0u64;
        for h in handles {
            acc = acc.wrapping_add(h.await.expect("a fan-out task failed"));
        }
        acc
    });
    println!(
        "fan-out:  256 CPU tasks, checksum {checksum:#x}, in {:?}",
        started.elapsed()
    );

    println!(
        "\nscheduler metrics (per worker, per node, total):\n{}",
        rt.metrics()
    );
    Ok(())
}
