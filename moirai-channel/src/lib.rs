//! Executor-agnostic async channels (work in progress).
