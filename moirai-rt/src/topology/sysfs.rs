//! Reading the NUMA topology from Linux sysfs, and the pure parsers it is built on.
//!
//! Linux describes node `N` in `/sys/devices/system/node/nodeN/`: `cpulist` holds its CPUs in the
//! kernel's list format (`0-3,8-11`), and `distance` one line of SLIT distances to every node, in
//! node-number order (`10 21`). Nodes without CPUs (memory-only nodes such as CXL memory or
//! persistent memory) get no workers, so they are skipped, the remaining nodes are renumbered
//! densely, and the distance matrix is remapped to match. CPUs the process may not run on
//! (`Cpus_allowed_list` in `/proc/self/status`, e.g. under a cpuset cgroup or `taskset`) are left
//! out as well.

use std::fs;
use std::path::Path;

use super::{default_distances, Topology, TopologySource};

/// Where Linux describes NUMA nodes.
pub(crate) const SYSFS_ROOT: &str = "/sys/devices/system/node";

/// Where Linux describes the calling process, including the CPUs it may run on.
pub(crate) const PROC_SELF_STATUS: &str = "/proc/self/status";

/// CPU numbers at or above this are rejected as corrupt (Linux supports at most 8192 CPUs today).
const MAX_CPU_NUMBER: usize = 1 << 20;

/// Parses a kernel CPU list such as `"0-3,8-11"` or `"0,2,4"` into CPU numbers, in the order
/// given.
///
/// Surrounding whitespace (the trailing newline of a sysfs file) is ignored; an empty list (a
/// memory-only node) yields an empty vector.
///
/// # Errors
/// A message naming the offending element if an element is not a number or `LOW-HIGH` range with
/// `LOW <= HIGH`, or a CPU number is implausibly large (at least 2^20).
pub fn parse_cpulist(text: &str) -> Result<Vec<usize>, String> {
    let text = text.trim();
    let mut cpus = Vec::new();
    if text.is_empty() {
        return Ok(cpus);
    }
    for element in text.split(',') {
        let element = element.trim();
        let (low, high) = match element.split_once('-') {
            Some((low, high)) => (cpu_number(low, element)?, cpu_number(high, element)?),
            None => {
                let cpu = cpu_number(element, element)?;
                (cpu, cpu)
            }
        };
        if low > high {
            return Err(format!("CPU range {element:?} runs backwards"));
        }
        cpus.extend(low..=high);
    }
    Ok(cpus)
}

fn cpu_number(text: &str, element: &str) -> Result<usize, String> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{element:?} is not a CPU number or LOW-HIGH range"));
    }
    match text.parse::<usize>() {
        Ok(cpu) if cpu < MAX_CPU_NUMBER => Ok(cpu),
        _ => Err(format!(
            "CPU number {text} in {element:?} is implausibly large"
        )),
    }
}

/// Formats CPU numbers in the kernel's list format, collapsing runs: `[0, 1, 2, 3, 8]` becomes
/// `"0-3,8"`. The input need not be sorted; duplicates are ignored. The inverse of
/// [`parse_cpulist`] up to order and duplicates.
pub fn format_cpulist(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}

/// Parses one sysfs `distance` line such as `"10 21"` into distances.
///
/// # Errors
/// A message naming the offending field if the line is empty or a field is not a `u32`.
pub fn parse_distance_line(text: &str) -> Result<Vec<u32>, String> {
    let distances = text
        .split_whitespace()
        .map(|field| {
            field
                .parse::<u32>()
                .map_err(|_| format!("distance {field:?} is not a non-negative integer"))
        })
        .collect::<Result<Vec<u32>, String>>()?;
    if distances.is_empty() {
        return Err("the distance line is empty".to_owned());
    }
    Ok(distances)
}

/// Extracts the CPUs the process may run on from the text of `/proc/self/status`
/// (its `Cpus_allowed_list:` line). `None` if there is no such line or it does not parse.
pub(crate) fn parse_allowed_cpus(status: &str) -> Option<Vec<usize>> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .and_then(|list| parse_cpulist(list).ok())
        .filter(|cpus| !cpus.is_empty())
}

