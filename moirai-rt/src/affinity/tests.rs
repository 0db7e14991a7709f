//! The binding each [`Affinity`] gives the workers, read back from the OS on every worker thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{bind_current_thread, current_thread_cpus, Affinity};
use crate::topology::{Topology, TopologySource};
use crate::Runtime;

/// The allowed CPUs of this thread split into (up to) two nodes, real CPU numbers.
fn two_nodes_of_real_cpus(source: TopologySource) -> Topology {
    let allowed = current_thread_cpus();
    assert!(!allowed.is_empty(), "sched_getaffinity failed");
    let nodes: Vec<Vec<usize>> = if allowed.len() >= 2 {
        let (a, b) = allowed.split_at(allowed.len() / 2);
        vec![a.to_vec(), b.to_vec()]
    } else {
        vec![allowed]
    };
    let distances = (0..nodes.len())
        .map(|a| {
            (0..nodes.len())
                .map(|b| if a == b { 10 } else { 20 })
                .collect()
        })
        .collect();
    Topology::from_parts(nodes, distances, source).unwrap()
}

/// Each node's CPUs, by node index.
fn cpus_by_node(topology: &Topology) -> Vec<Vec<usize>> {
    topology.nodes().iter().map(|n| n.cpus().to_vec()).collect()
}

/// Starts `workers` workers bound by `affinity` and returns, per worker index, its node and the
/// CPUs the OS lets its thread run on (read on the thread itself, before it runs any task).
fn cpus_of_each_worker(
    topology: Topology,
    workers: usize,
    affinity: Option<Affinity>,
) -> BTreeMap<usize, (usize, Vec<usize>)> {
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let record = seen.clone();
    let mut builder = Runtime::builder()
        .worker_threads(workers)
        .topology(topology)
        .thread_name("affinity-test")
        .on_thread_start(move || {
            let name = std::thread::current().name().unwrap().to_owned();
            let index: usize = name.rsplit('-').next().unwrap().parse().unwrap();
            record.lock().unwrap().insert(index, current_thread_cpus());
        });
    if let Some(a) = affinity {
        builder = builder.affinity(a);
    }
    let rt = builder.build().unwrap();
    let nodes: Vec<usize> = rt.metrics().worker_nodes();
    drop(rt); // joins the workers: every hook has run
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), workers, "every worker ran the start hook");
    seen.into_iter()
        .map(|(w, cpus)| (w, (nodes[w], cpus)))
        .collect()
}

#[test]
fn node_affinity_keeps_each_worker_on_its_nodes_cpus() {
    let topology = two_nodes_of_real_cpus(TopologySource::Synthetic);
    let workers = 2 * topology.num_nodes();
    let expected = cpus_by_node(&topology);
    for (w, (node, cpus)) in cpus_of_each_worker(topology, workers, Some(Affinity::Node)) {
        assert_eq!(cpus, expected[node], "worker {w} on node {node}");
    }
}

#[test]
fn cpu_affinity_pins_each_worker_to_one_cpu_of_its_node() {
    let topology = two_nodes_of_real_cpus(TopologySource::Synthetic);
    let workers = 2 * topology.num_nodes();
    let node_cpus = cpus_by_node(&topology);
    for (w, (node, cpus)) in cpus_of_each_worker(topology, workers, Some(Affinity::Cpu)) {
        assert_eq!(cpus.len(), 1, "worker {w}: {cpus:?}");
        assert!(node_cpus[node].contains(&cpus[0]), "worker {w}: {cpus:?}");
    }
}

#[test]
fn unbound_workers_keep_the_cpus_of_the_thread_that_built_the_runtime() {
    let topology = two_nodes_of_real_cpus(TopologySource::Synthetic);
    let mine = current_thread_cpus();
    for (w, (_, cpus)) in cpus_of_each_worker(topology, 3, Some(Affinity::Unbound)) {
        assert_eq!(cpus, mine, "worker {w}");
    }
}

#[test]
fn a_measured_multi_node_topology_binds_workers_to_their_node_by_default() {
    let topology = two_nodes_of_real_cpus(TopologySource::Sysfs);
    let expected = cpus_by_node(&topology);
    let workers = 2 * topology.num_nodes();
    for (w, (node, cpus)) in cpus_of_each_worker(topology, workers, None) {
        assert_eq!(cpus, expected[node], "worker {w}");
    }
}

#[test]
fn the_default_binds_only_measured_topologies_of_several_nodes() {
    let parts = |n: usize, source| {
        let nodes = (0..n).map(|k| vec![k]).collect();
        let d = (0..n)
            .map(|a| (0..n).map(|b| if a == b { 10 } else { 20 }).collect())
            .collect();
        Topology::from_parts(nodes, d, source).unwrap()
    };
    assert_eq!(
        Affinity::default_for(&parts(2, TopologySource::Sysfs)),
        Affinity::Node
    );
    assert_eq!(
        Affinity::default_for(&parts(2, TopologySource::Hwloc)),
        Affinity::Node
    );
    assert_eq!(
        Affinity::default_for(&parts(1, TopologySource::Sysfs)),
        Affinity::Unbound
    );
    let spec: Topology = "2x2".parse().unwrap();
    assert_eq!(Affinity::default_for(&spec), Affinity::Unbound);
    assert_eq!(
        Affinity::default_for(&parts(2, TopologySource::Environment)),
        Affinity::Unbound
    );
}

#[test]
fn virtual_cpus_past_the_allowed_ones_land_on_allowed_cpus() {
    std::thread::spawn(|| {
        let allowed = current_thread_cpus();
        let past = allowed.last().unwrap() + 1; // not allowed: stands for allowed[past % len]
        assert!(bind_current_thread(&[past]));
        assert_eq!(current_thread_cpus(), vec![allowed[past % allowed.len()]]);
    })
    .join()
    .unwrap();
}
