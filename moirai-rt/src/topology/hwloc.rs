//! Topology detection through hwloc (feature `hwloc`), using the `hwlocality` bindings.
//!
//! hwloc knows more machines than Linux sysfs does and already restricts itself to the CPUs this
//! process may use. NUMA nodes without CPUs are skipped, as in the sysfs reader, and distances come
//! from the first latency matrix hwloc has that covers every remaining node; without one, nodes get
//! the default 10 local / 20 remote distances. Any failure is reported as an error string, and
//! [`Topology::detect`](super::Topology::detect) then falls back to sysfs.

use hwlocality::object::distance::DistancesKind;
use hwlocality::object::types::ObjectType;
use hwlocality::object::TopologyObject;

use super::{default_distances, Topology, TopologySource};

/// Asks hwloc for the NUMA nodes with CPUs and their distances.
pub(super) fn detect() -> Result<Topology, String> {
    let hw = hwlocality::Topology::new().map_err(|e| format!("hwloc failed to start: {e}"))?;
    let nodes: Vec<(&TopologyObject, Vec<usize>)> = hw
        .objects_with_type(ObjectType::NUMANode)
        .filter_map(|node| {
            let cpus: Vec<usize> = node.cpuset()?.iter_set().map(usize::from).collect();
            (!cpus.is_empty()).then_some((node, cpus))
        })
        .collect();
    if nodes.is_empty() {
        return Err("hwloc reported no NUMA node with CPUs".to_owned());
    }
    let matrices = hw
        .distances_with_type(Some(DistancesKind::MEANS_LATENCY), ObjectType::NUMANode)
        .unwrap_or_default();
    let distances = matrices
        .iter()
        .find_map(|matrix| {
            nodes
                .iter()
                .map(|&(a, _)| {
                    nodes
                        .iter()
                        .map(|&(b, _)| {
                            let (a_to_b, _) = matrix.object_pair_distance((a, b))?;
                            u32::try_from(a_to_b).ok()
                        })
                        .collect::<Option<Vec<u32>>>()
                })
                .collect::<Option<Vec<Vec<u32>>>>()
        })
        .unwrap_or_else(|| default_distances(nodes.len()));
    let cpus = nodes.into_iter().map(|(_, cpus)| cpus).collect();
    Topology::from_parts(cpus, distances, TopologySource::Hwloc).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hwloc_finds_this_machines_cpus() {
        let t = detect().expect("hwloc should work on the test machine");
        assert_eq!(t.source(), &TopologySource::Hwloc);
        assert!(t.num_nodes() >= 1);
        // hwloc restricts itself to the CPUs this process may run on, as Linux reports them.
        if let Some(allowed) = super::super::sysfs::allowed_cpus() {
            for node in t.nodes() {
                for cpu in node.cpus() {
                    assert!(allowed.contains(cpu), "CPU {cpu} of {t} is not allowed");
                }
            }
        }
        for node in t.nodes() {
            assert!(!node.cpus().is_empty());
        }
    }
}