/// The CPUs this process may run on (the `Cpus_allowed_list` of `/proc/self/status`), if Linux
/// says; real CPU numbers, in increasing order.
pub fn allowed_cpus() -> Option<Vec<usize>> {
    parse_allowed_cpus(&fs::read_to_string(PROC_SELF_STATUS).ok()?)
}

/// One `nodeN` directory as read: its kernel node number, CPUs, and distance line (if readable).
struct RawNode {
    number: usize,
    cpus: Vec<usize>,
    distances: Option<Vec<u32>>,
}

/// Reads the topology under `root` (normally [`SYSFS_ROOT`]), keeping only the CPUs in `allowed`
/// if given.
///
/// # Errors
/// A message if `root` cannot be listed, a `cpulist` cannot be read or parsed, or no node has an
/// (allowed) CPU. Missing or inconsistent `distance` files are not errors: the nodes are kept with
/// default distances (10 local, 20 remote).
pub(crate) fn read_topology(root: &Path, allowed: Option<&[usize]>) -> Result<Topology, String> {
    let entries = fs::read_dir(root).map_err(|e| format!("cannot list {}: {e}", root.display()))?;
    let mut raw = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", root.display()))?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_prefix("node"))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let cpulist_path = dir.join("cpulist");
        let cpulist = fs::read_to_string(&cpulist_path)
            .map_err(|e| format!("cannot read {}: {e}", cpulist_path.display()))?;
        let cpus =
            parse_cpulist(&cpulist).map_err(|e| format!("bad {}: {e}", cpulist_path.display()))?;
        let distances = fs::read_to_string(dir.join("distance"))
            .ok()
            .and_then(|line| parse_distance_line(&line).ok());
        raw.push(RawNode {
            number,
            cpus,
            distances,
        });
    }
    raw.sort_by_key(|node| node.number);
    build(raw, allowed)
}

