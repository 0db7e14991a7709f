//! `spawn_on` puts work on the node asked for; `current_node()` and `current_worker()` say where
//! a task runs. Deterministic: on `2x1` with one worker held busy, the other is the only one that
//! runs anything, and the counters tell which queue each task came from.
//!
//! Also here: wake-ups across nodes (a task queued on one node while the worker woken for
//! another node's task is on its way).

use std::sync::mpsc;
use std::time::Instant;

use moirai::{NodeId, Runtime};

mod numa_support;
#[path = "../examples/numa_report/share.rs"]
mod share;
use numa_support::{collect, report, synthetic, HeldRuntime, WAIT};

const N: u64 = 20;

#[test]
fn off_the_workers_there_is_no_node_or_worker() {
    assert_eq!(moirai::current_node(), None);
    assert_eq!(moirai::current_worker(), None);
    let rt = synthetic(2, "2x1");
    // Inside block_on, on the calling thread: still not a worker.
    rt.block_on(async {
        assert_eq!(moirai::current_node(), None);
        assert_eq!(moirai::current_worker(), None);
    });
}

#[test]
fn current_worker_and_node_agree_with_the_metrics() {
    let rt = synthetic(4, "2x2");
    let nodes: Vec<usize> = rt.metrics().worker_nodes();
    assert_eq!(nodes, vec![0, 0, 1, 1]);
    let (tx, rx) = mpsc::channel();
    for k in 0..2 {
        for _ in 0..N {
            drop(rt.spawn_on(NodeId::new(k), report(&tx)));
        }
    }
    // Wherever stealing put them, a task's node is its worker's node.
    for (node, worker) in collect(&rx, 2 * N as usize) {
        assert_eq!(nodes[worker], node);
    }
}

#[test]
fn spawn_on_from_outside_queues_on_that_node() {
    let held = HeldRuntime::new();
    let (tx, rx) = mpsc::channel();
    let before = held.free_counters();
    for _ in 0..N {
        drop(held.rt.spawn_on(NodeId::new(held.free), report(&tx)));
    }
    assert!(collect(&rx, N as usize)
        .iter()
        .all(|&r| r == (held.free, held.free)));
    let mid = held.free_counters();
    let d = share::delta(&mid, &before);
    assert_eq!(
        (d.from_node_injector, d.remote_tasks, d.global_tasks),
        (N, 0, 0)
    );

    for _ in 0..N {
        drop(held.rt.spawn_on(NodeId::new(held.blocked), report(&tx)));
    }
    assert!(collect(&rx, N as usize)
        .iter()
        .all(|&r| r == (held.free, held.free)));
    let d = share::delta(&held.free_counters(), &mid);
    // They were queued on the held node: the free worker had to steal every one across.
    assert_eq!(
        (d.from_node_injector, d.remote_tasks, d.global_tasks),
        (0, N, 0)
    );
}

#[test]
fn spawn_on_from_a_task_queues_on_that_node() {
    let held = HeldRuntime::new();
    let (tx, rx) = mpsc::channel();
    let before = held.free_counters();
    let (blocked, free) = (held.blocked, held.free);
    let parent_tx = tx.clone();
    drop(held.rt.spawn_on(NodeId::new(free), async move {
        for _ in 0..N {
            drop(moirai::spawn_on(NodeId::new(blocked), report(&parent_tx)));
            drop(moirai::spawn_on(NodeId::new(free), report(&parent_tx)));
        }
    }));
    assert!(collect(&rx, 2 * N as usize)
        .iter()
        .all(|&r| r == (free, free)));
    let d = share::delta(&held.free_counters(), &before);
    assert_eq!(d.polls, 2 * N + 1);
    assert_eq!(
        d.spawns,
        2 * N,
        "spawn_on from a worker counts as its spawn"
    );
    assert_eq!(d.remote_tasks, N, "the ones sent to the held node: {d:?}");
    assert_eq!(
        d.from_node_injector,
        N + 1,
        "the parent and the ones for this node: {d:?}"
    );
}

#[test]
fn spawn_on_past_the_last_node_means_the_last_node() {
    let held = HeldRuntime::new();
    let (tx, rx) = mpsc::channel();
    let before = held.free_counters();
    for _ in 0..N {
        drop(held.rt.spawn_on(NodeId::new(7), report(&tx)));
    }
    assert!(collect(&rx, N as usize)
        .iter()
        .all(|&r| r == (held.free, held.free)));
    let d = share::delta(&held.free_counters(), &before);
    let expected_remote = if held.blocked == 1 { N } else { 0 };
    assert_eq!(
        d.remote_tasks, expected_remote,
        "node 7 of 2 is node 1: {d:?}"
    );
    assert_eq!(d.from_node_injector, N - expected_remote);
}

#[test]
fn the_holding_task_itself_reports_its_node() {
    let held = HeldRuntime::new();
    assert_ne!(held.blocked, held.free);
    let (tx, rx) = mpsc::channel();
    drop(held.rt.spawn(report(&tx)));
    let (node, worker) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (node, worker),
        (Some(NodeId::new(held.free)), Some(held.free))
    );
}

/// Waits until every worker of `rt` is parked (the metrics' gauge).
fn wait_until_all_parked(rt: &Runtime) {
    let start = Instant::now();
    while !rt.metrics().workers.iter().all(|w| w.parked) {
        assert!(start.elapsed() < WAIT, "the workers never all parked");
        std::thread::yield_now();
    }
}

#[test]
fn a_task_behind_a_wake_up_in_flight_is_not_left_waiting() {
    let rt = synthetic(2, "2x1");
    wait_until_all_parked(&rt);
    assert_eq!(
        rt.metrics().nodes.iter().map(|n| n.parked).sum::<usize>(),
        2
    );
    // The first wakes node 0's worker; the second, queued while that wake-up is (nearly always)
    // still on its way, wakes nobody and relies on it. The woken worker finds the first task in
    // its own node's injector and is held by it until the second has run: it must have passed
    // the wake-up on to node 1's worker before running it.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel();
    drop(rt.spawn_on(NodeId::new(0), async move {
        let _ = release_rx.recv();
    }));
    drop(rt.spawn_on(NodeId::new(1), async move {
        ran_tx.send(moirai::current_worker()).unwrap();
    }));
    let ran_on = ran_rx
        .recv_timeout(WAIT)
        .expect("the second task waited for the first to finish");
    assert!(ran_on.is_some());
    assert!(
        !rt.metrics().workers.iter().all(|w| w.parked),
        "one worker is held by the first task"
    );
    drop(release_tx);
}

/// The attributes take an affinity and hand it to the real builder (the expansion tests check
/// the builder call; this one that it names the facade's type and the runtime runs).
#[moirai::test(topology = "2x1", affinity = "node")]
async fn the_test_attribute_takes_an_affinity() {
    assert_eq!(moirai::Handle::current().topology().num_nodes(), 2);
    let on_a_worker = moirai::spawn_on(moirai::NodeId::new(1), async {
        moirai::current_node().is_some()
    });
    assert!(on_a_worker.await.unwrap());
}
