//! Machine topology: NUMA nodes, the CPUs of each node, and the distances between nodes.
//!
//! A [`Topology`] is what the scheduler groups its workers by: one worker group per [`Node`], and
//! work stealing that visits other nodes in [`Topology::nodes_by_distance`] order. Every source of
//! topology information yields the same type:
//!
//! 1. an explicit spec such as `"2x4"` (two nodes of four workers each) parsed with
//!    [`str::parse`], or built with [`Topology::synthetic`] — for tests and for simulating a NUMA
//!    machine on a small one;
//! 2. the `MOIRAI_TOPOLOGY` environment variable, holding such a spec (see [`Topology::detect`]);
//! 3. hwloc, with the `hwloc` feature;
//! 4. Linux sysfs (`/sys/devices/system/node`);
//! 5. one node holding [`std::thread::available_parallelism`] CPUs.
//!
//! Distances follow the ACPI SLIT convention: `10` means local, and larger values mean further away
//! (`20` is typically "one hop", i.e. about twice the local latency).
//!
//! A malformed spec or an inconsistent description is a [`BuildError::InvalidTopology`], never a
//! panic.

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::error::BuildError;

#[cfg(feature = "hwloc")]
mod hwloc;
mod spec;
mod sysfs;

pub use sysfs::{allowed_cpus, format_cpulist, parse_cpulist, parse_distance_line};

/// The environment variable [`Topology::detect`] reads a spec such as `2x4` from.
pub const TOPOLOGY_ENV: &str = "MOIRAI_TOPOLOGY";

/// The SLIT distance of a node to itself.
pub const LOCAL_DISTANCE: u32 = 10;

/// The SLIT distance between adjacent nodes when no better information is available.
pub const REMOTE_DISTANCE: u32 = 20;

/// The index of a NUMA node within a [`Topology`] (dense: `0..num_nodes`).
///
/// This is Moirai's own numbering, not necessarily the operating system's: nodes without CPUs are
/// skipped and the remaining ones renumbered densely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(usize);

impl NodeId {
    /// The node with this index.
    pub const fn new(index: usize) -> NodeId {
        NodeId(index)
    }

    /// This node's index, in `0..num_nodes`.
    pub const fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node{}", self.0)
    }
}

/// Where a [`Topology`] came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopologySource {
    /// Built by the program: [`Topology::synthetic`], [`Topology::single_node`], or a spec parsed
    /// with [`str::parse`].
    Synthetic,
    /// A spec read from the `MOIRAI_TOPOLOGY` environment variable.
    Environment,
    /// Detected through hwloc (feature `hwloc`).
    Hwloc,
    /// Read from Linux sysfs (`/sys/devices/system/node`).
    Sysfs,
    /// Nothing better was available: one node of `available_parallelism` CPUs.
    Fallback,
}

impl fmt::Display for TopologySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TopologySource::Synthetic => "synthetic",
            TopologySource::Environment => "environment",
            TopologySource::Hwloc => "hwloc",
            TopologySource::Sysfs => "sysfs",
            TopologySource::Fallback => "fallback",
        })
    }
}

/// One NUMA node: its id and the CPUs that belong to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    id: NodeId,
    cpus: Vec<usize>,
}

impl Node {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's CPUs (operating-system CPU numbers), sorted ascending, never empty.
    ///
    /// For a synthetic topology these are virtual numbers; pinning maps them onto real CPUs modulo
    /// the machine's CPU count.
    pub fn cpus(&self) -> &[usize] {
        &self.cpus
    }
}

/// The machine's NUMA nodes, their CPUs, and the node distance matrix.
///
/// Invariants (checked by every constructor): at least one node; every node has at least one CPU;
/// no CPU belongs to two nodes; the distance matrix is square with one row per node, and no node is
/// further from itself than from any other node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    nodes: Vec<Node>,
    /// Row-major, `nodes.len()` rows of `nodes.len()` entries: `distances[a][b]` is the distance
    /// from node `a` to node `b`.
    distances: Vec<Vec<u32>>,
    source: TopologySource,
}

impl Topology {
    /// Detects the topology to use.
    ///
    /// In order: the `MOIRAI_TOPOLOGY` environment variable if it is set and not blank (parsed
    /// like [`FromStr`]; a malformed value is an error, not silently ignored), else hwloc (feature
    /// `hwloc`), else Linux sysfs, else one node holding
    /// [`available_parallelism`](std::thread::available_parallelism) CPUs. A failing hardware
    /// source falls through to the next one, so only a bad `MOIRAI_TOPOLOGY` makes this fail.
    pub fn detect() -> Result<Topology, BuildError> {
        let env = std::env::var_os(TOPOLOGY_ENV);
        detect_with(
            env.as_deref(),
            Path::new(sysfs::SYSFS_ROOT),
            sysfs::allowed_cpus().as_deref(),
            hwloc_detect,
        )
    }

