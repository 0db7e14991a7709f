//! Machine topology (temporary stub until the real module lands).
use crate::BuildError;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(usize);
impl NodeId {
    pub const fn new(index: usize) -> NodeId { NodeId(index) }
    pub const fn index(self) -> usize { self.0 }
}
impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "node{}", self.0) }
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopologySource { Synthetic, Environment, Hwloc, Sysfs, Fallback }
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node { id: NodeId, cpus: Vec<usize> }
impl Node {
    pub fn id(&self) -> NodeId { self.id }
    pub fn cpus(&self) -> &[usize] { &self.cpus }
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology { nodes: Vec<Node>, distances: Vec<Vec<u32>>, source: TopologySource }
impl Topology {
    pub fn detect() -> Result<Topology, BuildError> {
        if let Ok(s) = std::env::var("MOIRAI_TOPOLOGY") { return s.parse(); }
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        Topology::from_parts(vec![(0..n).collect()], vec![vec![10]], TopologySource::Fallback)
    }
    pub fn synthetic(nodes: usize, per: usize) -> Result<Topology, BuildError> {
        if nodes == 0 || per == 0 { return Err(BuildError::InvalidTopology { spec: format!("{nodes}x{per}"), reason: "zero".into() }); }
        let cpus = (0..nodes).map(|n| (n * per..(n + 1) * per).collect()).collect();
        let d = (0..nodes).map(|a| (0..nodes).map(|b: usize| if a == b { 10 } else { 20 + (a.abs_diff(b) as u32 - 1) }).collect()).collect();
        Topology::from_parts(cpus, d, TopologySource::Synthetic)
    }
    pub fn from_parts(nodes: Vec<Vec<usize>>, distances: Vec<Vec<u32>>, source: TopologySource) -> Result<Topology, BuildError> {
        Ok(Topology { nodes: nodes.into_iter().enumerate().map(|(i, cpus)| Node { id: NodeId(i), cpus }).collect(), distances, source })
    }
    pub fn num_nodes(&self) -> usize { self.nodes.len() }
    pub fn nodes(&self) -> &[Node] { &self.nodes }
    pub fn num_cpus(&self) -> usize { self.nodes.iter().map(|n| n.cpus.len()).sum() }
    pub fn distance(&self, a: NodeId, b: NodeId) -> u32 { self.distances[a.0][b.0] }
    pub fn source(&self) -> &TopologySource { &self.source }
    pub fn nodes_by_distance(&self, from: NodeId) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = (0..self.nodes.len()).filter(|&n| n != from.0).map(NodeId).collect();
        v.sort_by_key(|&n| (self.distance(from, n), n.0));
        v
    }
}
impl FromStr for Topology {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<Self, BuildError> {
        let err = || BuildError::InvalidTopology { spec: s.into(), reason: "expected NxM".into() };
        let (a, b) = s.trim().split_once(['x', 'X']).ok_or_else(err)?;
        Topology::synthetic(a.parse().map_err(|_| err())?, b.parse().map_err(|_| err())?)
    }
}
impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "{:?}", self.nodes) }
}
