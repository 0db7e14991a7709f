//! Tests of the topology types, constructors, spec parsing and detection order.

use super::*;
use std::ffi::OsString;

fn ids(indices: &[usize]) -> Vec<NodeId> {
    indices.iter().copied().map(NodeId::new).collect()
}

fn reason_of(result: Result<Topology, BuildError>) -> String {
    match result {
        Err(BuildError::InvalidTopology { reason, .. }) => reason,
        other => panic!("expected InvalidTopology, got {other:?}"),
    }
}

#[test]
fn node_id_round_trips_and_displays() {
    const ID: NodeId = NodeId::new(3);
    assert_eq!(ID.index(), 3);
    assert_eq!(ID.to_string(), "node3");
    assert!(NodeId::new(1) < NodeId::new(2));
}

#[test]
fn synthetic_numbers_cpus_node_by_node() {
    let t = Topology::synthetic(2, 4).unwrap();
    assert_eq!(t.num_nodes(), 2);
    assert_eq!(t.num_cpus(), 8);
    assert_eq!(t.source(), &TopologySource::Synthetic);
    assert_eq!(t.nodes()[0].cpus(), &[0, 1, 2, 3]);
    assert_eq!(t.nodes()[1].cpus(), &[4, 5, 6, 7]);
    assert_eq!(t.node(NodeId::new(1)).unwrap().id(), NodeId::new(1));
    assert_eq!(t.node(NodeId::new(2)), None);
}

#[test]
fn synthetic_distances_grow_with_index_gap() {
    let t = Topology::synthetic(4, 1).unwrap();
    let d = |a, b| t.distance(NodeId::new(a), NodeId::new(b));
    assert_eq!(d(0, 0), 10);
    assert_eq!(d(3, 3), 10);
    assert_eq!(d(0, 1), 20);
    assert_eq!(d(1, 0), 20);
    assert_eq!(d(0, 2), 21);
    assert_eq!(d(0, 3), 22);
    assert_eq!(d(3, 1), 21);
}

