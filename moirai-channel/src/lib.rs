//! Executor-agnostic async channels (work in progress).
//!
//! * [`batch`]: an adaptive-batching MPSC channel — senders publish whole batches with one
//!   synchronisation when the receiver is behind, and single messages when it waits.

pub mod batch;