    /// `nodes` nodes of `workers_per_node` CPUs each.
    ///
    /// CPUs are numbered `0..nodes * workers_per_node`, node by node (these are virtual: pinning
    /// maps them onto the real CPUs modulo the real CPU count). The distance between nodes `a` and
    /// `b` is `10` if `a == b` and `20 + (|a - b| - 1)` otherwise, so that nodes further apart in
    /// index are further apart.
    ///
    /// # Errors
    /// [`BuildError::InvalidTopology`] if either count is 0 or the topology would be unreasonably
    /// large (more than [`MAX_SYNTHETIC_NODES`] nodes or [`MAX_SYNTHETIC_CPUS`] CPUs).
    pub fn synthetic(nodes: usize, workers_per_node: usize) -> Result<Topology, BuildError> {
        let spec = format!("{nodes}x{workers_per_node}");
        spec::check_counts(nodes, workers_per_node).map_err(|reason| invalid(&spec, reason))?;
        let node_cpus = (0..nodes)
            .map(|n| (n * workers_per_node..(n + 1) * workers_per_node).collect())
            .collect();
        let distances = (0..nodes)
            .map(|a| (0..nodes).map(|b| synthetic_distance(a, b)).collect())
            .collect();
        Topology::from_parts(node_cpus, distances, TopologySource::Synthetic)
    }

    /// One node holding these CPUs (source [`TopologySource::Synthetic`]).
    ///
    /// # Errors
    /// [`BuildError::InvalidTopology`] if `cpus` is empty or lists a CPU twice.
    pub fn single_node(cpus: Vec<usize>) -> Result<Topology, BuildError> {
        Topology::from_parts(
            vec![cpus],
            vec![vec![LOCAL_DISTANCE]],
            TopologySource::Synthetic,
        )
    }

    /// Builds a topology from per-node CPU lists and a distance matrix, validating them.
    ///
    /// `nodes[i]` becomes [`NodeId::new(i)`](NodeId::new); its CPUs are sorted. `distances[a][b]`
    /// is the distance from node `a` to node `b`. This is the constructor the detectors use, and
    /// the one to use in tests that need an irregular machine.
    ///
    /// # Errors
    /// [`BuildError::InvalidTopology`] if there are no nodes, a node has no CPUs, a CPU appears
    /// twice, the matrix is not `nodes.len()` × `nodes.len()`, or some node's distance to itself
    /// is greater than its distance to another node.
    pub fn from_parts(
        nodes: Vec<Vec<usize>>,
        distances: Vec<Vec<u32>>,
        source: TopologySource,
    ) -> Result<Topology, BuildError> {
        let describe = || {
            let lists: Vec<String> = nodes.iter().map(|cpus| format_cpulist(cpus)).collect();
            format!("{source} topology with node CPUs [{}]", lists.join("] ["))
        };
        let fail = |reason: String| invalid(&describe(), reason);
        if nodes.is_empty() {
            return Err(fail("a topology needs at least one node".to_owned()));
        }
        let mut seen = std::collections::HashMap::new();
        for (index, cpus) in nodes.iter().enumerate() {
            if cpus.is_empty() {
                return Err(fail(format!("node{index} has no CPUs")));
            }
            for &cpu in cpus {
                if let Some(first) = seen.insert(cpu, index) {
                    return Err(fail(format!(
                        "CPU {cpu} is listed twice (in node{first} and node{index})"
                    )));
                }
            }
        }
        let n = nodes.len();
        if distances.len() != n {
            return Err(fail(format!(
                "the distance matrix has {} rows for {n} nodes",
                distances.len()
            )));
        }
        for (a, row) in distances.iter().enumerate() {
            if row.len() != n {
                return Err(fail(format!(
                    "row {a} of the distance matrix has {} entries for {n} nodes",
                    row.len()
                )));
            }
            for (b, &d) in row.iter().enumerate() {
                if d < row[a] {
                    return Err(fail(format!(
                        "node{a} is further from itself ({}) than from node{b} ({d})",
                        row[a]
                    )));
                }
            }
        }
        let nodes = nodes
            .into_iter()
            .enumerate()
            .map(|(index, mut cpus)| {
                cpus.sort_unstable();
                Node {
                    id: NodeId(index),
                    cpus,
                }
            })
            .collect();
        Ok(Topology {
            nodes,
            distances,
            source,
        })
    }

    /// The number of nodes (at least 1).
    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// All nodes, in [`NodeId`] order (`nodes()[i].id().index() == i`).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node with this id, or `None` if it is out of range.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// The total number of CPUs over all nodes.
    pub fn num_cpus(&self) -> usize {
        self.nodes.iter().map(|n| n.cpus.len()).sum()
    }

    /// The SLIT-style distance from node `a` to node `b` (`10` when `a == b` on real machines).
    ///
    /// # Panics
    /// If `a` or `b` is not a node of this topology (index `>= num_nodes()`).
    pub fn distance(&self, a: NodeId, b: NodeId) -> u32 {
        let n = self.nodes.len();
        assert!(
            a.0 < n && b.0 < n,
            "Topology::distance({a}, {b}) on a topology of {n} node(s)"
        );
        self.distances[a.0][b.0]
    }

    /// Where this topology came from.
    pub fn source(&self) -> &TopologySource {
        &self.source
    }

