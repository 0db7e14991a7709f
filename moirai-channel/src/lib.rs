//! Executor-agnostic async channels for the Moirai runtime.
//!
//! Nothing in this crate depends on a particular executor: wake-ups go through
//! [`event-listener`](https://docs.rs/event-listener), so the channels work on Moirai, tokio,
//! `futures::executor` or any other executor.
//!
//! * [`zero_copy`]: a bounded MPMC ring whose slots keep their value between uses, with
//!   in-place `send_ref`/`recv_ref` guards (no copies, recycled allocations).
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod sync;
pub mod zero_copy;
