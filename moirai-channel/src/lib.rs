//! Executor-agnostic async channels for the Moirai runtime.
//!
//! Nothing in this crate depends on a particular executor, so the channels work on Moirai, tokio,
//! `futures::executor` or any other executor.
//!
//! * [`zero_copy`]: a bounded MPMC ring whose slots keep their value between uses, with
//!   in-place `send_ref`/`recv_ref` guards (no copies, recycled allocations).
//! * [`batch`]: an adaptive-batching MPSC channel — senders publish whole batches with one
//!   synchronisation when the receiver is behind, and single messages when it waits.
//! * [`coop`]: the cooperative budget a runtime can set so that always-ready channels still
//!   make a busy task yield.
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod barrier;
pub mod batch;
pub mod coop;
mod sync;
pub mod zero_copy;
