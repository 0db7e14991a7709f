//! Spawning, joining, yielding and entering runtimes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::channel::oneshot;
use moirai::topology::Topology;
use moirai::{Handle, Runtime};

fn sum_of_tasks(rt: &Runtime, n: u64) -> u64 {
    rt.block_on(async move {
        // Spawned from inside a task, so the workers' deques and stealing are exercised.
        moirai::spawn(async move {
            let handles: Vec<_> = (0..n).map(|i| moirai::spawn(async move { i })).collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        })
        .await
        .unwrap()
    })
}

#[test]
fn hundred_thousand_tasks_on_2x2() {
    let rt = Runtime::builder()
        .topology("2x2".parse().unwrap())
        .build()
        .unwrap();
    assert_eq!(rt.handle().num_workers(), 4);
    let n = 100_000;
    assert_eq!(sum_of_tasks(&rt, n), n * (n - 1) / 2);
    let total = rt.metrics().total();
    assert!(
        total.polls >= n,
        "every task must have been polled at least once: {}",
        rt.metrics()
    );
    assert_eq!(total.spawns, n);
}

#[test]
fn hundred_thousand_tasks_on_detected_topology() {
    let rt = Runtime::new().unwrap();
    let n = 100_000;
    assert_eq!(sum_of_tasks(&rt, n), n * (n - 1) / 2);
}

#[test]
fn hundred_thousand_plain_tasks_leave_nothing_registered() {
    let rt = Runtime::builder().task_pool(false).build().unwrap();
    let n = 100_000;
    assert_eq!(sum_of_tasks(&rt, n), n * (n - 1) / 2);
    assert_eq!(
        rt.handle().live_tasks(),
        0,
        "finished plain tasks leave the registry"
    );
}

#[test]
fn one_worker_runs_everything() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    assert_eq!(sum_of_tasks(&rt, 10_000), 10_000 * 9_999 / 2);
}

#[test]
fn more_nodes_than_workers_still_runs_node_targeted_work() {
    let rt = Runtime::builder()
        .topology(Topology::synthetic(4, 1).unwrap())
        .worker_threads(2)
        .build()
        .unwrap();
    let out = rt.block_on(async {
        let hs: Vec<_> = (0..4)
            .map(|n| moirai::spawn_on(moirai::NodeId::new(n), async move { n }))
            .collect();
        let mut v = Vec::new();
        for h in hs {
            v.push(h.await.unwrap());
        }
        v
    });
    assert_eq!(out, vec![0, 1, 2, 3]);
}

#[test]
fn yield_now_lets_other_tasks_run() {
    // One worker: the only way the second task can record its step between the first task's
    // steps is that yield_now really puts the first task behind it.
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    // Both tasks are spawned from a task on that worker, so both sit in its deque in order.
    let log = rt
        .block_on(rt.spawn(async {
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let (l1, l2) = (log.clone(), log.clone());
            let a = moirai::spawn(async move {
                for i in 0..3 {
                    l1.lock().unwrap().push(("a", i));
                    moirai::yield_now().await;
                }
            });
            let b = moirai::spawn(async move {
                for i in 0..3 {
                    l2.lock().unwrap().push(("b", i));
                    moirai::yield_now().await;
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            Arc::try_unwrap(log).unwrap().into_inner().unwrap()
        }))
        .unwrap();
    // Whichever starts (a fresh spawn runs next, Go-style), every yield hands the worker to the
    // other task: the log alternates, and each task's own steps stay in order.
    assert_eq!(log.len(), 6);
    assert!(
        log.windows(2).all(|w| w[0].0 != w[1].0),
        "not interleaved: {log:?}"
    );
    for name in ["a", "b"] {
        let steps: Vec<_> = log.iter().filter(|e| e.0 == name).map(|e| e.1).collect();
        assert_eq!(steps, vec![0, 1, 2]);
    }
}

#[test]
fn dropping_a_join_handle_detaches_the_task() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (tx, rx) = oneshot::channel();
    rt.block_on(async move {
        let (go_tx, go_rx) = oneshot::channel::<()>();
        drop(moirai::spawn(async move {
            go_rx.await.unwrap();
            tx.send(7).unwrap();
        }));
        go_tx.send(()).unwrap();
    });
    assert_eq!(rt.block_on(rx).unwrap(), 7);
}

#[test]
fn spawn_from_outside_the_runtime() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let handle = rt.handle();
    let joins: Vec<_> = (0..4u64)
        .map(|t| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                (0..1000u64)
                    .map(|i| handle.spawn(async move { t * 1000 + i }))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut sum = 0;
    for j in joins {
        for h in j.join().unwrap() {
            sum += rt.block_on(h).unwrap();
        }
    }
    assert_eq!(sum, (0..4000u64).sum::<u64>());
    assert_eq!(rt.metrics().external_spawns, 4000);
}

#[test]
fn free_spawn_outside_any_runtime_uses_the_global_runtime() {
    let h = moirai::spawn(async { moirai::Handle::try_current().is_ok() });
    assert!(
        moirai::block_on(h).unwrap(),
        "a task of the global runtime sees its runtime"
    );
    assert!(
        Handle::try_current().is_err(),
        "this test thread is in no runtime"
    );
}

#[test]
fn handle_current_inside_block_on_and_tasks() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let outer = Handle::current();
        assert_eq!(outer.num_workers(), 2);
        let inner = moirai::spawn(async { Handle::current().num_workers() })
            .await
            .unwrap();
        assert_eq!(inner, 2);
    });
    let err = Handle::try_current().unwrap_err();
    assert!(err.to_string().contains("no Moirai runtime"));
}

