//! Compile-time check of a topology spec such as `"2x4"`.
//!
//! This mirrors the grammar of `moirai_rt::topology::Topology::from_str` (which this proc-macro
//! crate cannot depend on): after trimming surrounding whitespace, ASCII digits, one `x` or `X`,
//! ASCII digits; both numbers at least 1; at most 1024 nodes and 65536 CPUs in total. Keep the
//! two in step: a spec accepted here is parsed with `.expect(..)` at run time.

const MAX_NODES: usize = 1024;
const MAX_CPUS: usize = 65536;

/// Returns `(nodes, workers_per_node)`, or what is wrong with the spec.
pub(crate) fn validate(spec: &str) -> Result<(usize, usize), String> {
    let trimmed = spec.trim();
    if trimmed.is_empty() {
        return Err("the topology spec is empty; expected NODESxWORKERS, e.g. \"2x4\"".to_owned());
    }
    let parts: Vec<&str> = trimmed.split(['x', 'X']).collect();
    let [nodes, workers] = parts[..] else {
        return Err(if parts.len() == 1 {
            "missing the 'x' between NODES and WORKERS; expected e.g. \"2x4\"".to_owned()
        } else {
            "expected exactly one 'x' between NODES and WORKERS, e.g. \"2x4\"".to_owned()
        });
    };
    let nodes = count(nodes, "node count (before the 'x')")?;
    let workers = count(workers, "workers-per-node count (after the 'x')")?;
    if nodes == 0 {
        return Err("the node count must be at least 1".to_owned());
    }
    if workers == 0 {
        return Err("the workers-per-node count must be at least 1".to_owned());
    }
    if nodes > MAX_NODES {
        return Err(format!(
            "{nodes} nodes is more than the supported maximum of {MAX_NODES}"
        ));
    }
    match nodes.checked_mul(workers) {
        Some(total) if total <= MAX_CPUS => Ok((nodes, workers)),
        _ => Err(format!(
            "{nodes} x {workers} CPUs is more than the supported maximum of {MAX_CPUS}"
        )),
    }
}

fn count(text: &str, what: &str) -> Result<usize, String> {
    if text.is_empty() {
        return Err(format!("the {what} is missing"));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the {what} {text:?} is not a number (only the digits 0-9 are allowed)"
        ));
    }
    text.parse()
        .map_err(|_| format!("the {what} {text} is too large"))
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_what_the_runtime_accepts() {
        assert_eq!(validate("2x4"), Ok((2, 4)));
        assert_eq!(validate("1X8"), Ok((1, 8)));
        assert_eq!(validate(" 3x1 "), Ok((3, 1)));
        assert_eq!(validate("1024x64"), Ok((1024, 64)));
    }

    #[test]
    fn rejects_what_the_runtime_rejects() {
        for (spec, needle) in [
            ("", "empty"),
            ("abc", "missing the 'x'"),
            ("2x", "after the 'x') is missing"),
            ("x4", "before the 'x') is missing"),
            ("2x4x1", "exactly one 'x'"),
            ("2 x 4", "not a number"),
            ("+2x4", "not a number"),
            ("0x4", "node count must be at least 1"),
            ("2x0", "workers-per-node count must be at least 1"),
            ("99999999999999999999x1", "too large"),
            ("1025x1", "maximum of 1024"),
            ("2x40000", "maximum of 65536"),
        ] {
            let reason = validate(spec).expect_err(spec);
            assert!(reason.contains(needle), "{spec:?}: {reason}");
        }
    }

    /// The compile-time check and the runtime's `Topology::from_str` agree on every spec built
    /// from up to three of these pieces.
    #[test]
    fn agrees_with_the_runtime_parser() {
        const PIECES: [&str; 14] = [
            "",
            "0",
            "1",
            "2",
            "x",
            "X",
            " ",
            "+",
            "a",
            "1024",
            "1025",
            "64",
            "65",
            "99999999999999999999",
        ];
        let mut checked = 0;
        for a in PIECES {
            for b in PIECES {
                for c in PIECES {
                    let spec = format!("{a}{b}{c}");
                    let runtime = spec.parse::<moirai_rt::topology::Topology>();
                    assert_eq!(
                        validate(&spec).is_ok(),
                        runtime.is_ok(),
                        "{spec:?}: macro says {:?}, runtime says {runtime:?}",
                        validate(&spec)
                    );
                    checked += usize::from(runtime.is_ok());
                }
            }
        }
        assert!(checked > 20, "only {checked} valid specs were generated");
    }
}
