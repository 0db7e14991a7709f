//! Compile-fail tests of `#[moirai::main]` / `#[moirai::test]` misuse: each case in `tests/ui/`
//! must fail to compile with the error recorded next to it in its `.stderr` file.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test --test macros_ui` after a
//! deliberate change to a message, and review the diff.

#[test]
fn macros_ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