#[test]
fn synthetic_rejects_zero_and_huge() {
    assert!(reason_of(Topology::synthetic(0, 4)).contains("node count must be at least 1"));
    assert!(reason_of(Topology::synthetic(2, 0)).contains("workers-per-node"));
    assert!(reason_of(Topology::synthetic(usize::MAX, 2)).contains("maximum"));
    assert!(reason_of(Topology::synthetic(2, usize::MAX)).contains("maximum"));
    match Topology::synthetic(0, 4) {
        Err(BuildError::InvalidTopology { spec, .. }) => assert_eq!(spec, "0x4"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nodes_by_distance_is_nearest_first_ties_by_index() {
    let t = Topology::synthetic(5, 1).unwrap();
    assert_eq!(t.nodes_by_distance(NodeId::new(2)), ids(&[1, 3, 0, 4]));
    assert_eq!(t.nodes_by_distance(NodeId::new(0)), ids(&[1, 2, 3, 4]));
    assert_eq!(t.nodes_by_distance(NodeId::new(4)), ids(&[3, 2, 1, 0]));
    let one = Topology::synthetic(1, 3).unwrap();
    assert!(one.nodes_by_distance(NodeId::new(0)).is_empty());

    // An irregular (asymmetric) matrix: only the row of `from` matters.
    let t = Topology::from_parts(
        vec![vec![0], vec![1], vec![2], vec![3]],
        vec![
            vec![10, 30, 20, 30],
            vec![12, 10, 40, 40],
            vec![20, 20, 10, 20],
            vec![15, 15, 15, 10],
        ],
        TopologySource::Sysfs,
    )
    .unwrap();
    assert_eq!(t.nodes_by_distance(NodeId::new(0)), ids(&[2, 1, 3]));
    assert_eq!(t.nodes_by_distance(NodeId::new(1)), ids(&[0, 2, 3]));
    assert_eq!(t.nodes_by_distance(NodeId::new(3)), ids(&[0, 1, 2]));
}

#[test]
#[should_panic(expected = "on a topology of 2 node(s)")]
fn distance_panics_on_out_of_range_id() {
    let t = Topology::synthetic(2, 1).unwrap();
    t.distance(NodeId::new(0), NodeId::new(2));
}

#[test]
#[should_panic(expected = "nodes_by_distance(node7)")]
fn nodes_by_distance_panics_on_out_of_range_id() {
    Topology::synthetic(2, 1)
        .unwrap()
        .nodes_by_distance(NodeId::new(7));
}

#[test]
fn single_node_holds_the_given_cpus_sorted() {
    let t = Topology::single_node(vec![3, 1, 2]).unwrap();
    assert_eq!(t.num_nodes(), 1);
    assert_eq!(t.nodes()[0].cpus(), &[1, 2, 3]);
    assert_eq!(t.distance(NodeId::new(0), NodeId::new(0)), 10);
    assert!(reason_of(Topology::single_node(vec![])).contains("node0 has no CPUs"));
    assert!(reason_of(Topology::single_node(vec![1, 1])).contains("CPU 1 is listed twice"));
}

#[test]
fn from_parts_validates() {
    let src = || TopologySource::Synthetic;
    assert!(reason_of(Topology::from_parts(vec![], vec![], src())).contains("at least one node"));
    assert!(reason_of(Topology::from_parts(
        vec![vec![0], vec![]],
        vec![vec![10, 20], vec![20, 10]],
        src()
    ))
    .contains("node1 has no CPUs"));
    assert!(reason_of(Topology::from_parts(
        vec![vec![0, 1], vec![1]],
        vec![vec![10, 20], vec![20, 10]],
        src()
    ))
    .contains("CPU 1 is listed twice (in node0 and node1)"));
    match Topology::from_parts(
        vec![vec![0, 1, 2, 3], vec![]],
        vec![vec![10, 20], vec![20, 10]],
        TopologySource::Sysfs,
    ) {
        Err(BuildError::InvalidTopology { spec, .. }) => {
            assert_eq!(spec, "sysfs topology with node CPUs [0-3] []")
        }
        other => panic!("{other:?}"),
    }
    assert!(reason_of(Topology::from_parts(
        vec![vec![0], vec![1]],
        vec![vec![10, 20]],
        src()
    ))
    .contains("1 rows for 2 nodes"));
    assert!(reason_of(Topology::from_parts(
        vec![vec![0], vec![1]],
        vec![vec![10, 20], vec![20]],
        src()
    ))
    .contains("row 1 of the distance matrix has 1 entries for 2 nodes"));
    assert!(reason_of(Topology::from_parts(
        vec![vec![0], vec![1]],
        vec![vec![10, 20], vec![5, 10]],
        src()
    ))
    .contains("node1 is further from itself (10) than from node0 (5)"));
    // Equal distances are allowed (some firmware reports them), as is asymmetry.
    let t = Topology::from_parts(
        vec![vec![0], vec![1]],
        vec![vec![10, 10], vec![21, 10]],
        TopologySource::Hwloc,
    )
    .unwrap();
    assert_eq!(t.source(), &TopologySource::Hwloc);
    assert_eq!(t.distance(NodeId::new(1), NodeId::new(0)), 21);
}

#[test]
fn parses_specs() {
    let t: Topology = "2x4".parse().unwrap();
    assert_eq!(t, Topology::synthetic(2, 4).unwrap());
    assert_eq!(
        " 1X8\n".parse::<Topology>().unwrap(),
        Topology::synthetic(1, 8).unwrap()
    );
}

#[test]
fn rejects_bad_specs_naming_the_spec_and_problem() {
    for (spec, needle) in [
        ("2x", "missing"),
        ("x4", "missing"),
        ("0x4", "at least 1"),
        ("2x0", "at least 1"),
        ("abc", "missing the 'x'"),
        ("2x4x1", "exactly one 'x'"),
        ("99999999999999999999x1", "too large"),
        ("", "empty"),
    ] {
        match spec.parse::<Topology>() {
            Err(e @ BuildError::InvalidTopology { .. }) => {
                let BuildError::InvalidTopology {
                    spec: reported,
                    reason,
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!(reported, spec);
                assert!(reason.contains(needle), "{spec:?}: {reason}");
                let message = e.to_string();
                assert!(message.contains(&format!("{spec:?}")), "{message}");
            }
            other => panic!("{spec:?} gave {other:?}"),
        }
    }
}

#[test]
fn displays_readably() {
    let t = Topology::synthetic(2, 4).unwrap();
    assert_eq!(
        t.to_string(),
        "2 nodes (synthetic): node0 cpus [0-3], node1 cpus [4-7]; distances [[10,20],[20,10]]"
    );
    let one = Topology::single_node(vec![0, 2, 3])
        .unwrap()
        .with_source(TopologySource::Fallback);
    assert_eq!(
        one.to_string(),
        "1 node (fallback): node0 cpus [0,2-3]; distances [[10]]"
    );
    assert_eq!(TopologySource::Environment.to_string(), "environment");
}

fn no_hwloc() -> Option<Topology> {
    None
}

fn nowhere() -> &'static Path {
    Path::new("/nonexistent/moirai/sysfs")
}

#[test]
fn detect_prefers_the_environment() {
    let env = OsString::from("3x2");
    let t = detect_with(Some(&env), nowhere(), None, || {
        panic!("hwloc must not be consulted when MOIRAI_TOPOLOGY is set")
    })
    .unwrap();
    assert_eq!(t.source(), &TopologySource::Environment);
    assert_eq!(t.num_nodes(), 3);
    assert_eq!(t.num_cpus(), 6);
}

#[test]
fn detect_rejects_a_bad_environment_value() {
    let env = OsString::from("2x");
    let err = detect_with(Some(&env), nowhere(), None, no_hwloc).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("\"2x\"") && message.contains(TOPOLOGY_ENV),
        "{message}"
    );
}

#[cfg(unix)]
#[test]
fn detect_rejects_a_non_utf8_environment_value() {
    use std::os::unix::ffi::OsStringExt;
    let env = OsString::from_vec(vec![b'2', 0xff, b'4']);
    let err = detect_with(Some(&env), nowhere(), None, no_hwloc).unwrap_err();
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
}

#[test]
fn detect_treats_a_blank_environment_value_as_unset() {
    let env = OsString::from("  ");
    let t = detect_with(Some(&env), nowhere(), None, no_hwloc).unwrap();
    assert_eq!(t.source(), &TopologySource::Fallback);
}

#[test]
fn detect_prefers_hwloc_over_sysfs() {
    let hw = Topology::synthetic(2, 2)
        .unwrap()
        .with_source(TopologySource::Hwloc);
    let expected = hw.clone();
    let t = detect_with(None, Path::new(sysfs::SYSFS_ROOT), None, move || Some(hw)).unwrap();
    assert_eq!(t, expected);
}

#[cfg(target_os = "linux")]
#[test]
fn detect_reads_sysfs_when_hwloc_is_unavailable() {
    let root = std::env::temp_dir().join(format!(
        "moirai-detect-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    for (n, cpus, dist) in [(0, "0-1", "10 20"), (1, "2-3", "20 10")] {
        let dir = root.join(format!("node{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cpulist"), cpus).unwrap();
        std::fs::write(dir.join("distance"), dist).unwrap();
    }
    let t = detect_with(None, &root, Some(&[0, 1, 2, 3]), no_hwloc);
    let _ = std::fs::remove_dir_all(&root);
    let t = t.unwrap();
    assert_eq!(t.source(), &TopologySource::Sysfs);
    assert_eq!(t.num_nodes(), 2);
}

#[test]
fn detect_falls_back_to_one_node_of_available_parallelism() {
    let t = detect_with(None, nowhere(), None, no_hwloc).unwrap();
    assert_eq!(t.source(), &TopologySource::Fallback);
    assert_eq!(t.num_nodes(), 1);
    let expected = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(t.nodes()[0].cpus(), (0..expected).collect::<Vec<_>>());
}

#[test]
fn detect_on_this_machine_succeeds() {
    // The real environment may set MOIRAI_TOPOLOGY; either way the result must be usable.
    match Topology::detect() {
        Ok(t) => {
            eprintln!("detected: {t}");
            assert!(t.num_nodes() >= 1 && t.num_cpus() >= 1);
            #[cfg(feature = "hwloc")]
            if std::env::var_os(TOPOLOGY_ENV).is_none() {
                assert_eq!(t.source(), &TopologySource::Hwloc, "{t}");
                if let Some(allowed) = sysfs::allowed_cpus() {
                    for cpu in t.nodes().iter().flat_map(|n| n.cpus()) {
                        assert!(allowed.contains(cpu), "CPU {cpu} of {t} is not allowed");
                    }
                }
            }
        }
        Err(e) => assert!(
            std::env::var_os(TOPOLOGY_ENV).is_some(),
            "detect failed without {TOPOLOGY_ENV}: {e}"
        ),
    }
}