#[test]
fn spawn_on_runs_on_the_requested_node() {
    let rt = Runtime::builder()
        .topology("2x2".parse().unwrap())
        .build()
        .unwrap();
    let nodes = rt.block_on(async {
        let mut out = Vec::new();
        for n in [0, 1, 1, 0] {
            out.push(moirai::spawn_on(moirai::NodeId::new(n), async {
                moirai::current_node()
            }));
        }
        let mut v = Vec::new();
        for h in out {
            v.push(h.await.unwrap());
        }
        v
    });
    // Workers of the requested node are idle, so they take their node's injector first... but a
    // worker of another node may steal it too. What must hold: it ran on a worker of *some* node.
    assert!(nodes.iter().all(|n| n.is_some()));
    assert_eq!(moirai::current_node(), None, "the test thread is no worker");
}

#[test]
fn futures_spawn_trait_spawns_onto_moirai() {
    use futures::task::SpawnExt;
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (tx, rx) = oneshot::channel();
    rt.handle()
        .spawn(async move { tx.send(5).unwrap() })
        .detach_by_drop();
    assert_eq!(rt.block_on(rx).unwrap(), 5);
    let h = rt.handle().spawn_with_handle(async { 9 }).unwrap();
    assert_eq!(rt.block_on(h), 9);
}

trait DetachByDrop {
    fn detach_by_drop(self);
}
impl<T> DetachByDrop for moirai::JoinHandle<T> {
    fn detach_by_drop(self) {}
}

#[test]
fn thread_hooks_run_once_per_worker() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s1, s2) = (started.clone(), stopped.clone());
    let rt = Runtime::builder()
        .worker_threads(3)
        .thread_name("hooked")
        .on_thread_start(move || {
            assert!(std::thread::current()
                .name()
                .unwrap()
                .starts_with("hooked-"));
            s1.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            s2.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    rt.block_on(rt.spawn(async {})).unwrap();
    drop(rt);
    assert_eq!(started.load(Ordering::SeqCst), 3);
    assert_eq!(stopped.load(Ordering::SeqCst), 3);
}

#[test]
fn pinned_workers_run_tasks() {
    let rt = Runtime::builder()
        .topology("2x2".parse().unwrap())
        .pin_workers(true)
        .build()
        .unwrap();
    assert_eq!(sum_of_tasks(&rt, 1000), 1000 * 999 / 2);
}

#[test]
fn nested_block_on_on_a_plain_thread() {
    let v = moirai::block_on(async { moirai::block_on(async { 1 }) + 1 });
    assert_eq!(v, 2);
}

#[test]
fn block_on_inside_a_task_is_refused_with_a_clear_panic() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let err = rt
        .block_on(rt.spawn(async { moirai::block_on(async {}) }))
        .unwrap_err();
    assert!(err.is_panic());
    let msg = err
        .into_panic()
        .downcast::<&str>()
        .map(|s| s.to_string())
        .unwrap_or_default();
    assert!(msg.contains("worker thread"), "unexpected message {msg:?}");
    // The worker survived.
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
}

#[test]
fn metrics_display_lists_workers_and_nodes() {
    let rt = Runtime::builder()
        .topology("2x1".parse().unwrap())
        .build()
        .unwrap();
    sum_of_tasks(&rt, 100);
    let text = rt.metrics().to_string();
    assert!(
        text.contains("w0 node0") && text.contains("w1 node1") && text.contains("total"),
        "{text}"
    );
    assert_eq!(rt.metrics().nodes.len(), 2);
}
