//! The Moirai runtime: a work-stealing async executor whose workers are grouped by NUMA node and
//! steal hierarchically (own queues, same-node siblings, other nodes nearest first, then the
//! global injector).
//!
//! Most users depend on the `moirai` facade crate, which re-exports this one.
//!
//! # How it fits together
//!
//! * [`topology`] says which nodes there are, their CPUs and distances;
//! * [`Builder`] lays the workers out on it (`scheduler::placement`) and starts them;
//! * `scheduler` holds the queues and routes spawns and wake-ups; `scheduler::worker` is a worker's
//!   loop and search; `scheduler::idle` is the park/notify protocol (loom-checked);
//! * `task` turns futures into `async-task` runnables (one place: [`spawn`] and friends all go
//!   through it) and [`JoinHandle`] joins them;
//! * [`metrics`](RuntimeMetrics) are counted per worker and summed per node;
//! * [`time`] has the timers and [`spawn_blocking`] the blocking-work pool, both built on the
//!   `async-io` / `blocking` crates of the smol ecosystem.

mod affinity;
mod block_on;
#[cfg(not(loom))]
mod blocking;
mod builder;
mod context;
mod error;
mod handle;
mod metrics;
#[cfg(target_os = "linux")]
pub mod net;
mod runtime;
mod scheduler;
mod spawn;
mod sync;
mod task;
#[cfg(not(loom))]
pub mod time;
pub mod topology;
mod yield_now;

pub use affinity::Affinity;
pub use block_on::block_on;
#[cfg(not(loom))]
pub use blocking::spawn_blocking;
pub use builder::{Builder, WORKER_THREADS_ENV};
pub use context::EnterGuard;
pub use error::{BuildError, JoinError};
pub use handle::{Handle, TryCurrentError};
pub use metrics::{Counters, NodeMetrics, PoolMetrics, RuntimeMetrics, WorkerMetrics};
pub use runtime::Runtime;
pub use spawn::{current_node, current_worker, global_handle, spawn, spawn_on};
pub use task::JoinHandle;
pub use topology::NodeId;
pub use yield_now::{yield_now, YieldNow};
