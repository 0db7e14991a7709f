//! Dropping a runtime whose tasks are parked on timers and sockets drops each task's future
//! exactly once, and their joiners see a cancellation.

mod common;

use std::time::Duration;

use async_net::TcpListener;
use common::DropCounter;
use futures::channel::mpsc;
use futures::StreamExt;
use moirai::time::{interval, sleep, timeout};
use moirai::Runtime;

#[test]
fn dropping_a_runtime_drops_tasks_parked_on_timers_and_accepts_once() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let counter = DropCounter::default();
    let (parked_tx, mut parked_rx) = mpsc::unbounded::<()>();
    let mut handles = Vec::new();
    let per_kind = 8;
    for i in 0..per_kind {
        // A long sleep.
        let (t, tx) = (counter.track(), parked_tx.clone());
        handles.push(rt.spawn(async move {
            let _t = t;
            let s = sleep(Duration::from_secs(3600 + i));
            tx.unbounded_send(()).unwrap();
            s.await;
            unreachable!("slept an hour");
        }));
        // An interval between ticks.
        let (t, tx) = (counter.track(), parked_tx.clone());
        handles.push(rt.spawn(async move {
            let _t = t;
            let mut iv = interval(Duration::from_secs(3600));
            iv.tick().await;
            tx.unbounded_send(()).unwrap();
            iv.tick().await;
            unreachable!("an hour passed");
        }));
        // A timeout around a future that never completes.
        let (t, tx) = (counter.track(), parked_tx.clone());
        handles.push(rt.spawn(async move {
            let _t = t;
            tx.unbounded_send(()).unwrap();
            let _ = timeout(Duration::from_secs(3600), futures::future::pending::<()>()).await;
            unreachable!("an hour passed");
        }));
        // An accept nobody will ever connect to.
        let (t, tx) = (counter.track(), parked_tx.clone());
        handles.push(rt.spawn(async move {
            let _t = t;
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.unbounded_send(()).unwrap();
            let _ = listener.accept().await;
            unreachable!("nobody connects");
        }));
    }
    drop(parked_tx);
    let tasks = handles.len();
    // Every task has reached its wait.
    let reached = rt.block_on(async { (&mut parked_rx).take(tasks).count().await });
    assert_eq!(reached, tasks);
    assert_eq!(
        counter.dropped(),
        0,
        "no task finished or was dropped early"
    );

    drop(rt);
    assert_eq!(
        counter.dropped(),
        tasks,
        "each parked task's future dropped exactly once"
    );
    for h in handles {
        let err = futures::executor::block_on(h).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
    }
    // The senders lived in the dropped futures: the channel is closed now.
    assert_eq!(futures::executor::block_on(parked_rx.next()), None);
    assert_eq!(counter.dropped(), tasks, "and never again");
}
