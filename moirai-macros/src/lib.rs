//! The `#[moirai::main]` and `#[moirai::test]` attributes.
//!
//! Both turn an `async fn` into a plain function that builds a Moirai runtime and blocks on the
//! function's body:
//!
//! ```text
//! #[moirai::main(worker_threads = 4, topology = "2x2", pin_workers = true)]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     Ok(())
//! }
//! ```
//!
//! Arguments (all optional, each at most once):
//!
//! - `worker_threads = N`: an integer literal, at least 1;
//! - `topology = "NxW"`: `N` nodes of `W` workers (the grammar of the runtime's
//!   `Topology::from_str`, checked here at compile time);
//! - `affinity = "node" | "cpu" | "unbound"`: which CPUs the workers may run on (the runtime's
//!   `Affinity`; by default bound to their node on a machine with several NUMA nodes);
//! - `pin_workers = true | false`: the older spelling of `affinity = "cpu"` / `"unbound"` (not
//!   both);
//! - `crate = "path"`: where the `moirai` crate is, for code that renames or re-exports it
//!   (default `::moirai`).
//!
//! Mistakes are compile errors that point at the offending token. This crate is an implementation
//! detail of `moirai`; use the attributes through it.

mod args;
mod expand;
mod spec;

use proc_macro::TokenStream;

/// Runs an `async fn` (with no parameters, returning anything) on a new Moirai runtime.
///
/// The function keeps its name, attributes and visibility, and loses its `async`; the runtime is
/// configured from the attribute's arguments (see the [crate documentation](crate)).
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(expand::Kind::Main, args.into(), item.into()).into()
}

/// Like [`main`](macro@main), for tests: also adds `#[test]`, keeping the function's other
/// attributes such as `#[should_panic]` or `#[ignore]`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(expand::Kind::Test, args.into(), item.into()).into()
}
