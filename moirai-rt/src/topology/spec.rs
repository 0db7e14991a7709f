//! The `NODESxWORKERS` topology spec grammar (`"2x4"`: two nodes of four workers each).
//!
//! Grammar, after trimming surrounding whitespace: one or more ASCII digits, an `x` or `X`, one or
//! more ASCII digits. Both numbers must be at least 1, at most [`MAX_NODES`] nodes and
//! [`MAX_CPUS`] CPUs in total. The `moirai-macros` crate checks the same grammar at compile time;
//! keep the two in step.

/// The largest node count accepted (the distance matrix is quadratic in it).
pub(crate) const MAX_NODES: usize = 1024;

/// The largest total CPU count (nodes × workers per node) accepted.
pub(crate) const MAX_CPUS: usize = 65536;

/// Parses a spec into `(nodes, workers_per_node)`, or says what is wrong with it.
pub(crate) fn parse(spec: &str) -> Result<(usize, usize), String> {
    let trimmed = spec.trim();
    if trimmed.is_empty() {
        return Err("the spec is empty; expected NODESxWORKERS, e.g. \"2x4\"".to_owned());
    }
    let mut parts = trimmed.split(['x', 'X']);
    let (Some(nodes), Some(workers), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(if trimmed.contains(['x', 'X']) {
            "expected exactly one 'x' between NODES and WORKERS, e.g. \"2x4\"".to_owned()
        } else {
            "missing the 'x' between NODES and WORKERS; expected e.g. \"2x4\"".to_owned()
        });
    };
    let nodes = parse_count(nodes, "node count (before the 'x')")?;
    let workers = parse_count(workers, "workers-per-node count (after the 'x')")?;
    check_counts(nodes, workers)?;
    Ok((nodes, workers))
}

/// Checks that both counts are non-zero and the topology is not unreasonably large.
pub(crate) fn check_counts(nodes: usize, workers_per_node: usize) -> Result<(), String> {
    if nodes == 0 {
        return Err("the node count must be at least 1".to_owned());
    }
    if workers_per_node == 0 {
        return Err("the workers-per-node count must be at least 1".to_owned());
    }
    if nodes > MAX_NODES {
        return Err(format!(
            "{nodes} nodes is more than the supported maximum of {MAX_NODES}"
        ));
    }
    match nodes.checked_mul(workers_per_node) {
        Some(total) if total <= MAX_CPUS => Ok(()),
        _ => Err(format!(
            "{nodes} x {workers_per_node} CPUs is more than the supported maximum of {MAX_CPUS}"
        )),
    }
}

fn parse_count(text: &str, what: &str) -> Result<usize, String> {
    if text.is_empty() {
        return Err(format!("the {what} is missing"));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the {what} {text:?} is not a number (only the digits 0-9 are allowed)"
        ));
    }
    text.parse::<usize>()
        .map_err(|_| format!("the {what} {text} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_specs() {
        assert_eq!(parse("2x4"), Ok((2, 4)));
        assert_eq!(parse("1x8"), Ok((1, 8)));
        assert_eq!(parse("3X2"), Ok((3, 2)));
        assert_eq!(parse("  4x1\n"), Ok((4, 1)));
        assert_eq!(parse("002x04"), Ok((2, 4)));
        assert_eq!(parse("1024x64"), Ok((1024, 64)));
    }

    fn reason(spec: &str) -> String {
        parse(spec).expect_err(spec)
    }

    #[test]
    fn rejects_malformed_specs_with_a_reason() {
        assert!(reason("").contains("empty"));
        assert!(reason("   ").contains("empty"));
        assert!(reason("abc").contains("missing the 'x'"));
        assert!(reason("24").contains("missing the 'x'"));
        assert!(reason("2x").contains("workers-per-node count (after the 'x') is missing"));
        assert!(reason("x4").contains("node count (before the 'x') is missing"));
        assert!(reason("2x4x1").contains("exactly one 'x'"));
        assert!(reason("2 x 4").contains("not a number"));
        assert!(reason("+2x4").contains("not a number"));
        assert!(reason("-2x4").contains("not a number"));
        assert!(reason("2.0x4").contains("not a number"));
        assert!(reason("axb").contains("not a number"));
        assert!(reason("99999999999999999999x1").contains("too large"));
        assert!(reason("1x99999999999999999999").contains("too large"));
    }

    #[test]
    fn rejects_zero_and_oversized_counts() {
        assert!(reason("0x4").contains("node count must be at least 1"));
        assert!(reason("2x0").contains("workers-per-node count must be at least 1"));
        assert!(reason("0x0").contains("node count must be at least 1"));
        assert!(reason("1025x1").contains("maximum of 1024"));
        assert!(reason("2x32769").contains("maximum of 65536"));
        assert!(reason(&format!("2x{}", usize::MAX)).contains("maximum of 65536"));
        assert_eq!(check_counts(1024, 64), Ok(()));
    }
}
