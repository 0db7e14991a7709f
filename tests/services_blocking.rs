//! `moirai::spawn_blocking`: results, panics, where the closure runs, and what abort can and
//! cannot do.

use std::sync::mpsc;
use std::sync::{Arc, Barrier};

use moirai::Runtime;

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).build().unwrap()
}

#[test]
fn returns_the_closures_result() {
    let rt = runtime(2);
    let v = rt.block_on(async { moirai::spawn_blocking(|| vec![1, 2, 3]).await.unwrap() });
    assert_eq!(v, [1, 2, 3]);
    // From a worker too.
    let s = rt.block_on(rt.spawn(async { moirai::spawn_blocking(|| "ok".to_string()).await }));
    assert_eq!(s.unwrap().unwrap(), "ok");
}

#[test]
fn works_outside_any_runtime() {
    let h = moirai::spawn_blocking(|| 40 + 2);
    assert_eq!(moirai::block_on(h).unwrap(), 42);
}

#[test]
fn a_panic_reaches_the_joiner_as_a_panic() {
    let rt = runtime(1);
    let err = rt
        .block_on(
            rt.spawn(async { moirai::spawn_blocking(|| -> u8 { panic!("blocking boom") }).await }),
        )
        .unwrap()
        .unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert!(err.to_string().contains("blocking boom"), "{err}");
    assert_eq!(
        *err.into_panic().downcast::<&str>().unwrap(),
        "blocking boom"
    );
    // The runtime (and the pool) carry on.
    assert_eq!(rt.block_on(moirai::spawn_blocking(|| 1)).unwrap(), 1);
}

#[test]
fn the_closure_does_not_run_on_a_worker() {
    let rt = runtime(2);
    let (node, name) = rt
        .block_on(rt.spawn(async {
            assert!(
                moirai::current_node().is_some(),
                "the spawning task runs on a worker"
            );
            moirai::spawn_blocking(|| {
                (
                    moirai::current_node(),
                    std::thread::current().name().map(str::to_owned),
                )
            })
            .await
        }))
        .unwrap()
        .unwrap();
    assert_eq!(node, None);
    assert!(!name.unwrap_or_default().starts_with("moirai-worker"));
}

#[test]
fn blocking_closures_leave_the_only_worker_free() {
    let rt = runtime(1);
    let (tx, rx) = mpsc::channel::<u32>();
    let got = rt.block_on(rt.spawn(async move {
        // Blocks its pool thread until the async task below, on the single worker, sends.
        let waiting = moirai::spawn_blocking(move || rx.recv().unwrap());
        moirai::spawn(async move { tx.send(7).unwrap() })
            .await
            .unwrap();
        waiting.await.unwrap()
    }));
    assert_eq!(got.unwrap(), 7);
}

#[test]
fn the_pool_grows_to_run_many_closures_at_once() {
    // Every closure waits for all the others: this only finishes if they all run concurrently.
    let n = 16;
    let barrier = Arc::new(Barrier::new(n));
    let rt = runtime(2);
    let total = rt.block_on(async move {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let b = barrier.clone();
                moirai::spawn_blocking(move || {
                    b.wait();
                    i
                })
            })
            .collect();
        let mut total = 0;
        for h in hs {
            total += h.await.unwrap();
        }
        total
    });
    assert_eq!(total, n * (n - 1) / 2);
}

#[test]
fn abort_cannot_interrupt_a_running_closure() {
    let rt = runtime(2);
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (finished_tx, finished_rx) = mpsc::channel::<()>();
    let _entered = rt.handle().enter();
    let h = moirai::spawn_blocking(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        finished_tx.send(()).unwrap();
    });
    started_rx.recv().unwrap();
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    // The closure is still running; it finishes once released.
    release_tx.send(()).unwrap();
    finished_rx
        .recv()
        .expect("the aborted closure ran to its end");
}
