//! Cooperative scheduling: a task that never waits cannot keep its worker forever.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use moirai::channel::zero_copy;
use moirai::Runtime;

/// One worker. Task A spins on a channel that is always ready (it sends to itself and receives
/// its own message), checking a flag that only task B sets. Without a budget A never returns
/// `Pending`, B never runs, and this test never ends.
#[test]
fn an_always_ready_loop_lets_other_tasks_on_its_worker_run() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spins = rt
        .block_on(rt.spawn({
            let stop = stop.clone();
            async move {
                let (tx, rx) = zero_copy::channel::<u64>(4);
                // B is queued on the same (only) worker before A starts spinning.
                let setter = stop.clone();
                let b = moirai::spawn(async move { setter.store(true, Ordering::SeqCst) });
                let mut spins = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    tx.send(spins).await.unwrap();
                    assert_eq!(rx.recv().await, Some(spins));
                    spins += 1;
                }
                b.await.unwrap();
                spins
            }
        }))
        .unwrap();
    assert!(spins >= 1);
}

/// The same with Moirai's own futures only: awaiting join handles of finished tasks.
#[test]
fn awaiting_finished_join_handles_in_a_loop_still_yields() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    rt.block_on(rt.spawn({
        let stop = stop.clone();
        async move {
            let mut done = moirai::spawn(async {});
            (&mut done).await.unwrap();
            let setter = stop.clone();
            let b = moirai::spawn(async move { setter.store(true, Ordering::SeqCst) });
            while !stop.load(Ordering::SeqCst) {
                // A finished (and already joined) handle is ready at once, every time.
                let _ = (&mut done).await;
            }
            b.await.unwrap();
        }
    }))
    .unwrap();
}
