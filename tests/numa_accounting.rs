//! The locality accounting of the NUMA report: the share as a pure function of the counters, and
//! the counters themselves on a runtime where exactly one worker can run anything (so every
//! count is known in advance).

use std::sync::mpsc;

use moirai::{Counters, NodeId};

mod numa_support;
#[path = "../examples/numa_report/share.rs"]
mod share;
use numa_support::{collect, report, HeldRuntime};

const N: u64 = 50;

fn counters(polls: u64, local: u64, remote: u64, global: u64) -> Counters {
    let mut c = Counters::default();
    c.polls = polls;
    c.from_local = local;
    c.remote_tasks = remote;
    c.global_tasks = global;
    c
}

#[test]
fn share_of_nothing_is_one() {
    assert_eq!(share::locality_share(&Counters::default()), 1.0);
}

#[test]
fn share_counts_remote_and_global_tasks_against_polls() {
    let c = counters(100, 80, 15, 5);
    assert_eq!(share::away_tasks(&c), 20);
    assert!((share::locality_share(&c) - 0.80).abs() < 1e-12);
    // The runtime's own figure is the same definition.
    assert_eq!(share::locality_share(&c), c.locality_share());
    // Local levels do not lower it, whatever their counts (batch steals count tasks twice there).
    let mut c2 = c;
    c2.from_lifo = 1000;
    c2.sibling_tasks = 1000;
    c2.from_node_injector = 1000;
    assert_eq!(share::locality_share(&c2), share::locality_share(&c));
}

#[test]
fn share_is_clamped_at_zero() {
    // A batch moved across but not yet run can make away > polls in a snapshot.
    assert_eq!(share::locality_share(&counters(10, 0, 64, 0)), 0.0);
}

#[test]
fn delta_group_and_sum() {
    let before = counters(10, 5, 1, 1);
    let after = counters(30, 20, 4, 1);
    let d = share::delta(&after, &before);
    assert_eq!(d, counters(20, 15, 3, 0));
    let per_worker = [
        counters(1, 1, 0, 0),
        counters(2, 0, 2, 0),
        counters(4, 0, 0, 4),
    ];
    let g = share::group(&per_worker, &[0, 1, 0], 2);
    assert_eq!(g, vec![counters(5, 1, 0, 4), counters(2, 0, 2, 0)]);
    assert_eq!(share::sum(&g), counters(7, 1, 2, 4));
}

#[test]
fn spawn_on_own_node_is_local() {
    let held = HeldRuntime::new();
    let before = held.free_counters();
    let (tx, rx) = mpsc::channel();
    for _ in 0..N {
        drop(held.rt.spawn_on(NodeId::new(held.free), report(&tx)));
    }
    let ran = collect(&rx, N as usize);
    assert!(ran.iter().all(|&r| r == (held.free, held.free)), "{ran:?}");
    let d = share::delta(&held.free_counters(), &before);
    assert_eq!(d.polls, N);
    assert_eq!(
        d.from_node_injector, N,
        "each task leaves the node injector once: {d:?}"
    );
    assert_eq!((d.remote_tasks, d.global_tasks), (0, 0), "{d:?}");
    assert_eq!(share::locality_share(&d), 1.0);
}

#[test]
fn spawn_on_other_node_is_remote() {
    let held = HeldRuntime::new();
    let before = held.free_counters();
    let (tx, rx) = mpsc::channel();
    for _ in 0..N {
        drop(held.rt.spawn_on(NodeId::new(held.blocked), report(&tx)));
    }
    // Only the free worker can run them: it has to steal them across the node boundary.
    let ran = collect(&rx, N as usize);
    assert!(ran.iter().all(|&r| r == (held.free, held.free)), "{ran:?}");
    let d = share::delta(&held.free_counters(), &before);
    assert_eq!(d.polls, N);
    assert_eq!(d.remote_tasks, N, "a batch steal of k counts k: {d:?}");
    assert!(d.remote_steals >= 1 && d.remote_steals <= N, "{d:?}");
    assert_eq!(d.global_tasks, 0);
    assert_eq!(share::locality_share(&d), 0.0);
}

#[test]
fn spawns_from_outside_are_global() {
    let held = HeldRuntime::new();
    let before = held.free_counters();
    let (tx, rx) = mpsc::channel();
    for _ in 0..N {
        drop(held.rt.spawn(report(&tx)));
    }
    collect(&rx, N as usize);
    let d = share::delta(&held.free_counters(), &before);
    assert_eq!(
        (d.polls, d.global_tasks, d.remote_tasks),
        (N, N, 0),
        "{d:?}"
    );
    assert_eq!(share::locality_share(&d), 0.0);
}

#[test]
fn children_spawned_on_a_worker_stay_in_its_deque() {
    let held = HeldRuntime::new();
    let before = held.free_counters();
    let (tx, rx) = mpsc::channel();
    let parent_tx = tx.clone();
    drop(held.rt.spawn_on(NodeId::new(held.free), async move {
        for _ in 0..N {
            drop(moirai::spawn(report(&parent_tx)));
        }
    }));
    let ran = collect(&rx, N as usize);
    assert!(ran.iter().all(|&r| r == (held.free, held.free)), "{ran:?}");
    let d = share::delta(&held.free_counters(), &before);
    assert_eq!(d.polls, N + 1);
    assert_eq!(d.spawns, N);
    assert_eq!(d.from_node_injector, 1, "the parent: {d:?}");
    assert_eq!(d.from_lifo + d.from_local, N, "the children: {d:?}");
    assert_eq!(
        d.local_tasks(),
        N + 1,
        "every poll counted at one local level: {d:?}"
    );
    assert_eq!(share::locality_share(&d), 1.0);
}
