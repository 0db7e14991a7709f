//! Panics, aborts, bad input and teardown: nothing is lost, nothing is dropped twice.

mod common;

use std::time::Duration;

use common::DropCounter;
use futures::channel::oneshot;
use moirai::topology::Topology;
use moirai::{BuildError, Runtime};

/// Both spawn paths must behave the same: pooled carriers and plain tasks.
fn both_paths(workers: usize, test: impl Fn(Runtime)) {
    for pool in [true, false] {
        test(
            Runtime::builder()
                .worker_threads(workers)
                .task_pool(pool)
                .build()
                .unwrap(),
        );
    }
}

#[test]
fn a_panicking_task_reports_to_its_joiner_and_the_worker_survives() {
    both_paths(1, |rt| {
        let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        assert!(format!("{err}").contains("boom"));
        assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
        // Same single worker, still alive.
        let sum = rt.block_on(async {
            let hs: Vec<_> = (0..100).map(|i| moirai::spawn(async move { i })).collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 4950);
    });
}

#[test]
fn abort_cancels_a_pending_task_and_drops_its_future() {
    both_paths(2, |rt| {
        let counter = DropCounter::default();
        let tracked = counter.track();
        let (alive_tx, alive_rx) = oneshot::channel::<()>();
        let mut h = rt.spawn(async move {
            let _t = tracked;
            let _alive = alive_tx; // dropped together with the future
            futures::future::pending::<()>().await;
        });
        h.abort();
        let err = rt.block_on(&mut h).unwrap_err();
        assert!(h.is_finished());
        assert!(err.is_cancelled() && !err.is_panic());
        // The sender is dropped exactly when the future is: waiting on it is the synchronisation.
        assert!(rt.block_on(alive_rx).is_err());
        assert_eq!(counter.dropped(), 1);
    });
}

#[test]
fn abort_after_completion_keeps_the_output() {
    both_paths(1, |rt| {
        let (done_tx, done_rx) = oneshot::channel();
        let h = rt.spawn(async move {
            done_tx.send(()).unwrap();
            11
        });
        rt.block_on(done_rx).unwrap();
        // The value was sent inside the task; wait until the task is really finished.
        while !h.is_finished() {
            std::thread::yield_now();
        }
        h.abort();
        assert_eq!(rt.block_on(h).unwrap(), 11);
    });
}

#[test]
fn dropping_the_runtime_drops_ten_thousand_pending_tasks_exactly_once() {
    both_paths(2, |rt| {
        let counter = DropCounter::default();
        let handles: Vec<_> = (0..10_000)
            .map(|_| {
                let t = counter.track();
                rt.spawn(async move {
                    let _t = t;
                    futures::future::pending::<()>().await;
                })
            })
            .collect();
        // Some have been polled (idle, reachable only through the registry), some are still queued.
        drop(rt);
        assert_eq!(counter.dropped(), 10_000);
        for h in handles {
            assert!(moirai::block_on(h).unwrap_err().is_cancelled());
        }
    });
}

#[test]
fn queued_tasks_are_dropped_when_shutdown_times_out() {
    both_paths(1, |rt| {
        // One worker, held busy by a task blocked on a std channel; 1000 tasks wait in its deque.
        let counter = DropCounter::default();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (spawned_tx, spawned_rx) = std::sync::mpsc::channel::<Vec<moirai::JoinHandle<()>>>();
        let c = counter.clone();
        let blocker = rt.spawn(async move {
            let hs = (0..1000)
                .map(|_| {
                    let t = c.track();
                    moirai::spawn(async move { drop(t) })
                })
                .collect();
            spawned_tx.send(hs).unwrap();
            release_rx.recv().unwrap(); // blocks the only worker
        });
        let queued = spawned_rx.recv().unwrap();
        assert_eq!(
            counter.dropped(),
            0,
            "the worker is blocked, none of them can have run"
        );
        rt.shutdown_timeout(Duration::from_millis(10));
        // The worker is still blocked, yet every queued task has been dropped by the shutdown.
        assert_eq!(counter.dropped(), 1000);
        for h in queued {
            assert!(moirai::block_on(h).unwrap_err().is_cancelled());
        }
        release_tx.send(()).unwrap();
        drop(blocker);
    });
}

#[test]
fn spawning_through_a_handle_after_shutdown_drops_the_future() {
    both_paths(1, |rt| {
        let counter = DropCounter::default();
        let handle = rt.handle();
        drop(rt);
        let t = counter.track();
        let h = handle.spawn(async move { drop(t) });
        assert_eq!(counter.dropped(), 1);
        assert!(moirai::block_on(h).unwrap_err().is_cancelled());
        assert!(
            futures::task::SpawnExt::spawn(&handle, async {}).is_err(),
            "the futures Spawn impl reports shutdown"
        );
    });
}

#[test]
fn a_waker_used_after_the_runtime_is_gone_drops_its_task() {
    both_paths(1, |rt| {
        let counter = DropCounter::default();
        let (waker_tx, waker_rx) = std::sync::mpsc::channel();
        let t = counter.track();
        let _h = rt.spawn(futures::future::poll_fn(move |cx| {
            let _keep = &t;
            let _ = waker_tx.send(cx.waker().clone());
            std::task::Poll::<()>::Pending
        }));
        let waker = waker_rx.recv().unwrap();
        drop(rt);
        assert_eq!(counter.dropped(), 1);
        waker.wake(); // must neither run nor double-drop the task
        assert_eq!(counter.dropped(), 1);
    });
}

#[test]
fn zero_workers_is_an_error() {
    let err = Runtime::builder().worker_threads(0).build().unwrap_err();
    assert_eq!(err, BuildError::ZeroWorkers);
    assert!(err.to_string().contains("at least 1"));
}

#[test]
fn bad_topology_specs_are_errors_that_say_why() {
    for spec in [
        "",
        "2x",
        "x4",
        "0x4",
        "2x0",
        "abc",
        "2x4x1",
        "-1x2",
        "99999999999999999999x1",
    ] {
        let err = spec.parse::<Topology>().unwrap_err();
        match &err {
            BuildError::InvalidTopology { spec: s, reason } => {
                assert_eq!(s, spec);
                assert!(!reason.is_empty());
            }
            other => panic!("{spec:?}: unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("invalid topology"), "{err}");
    }
    assert!(Topology::synthetic(0, 1).is_err());
    assert!(Topology::synthetic(1, 0).is_err());
}
