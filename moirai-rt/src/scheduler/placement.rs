//! Where workers live and whom they steal from: pure functions of the topology, computed once at
//! start-up and unit-tested here.
//!
//! * [`assign_workers`] spreads the workers over the nodes in proportion to their CPU counts,
//!   contiguously (workers `0..k` on node 0, and so on).
//! * [`victim_order`] gives each worker its stealing plan: siblings on its own node first, then
//!   the other nodes nearest first (each node's injector before its workers).
//! * [`wake_order`] gives, for each node, the nodes whose parked workers to wake, nearest first.
//! * [`staffed_nodes`] lists the nodes that have workers: spawns from outside wake them in turn.

use crate::topology::{NodeId, Topology};

/// Worker `i` runs on node `result[i].0`, preferably on CPU `result[i].1`.
pub(crate) fn assign_workers(topology: &Topology, workers: usize) -> Vec<(usize, usize)> {
    let nodes = topology.nodes();
    let total_cpus: usize = nodes.iter().map(|n| n.cpus().len()).sum();
    // Largest-remainder apportionment of `workers` over nodes by CPU count.
    let mut counts: Vec<usize> = nodes
        .iter()
        .map(|n| workers * n.cpus().len() / total_cpus)
        .collect();
    let mut remainders: Vec<(usize, usize)> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ((workers * n.cpus().len()) % total_cpus, i))
        .collect();
    // Larger remainder first; ties go to the lower node index.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = workers - counts.iter().sum::<usize>();
    for &(_, i) in remainders.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    let mut out = Vec::with_capacity(workers);
    for (node, &count) in counts.iter().enumerate() {
        let cpus = nodes[node].cpus();
        for j in 0..count {
            out.push((node, cpus[j % cpus.len()]));
        }
    }
    out
}

/// The nodes other than `from`, nearest first, ties broken by index.
fn other_nodes_by_distance(topology: &Topology, from: usize) -> Vec<usize> {
    topology
        .nodes_by_distance(NodeId::new(from))
        .into_iter()
        .map(NodeId::index)
        .filter(|&n| n != from)
        .collect()
}

/// One worker's stealing plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VictimOrder {
    /// Other workers of the same node (the search starts at a random one of them).
    pub(crate) siblings: Vec<usize>,
    /// Other nodes, nearest first, each with its workers.
    pub(crate) remote: Vec<(usize, Vec<usize>)>,
}

/// The stealing plan of `worker`, given each worker's node (`nodes_of[w]`).
pub(crate) fn victim_order(topology: &Topology, nodes_of: &[usize], worker: usize) -> VictimOrder {
    let home = nodes_of[worker];
    let workers_of = |node: usize| -> Vec<usize> {
        (0..nodes_of.len())
            .filter(|&w| nodes_of[w] == node && w != worker)
            .collect()
    };
    VictimOrder {
        siblings: workers_of(home),
        remote: other_nodes_by_distance(topology, home)
            .into_iter()
            .map(|n| (n, workers_of(n)))
            .collect(),
    }
}

/// For each node, the nodes to wake a parked worker on: itself, then the others nearest first.
pub(crate) fn wake_order(topology: &Topology) -> Vec<Vec<usize>> {
    (0..topology.num_nodes())
        .map(|n| {
            std::iter::once(n)
                .chain(other_nodes_by_distance(topology, n))
                .collect()
        })
        .collect()
}

/// The nodes that have at least one worker, in increasing order (`nodes_of[w]`: worker `w`'s node).
pub(crate) fn staffed_nodes(nodes_of: &[usize]) -> Vec<usize> {
    let mut nodes = nodes_of.to_vec();
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes_of(topology: &Topology, workers: usize) -> Vec<usize> {
        assign_workers(topology, workers)
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    #[test]
    fn workers_are_spread_contiguously_over_nodes() {
        let t = Topology::synthetic(2, 4).unwrap();
        assert_eq!(nodes_of(&t, 8), vec![0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(nodes_of(&t, 4), vec![0, 0, 1, 1]);
        assert_eq!(nodes_of(&t, 3), vec![0, 0, 1]);
        assert_eq!(nodes_of(&t, 1), vec![0]);
        // More workers than CPUs: still balanced, CPUs reused round-robin within the node.
        let a = assign_workers(&t, 10);
        assert_eq!(a.iter().filter(|(n, _)| *n == 0).count(), 5);
        assert_eq!(a[4], (0, 0));
    }

    #[test]
    fn worker_of_node_0_tries_its_siblings_before_node_1() {
        let t = Topology::synthetic(2, 4).unwrap();
        let nodes = nodes_of(&t, 8);
        let plan = victim_order(&t, &nodes, 1);
        assert_eq!(plan.siblings, vec![0, 2, 3]);
        assert_eq!(plan.remote, vec![(1, vec![4, 5, 6, 7])]);
        let plan = victim_order(&t, &nodes, 6);
        assert_eq!(plan.siblings, vec![4, 5, 7]);
        assert_eq!(plan.remote, vec![(0, vec![0, 1, 2, 3])]);
    }

    #[test]
    fn remote_nodes_are_visited_by_increasing_distance() {
        // Synthetic distances grow with the index gap: from node 2, nodes 1 and 3 (tie, by index)
        // come before 0.
        let t = Topology::synthetic(4, 1).unwrap();
        let nodes = nodes_of(&t, 4);
        let plan = victim_order(&t, &nodes, 2);
        assert!(plan.siblings.is_empty());
        let order: Vec<usize> = plan.remote.iter().map(|(n, _)| *n).collect();
        assert_eq!(order, vec![1, 3, 0]);
        assert_eq!(wake_order(&t)[2], vec![2, 1, 3, 0]);
    }

    #[test]
    fn explicit_distances_are_respected() {
        let t = Topology::from_parts(
            vec![vec![0], vec![1], vec![2]],
            vec![vec![10, 30, 15], vec![30, 10, 12], vec![15, 12, 10]],
            crate::topology::TopologySource::Synthetic,
        )
        .unwrap();
        let plan = victim_order(&t, &[0, 1, 2], 0);
        let order: Vec<usize> = plan.remote.iter().map(|(n, _)| *n).collect();
        assert_eq!(order, vec![2, 1]);
    }

    #[test]
    fn staffed_nodes_skip_nodes_without_workers() {
        let t = Topology::synthetic(4, 2).unwrap();
        // Three workers on four nodes of two CPUs: one each on nodes 0, 1 and 2 (equal remainders
        // go to the lower index), none on node 3.
        assert_eq!(staffed_nodes(&nodes_of(&t, 3)), vec![0, 1, 2]);
        assert_eq!(staffed_nodes(&nodes_of(&t, 8)), vec![0, 1, 2, 3]);
        assert_eq!(staffed_nodes(&nodes_of(&t, 1)), vec![0]);
        assert_eq!(staffed_nodes(&[3, 1, 1, 3]), vec![1, 3]);
    }
}
