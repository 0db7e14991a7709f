//! # Moirai
//!
//! A work-stealing async runtime for the `futures` ecosystem, built for machines with many cores
//! and several NUMA nodes: workers are grouped by node and steal from their own node before
//! reaching across to other nodes, nearest first.
//!
//! ```
//! #[moirai::main(worker_threads = 2)]
//! async fn main() {
//!     let handles: Vec<_> = (0..100u64).map(|i| moirai::spawn(async move { i * 2 })).collect();
//!     let mut sum = 0;
//!     for h in handles {
//!         sum += h.await.unwrap();
//!     }
//!     assert_eq!(sum, 9900);
//! }
//! ```
//!
//! * Tasks: [`spawn`], [`spawn_on`] (a NUMA node hint), [`yield_now`], [`JoinHandle`]
//!   (`abort`, `is_finished`; dropping it detaches the task).
//! * Runtimes: [`Runtime`], [`Builder`], [`Handle`] (also a `futures::task::Spawn`), [`block_on`].
//! * Where the work ran: [`Runtime::metrics`].
//! * [`channel`]: executor-agnostic channels with `Stream`/`Sink`.
//! * [`time`]: `sleep`, `timeout`, `interval`; [`spawn_blocking`] for blocking code. Sockets and
//!   files come from `async-net` / `async-fs`, whose reactor (`async-io`) the timers share.

pub use moirai_channel as channel;
pub use moirai_macros::{main, test};
/// Edge-triggered TCP sockets (Linux); see [`moirai_rt::net`].
#[cfg(target_os = "linux")]
pub use moirai_rt::net;
pub use moirai_rt::{
    block_on, current_node, current_worker, global_handle, spawn, spawn_blocking, spawn_on,
    yield_now, Affinity, BuildError, Builder, Counters, EnterGuard, Handle, JoinError, JoinHandle,
    NodeId, NodeMetrics, PoolMetrics, Runtime, RuntimeMetrics, TryCurrentError, WorkerMetrics,
    YieldNow, WORKER_THREADS_ENV,
};
pub use moirai_rt::{time, topology};
