//! Moirai: a NUMA-aware work-stealing async runtime.
pub use moirai_channel as channel;