/// Drops CPU-less nodes (after applying `allowed`), renumbers densely and remaps distances.
fn build(raw: Vec<RawNode>, allowed: Option<&[usize]>) -> Result<Topology, String> {
    let total = raw.len();
    // Column `j` of a distance line is the `j`-th node in node-number order, which is `raw[j]`.
    let kept: Vec<(usize, Vec<usize>)> = raw
        .iter()
        .enumerate()
        .map(|(position, node)| {
            let cpus = match allowed {
                Some(allowed) => node
                    .cpus
                    .iter()
                    .copied()
                    .filter(|cpu| allowed.contains(cpu))
                    .collect(),
                None => node.cpus.clone(),
            };
            (position, cpus)
        })
        .filter(|(_, cpus)| !cpus.is_empty())
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "none of the {total} node(s) has a CPU this process may use"
        ));
    }
    let remapped: Option<Vec<Vec<u32>>> = kept
        .iter()
        .map(|&(row, _)| {
            let line = raw[row].distances.as_ref().filter(|l| l.len() == total)?;
            Some(kept.iter().map(|&(column, _)| line[column]).collect())
        })
        .collect();
    let distances = remapped.unwrap_or_else(|| default_distances(kept.len()));
    let nodes = kept.into_iter().map(|(_, cpus)| cpus).collect();
    Topology::from_parts(nodes, distances, TopologySource::Sysfs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::NodeId;
    use std::path::PathBuf;

    #[test]
    fn parses_cpulists() {
        assert_eq!(
            parse_cpulist("0-3,8-11\n"),
            Ok(vec![0, 1, 2, 3, 8, 9, 10, 11])
        );
        assert_eq!(parse_cpulist("0,2,4"), Ok(vec![0, 2, 4]));
        assert_eq!(parse_cpulist("5"), Ok(vec![5]));
        assert_eq!(parse_cpulist("7-7"), Ok(vec![7]));
        assert_eq!(parse_cpulist(""), Ok(vec![]));
        assert_eq!(parse_cpulist("\n"), Ok(vec![]));
        assert_eq!(parse_cpulist(" 1 - 2 , 4 "), Ok(vec![1, 2, 4]));
    }

    #[test]
    fn rejects_bad_cpulists() {
        assert!(parse_cpulist("3-1").unwrap_err().contains("backwards"));
        assert!(parse_cpulist("a").unwrap_err().contains("\"a\""));
        assert!(parse_cpulist("0-").unwrap_err().contains("\"0-\""));
        assert!(parse_cpulist("0,,1").is_err());
        assert!(parse_cpulist("-1").is_err());
        assert!(parse_cpulist("0-3:2").is_err());
        assert!(parse_cpulist("0-99999999999")
            .unwrap_err()
            .contains("implausibly large"));
    }

    #[test]
    fn formats_cpulists() {
        assert_eq!(format_cpulist(&[0, 1, 2, 3, 8, 9, 10, 11]), "0-3,8-11");
        assert_eq!(format_cpulist(&[4, 0, 2]), "0,2,4");
        assert_eq!(format_cpulist(&[1, 1, 2]), "1-2");
        assert_eq!(format_cpulist(&[5]), "5");
        assert_eq!(format_cpulist(&[]), "");
        for list in ["0-3,8-11", "0,2,4-6", "17"] {
            assert_eq!(format_cpulist(&parse_cpulist(list).unwrap()), list);
        }
    }

    #[test]
    fn parses_distance_lines() {
        assert_eq!(parse_distance_line("10 21\n"), Ok(vec![10, 21]));
        assert_eq!(parse_distance_line("10"), Ok(vec![10]));
        assert_eq!(parse_distance_line("  10   21  31 "), Ok(vec![10, 21, 31]));
        assert!(parse_distance_line("").unwrap_err().contains("empty"));
        assert!(parse_distance_line("10 x").unwrap_err().contains("\"x\""));
        assert!(parse_distance_line("10 -1").is_err());
        assert!(parse_distance_line("10 99999999999").is_err());
    }

    #[test]
    fn parses_allowed_cpus_from_proc_status() {
        let status = "Name:\tcat\nCpus_allowed:\tf\nCpus_allowed_list:\t0-1,3\nMems_allowed:\t1\n";
        assert_eq!(parse_allowed_cpus(status), Some(vec![0, 1, 3]));
        assert_eq!(parse_allowed_cpus("Name:\tcat\n"), None);
        assert_eq!(parse_allowed_cpus("Cpus_allowed_list:\tjunk\n"), None);
    }

    /// A scratch directory tree that is removed when dropped.
    struct FakeSysfs(PathBuf);

    impl FakeSysfs {
        fn new(test: &str) -> FakeSysfs {
            let dir = std::env::temp_dir().join(format!(
                "moirai-sysfs-{test}-{}-{}",
                std::process::id(),
                fastrand::u64(..)
            ));
            fs::create_dir_all(&dir).unwrap();
            FakeSysfs(dir)
        }

        fn node(&self, number: usize, cpulist: &str, distance: Option<&str>) -> &FakeSysfs {
            let dir = self.0.join(format!("node{number}"));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("cpulist"), cpulist).unwrap();
            if let Some(distance) = distance {
                fs::write(dir.join("distance"), distance).unwrap();
            }
            self
        }
    }

    impl Drop for FakeSysfs {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn reads_a_two_node_machine() {
        let sys = FakeSysfs::new("two");
        sys.node(0, "0-3\n", Some("10 21\n"))
            .node(1, "4-7\n", Some("21 10\n"));
        // Files that are not node directories are ignored.
        fs::write(sys.0.join("online"), "0-1\n").unwrap();
        fs::create_dir_all(sys.0.join("nodefoo")).unwrap();
        let t = read_topology(&sys.0, None).unwrap();
        assert_eq!(t.source(), &TopologySource::Sysfs);
        assert_eq!(t.num_nodes(), 2);
        assert_eq!(t.nodes()[0].cpus(), &[0, 1, 2, 3]);
        assert_eq!(t.nodes()[1].cpus(), &[4, 5, 6, 7]);
        assert_eq!(t.distance(NodeId::new(0), NodeId::new(1)), 21);
        assert_eq!(t.distance(NodeId::new(1), NodeId::new(1)), 10);
    }

    #[test]
    fn orders_nodes_numerically_not_lexically() {
        let sys = FakeSysfs::new("order");
        let line = |own: usize| {
            (0..11)
                .map(|j| if j == own { "10" } else { "20" })
                .collect::<Vec<_>>()
                .join(" ")
        };
        for n in 0..11 {
            sys.node(n, &n.to_string(), Some(&line(n)));
        }
        let t = read_topology(&sys.0, None).unwrap();
        let firsts: Vec<usize> = t.nodes().iter().map(|n| n.cpus()[0]).collect();
        assert_eq!(firsts, (0..11).collect::<Vec<_>>());
    }

    #[test]
    fn skips_memory_only_nodes_and_remaps_distances() {
        let sys = FakeSysfs::new("memonly");
        sys.node(0, "0-1\n", Some("10 30 20\n"))
            .node(1, "\n", Some("30 10 40\n"))
            .node(2, "2-3\n", Some("20 40 10\n"));
        let t = read_topology(&sys.0, None).unwrap();
        assert_eq!(t.num_nodes(), 2);
        assert_eq!(t.nodes()[1].id(), NodeId::new(1));
        assert_eq!(t.nodes()[1].cpus(), &[2, 3]);
        // Kernel node 2 is now node1; its distance to kernel node 0 is 20, not node1's 30.
        assert_eq!(t.distance(NodeId::new(0), NodeId::new(1)), 20);
        assert_eq!(t.distance(NodeId::new(1), NodeId::new(0)), 20);
        assert_eq!(t.distance(NodeId::new(1), NodeId::new(1)), 10);
    }

    #[test]
    fn keeps_only_allowed_cpus() {
        let sys = FakeSysfs::new("allowed");
        sys.node(0, "0-3", Some("10 20"))
            .node(1, "4-7", Some("20 10"));
        let t = read_topology(&sys.0, Some(&[1, 2])).unwrap();
        assert_eq!(t.num_nodes(), 1);
        assert_eq!(t.nodes()[0].cpus(), &[1, 2]);
        assert_eq!(t.distance(NodeId::new(0), NodeId::new(0)), 10);
        let err = read_topology(&sys.0, Some(&[100])).unwrap_err();
        assert!(err.contains("none of the 2 node(s)"), "{err}");
    }

    #[test]
    fn missing_or_inconsistent_distances_fall_back_to_defaults() {
        let sys = FakeSysfs::new("nodist");
        sys.node(0, "0", None).node(1, "1", Some("20 10"));
        let t = read_topology(&sys.0, None).unwrap();
        assert_eq!(t.distance(NodeId::new(0), NodeId::new(1)), 20);
        assert_eq!(t.distance(NodeId::new(0), NodeId::new(0)), 10);

        let short = FakeSysfs::new("short");
        short.node(0, "0", Some("10")).node(1, "1", Some("30 10"));
        let t = read_topology(&short.0, None).unwrap();
        assert_eq!(t.distance(NodeId::new(1), NodeId::new(0)), 20);
    }

    #[test]
    fn reports_unreadable_or_empty_trees() {
        let sys = FakeSysfs::new("bad");
        sys.node(0, "zero", Some("10"));
        let err = read_topology(&sys.0, None).unwrap_err();
        assert!(err.contains("cpulist") && err.contains("\"zero\""), "{err}");

        let empty = FakeSysfs::new("empty");
        let err = read_topology(&empty.0, None).unwrap_err();
        assert!(err.contains("none of the 0 node(s)"), "{err}");

        let missing = empty.0.join("does-not-exist");
        assert!(read_topology(&missing, None)
            .unwrap_err()
            .contains("cannot list"));
    }

    #[test]
    fn rejects_sysfs_with_a_cpu_in_two_nodes() {
        let sys = FakeSysfs::new("dup");
        sys.node(0, "0-1", None).node(1, "1-2", None);
        let err = read_topology(&sys.0, None).unwrap_err();
        assert!(err.contains("CPU 1 is listed twice"), "{err}");
    }

    #[test]
    fn reads_this_machine_if_it_is_linux() {
        if !Path::new(SYSFS_ROOT).exists() {
            return;
        }
        let t = read_topology(Path::new(SYSFS_ROOT), allowed_cpus().as_deref()).unwrap();
        assert!(t.num_nodes() >= 1);
        assert!(t.num_cpus() >= 1);
    }
}