    /// The other nodes (not `from` itself), nearest first; equally distant nodes by index.
    ///
    /// # Panics
    /// If `from` is not a node of this topology.
    pub fn nodes_by_distance(&self, from: NodeId) -> Vec<NodeId> {
        let n = self.nodes.len();
        assert!(
            from.0 < n,
            "Topology::nodes_by_distance({from}) on a topology of {n} node(s)"
        );
        let row = &self.distances[from.0];
        let mut others: Vec<NodeId> = (0..n).filter(|&i| i != from.0).map(NodeId).collect();
        others.sort_by_key(|id| (row[id.0], id.0));
        others
    }

    /// The same topology with a different [`source`](Self::source).
    pub(crate) fn with_source(mut self, source: TopologySource) -> Topology {
        self.source = source;
        self
    }

    /// One node of `available_parallelism` CPUs, numbered from 0.
    fn fallback() -> Topology {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Topology::single_node((0..cpus).collect())
            .expect("a non-empty range of distinct CPUs is a valid node")
            .with_source(TopologySource::Fallback)
    }
}

/// The largest node count a spec or [`Topology::synthetic`] accepts.
pub const MAX_SYNTHETIC_NODES: usize = spec::MAX_NODES;

/// The largest total CPU count a spec or [`Topology::synthetic`] accepts.
pub const MAX_SYNTHETIC_CPUS: usize = spec::MAX_CPUS;

/// `10` on the diagonal, `20 + (|a - b| - 1)` off it.
fn synthetic_distance(a: usize, b: usize) -> u32 {
    if a == b {
        LOCAL_DISTANCE
    } else {
        // Node counts are capped at MAX_SYNTHETIC_NODES, far below u32::MAX - 20.
        let gap = u32::try_from(a.abs_diff(b)).expect("node count is capped");
        REMOTE_DISTANCE + gap - 1
    }
}

fn invalid(spec: &str, reason: String) -> BuildError {
    BuildError::InvalidTopology {
        spec: spec.to_owned(),
        reason,
    }
}

/// A matrix with `LOCAL_DISTANCE` on the diagonal and `REMOTE_DISTANCE` elsewhere, for sources
/// that know the nodes but not their distances.
fn default_distances(n: usize) -> Vec<Vec<u32>> {
    (0..n)
        .map(|a| {
            (0..n)
                .map(|b| {
                    if a == b {
                        LOCAL_DISTANCE
                    } else {
                        REMOTE_DISTANCE
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(feature = "hwloc")]
fn hwloc_detect() -> Option<Topology> {
    hwloc::detect().ok()
}

#[cfg(not(feature = "hwloc"))]
fn hwloc_detect() -> Option<Topology> {
    None
}

/// [`Topology::detect`] with its inputs made explicit, for tests: the value of `MOIRAI_TOPOLOGY`,
/// the sysfs root, the CPUs the process may use, and the hwloc detector.
fn detect_with(
    env: Option<&OsStr>,
    sysfs_root: &Path,
    allowed_cpus: Option<&[usize]>,
    hwloc: impl FnOnce() -> Option<Topology>,
) -> Result<Topology, BuildError> {
    if let Some(value) = env {
        let Some(text) = value.to_str() else {
            return Err(invalid(
                &value.to_string_lossy(),
                format!("{TOPOLOGY_ENV} is not valid UTF-8"),
            ));
        };
        if !text.trim().is_empty() {
            return text
                .parse::<Topology>()
                .map(|t| t.with_source(TopologySource::Environment))
                .map_err(|e| match e {
                    BuildError::InvalidTopology { spec, reason } => BuildError::InvalidTopology {
                        spec,
                        reason: format!("{reason} (from {TOPOLOGY_ENV})"),
                    },
                    other => other,
                });
        }
    }
    if let Some(topology) = hwloc() {
        return Ok(topology);
    }
    if cfg!(target_os = "linux") {
        if let Ok(topology) = sysfs::read_topology(sysfs_root, allowed_cpus) {
            return Ok(topology);
        }
    }
    Ok(Topology::fallback())
}

impl FromStr for Topology {
    type Err = BuildError;

    /// Parses `NODESxWORKERS` (e.g. `"2x4"`, `"1X8"`; surrounding whitespace is ignored) into
    /// [`Topology::synthetic`]`(NODES, WORKERS)`.
    fn from_str(s: &str) -> Result<Topology, BuildError> {
        let (nodes, per_node) = spec::parse(s).map_err(|reason| invalid(s, reason))?;
        Topology::synthetic(nodes, per_node)
    }
}

impl fmt::Display for Topology {
    /// For example `2 nodes (synthetic): node0 cpus [0-3], node1 cpus [4-7]; distances
    /// [[10,20],[20,10]]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.nodes.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(f, "{n} node{plural} ({}): ", self.source)?;
        for (i, node) in self.nodes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} cpus [{}]", node.id, format_cpulist(&node.cpus))?;
        }
        f.write_str("; distances [")?;
        for (a, row) in self.distances.iter().enumerate() {
            if a > 0 {
                f.write_str(",")?;
            }
            f.write_str("[")?;
            for (b, d) in row.iter().enumerate() {
                if b > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{d}")?;
            }
            f.write_str("]")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests;
