//! An adaptive-batching MPSC channel.
//!
//! Per-message synchronisation is what limits ordinary channels. Here each [`Sender`] fills a
//! private partial batch and publishes it whole, with one synchronisation, into a queue of
//! batches that the [`Receiver`] takes a batch at a time. Batching only appears under load:
//!
//! * **Receiver waiting → publish at once.** When the receiver finds nothing to take it raises
//!   a flag; the next `send` sees it and publishes immediately, so light load sees per-message
//!   latency.
//! * **Adaptive threshold.** Otherwise a sender publishes when its batch reaches a threshold
//!   that follows measured throughput (an exponential moving average, see [`adapt`]), between
//!   `min_batch` and `max_batch`.
//! * **Bounded holding, with no timer.** A partial batch is never stranded: it lives in a
//!   per-sender slot the receiver can reach. A receiver that would wait picks up a partial batch
//!   itself (so a lone message arrives even if its sender never sends, flushes or drops again),
//!   and a busy receiver moves partial batches older than `max_delay` behind the batches it is
//!   working through. Under measured load, a receiver that catches up with its senders yields
//!   to the executor while their partial batches are younger than `max_delay` rather than
//!   taking tiny batches and sleeping: a wake-up costs more than a whole batch.
//!
//! **Why receiver-side pickup rather than a timer.** A timer (`async-io`'s `Timer`, a runtime
//! timer) ties the channel to a reactor or executor, and a flusher thread costs a thread per
//! process plus wake-ups while idle. Messages can only be observed by the receiver, so it is
//! enough for the receiver to collect held messages whenever it looks for more: that works on
//! any executor, costs nothing while idle, and holds a message past `max_delay` only while the
//! receiver is not asking for messages at all. The price is a lock per sender slot, made
//! lopsided so that the sender hardly pays for it: a `send` takes its own slot's lock with plain
//! stores and loads (no atomic read-modify-write, no fence), and the receiver, which locks a
//! slot only to pick up a partial batch, pays for the ordering of both sides with one
//! process-wide barrier (`membarrier` on Linux; a fence on each side elsewhere). The per-message
//! atomic swap of an ordinary lock was the largest single cost of a `send`.
//!
//! Capacity is counted in messages in the queue of published batches; each sender additionally
//! holds at most the current threshold. Emptied batch buffers return to a free list, so a steady
//! flow allocates nothing per batch.
//!
//! ```
//! # futures::executor::block_on(async {
//! use moirai_channel::batch;
//!
//! let (mut tx, mut rx) = batch::channel::<u64>(1024);
//! let mut tx2 = tx.clone();
//! for i in 0..10 {
//!     tx.send(i).await.unwrap();
//! }
//! tx2.send(100).await.unwrap();
//! drop((tx, tx2)); // dropping publishes what the senders held
//!
//! let mut total = 0;
//! while let Some(batch) = rx.recv_batch().await {
//!     total += batch.iter().sum::<u64>();
//! }
//! assert_eq!(total, 145);
//! let stats = rx.stats();
//! assert_eq!(stats.items_published, 11);
//! # });
//! ```

pub mod adapt;
mod buffer;
mod builder;
mod error;
mod receiver;
mod sender;
mod shared;
mod stats;
mod sync;

#[cfg(all(test, loom))]
mod loom_tests;

pub use buffer::{Batch, IntoIter};
pub use builder::{channel, Builder, DEFAULT_MAX_BATCH, DEFAULT_MAX_DELAY, DEFAULT_MIN_BATCH};
pub use error::{BuildError, SendError, TrySendError};
pub use receiver::Receiver;
pub use sender::Sender;
pub use stats::Stats;
