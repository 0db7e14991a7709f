//! A zero-copy bounded MPMC channel.
//!
//! The channel is a ring of `capacity` slots (rounded up to a power of two) with one sequence
//! stamp per slot (Vyukov's bounded queue) and cache-padded cursors. Sending and receiving
//! allocate nothing: not per message, not per wait (waits use `event-listener` listeners on the
//! future's own stack; the waiting side is only notified when someone actually waits). It runs
//! on any executor.
//!
//! # Slots, recycling and `T: Default`
//!
//! Every slot always holds an initialised `T`: between messages it holds a *recycled* element
//! made by the channel's [`Recycle`] policy. That is what makes zero-copy use possible:
//!
//! * [`Sender::send_ref`] returns a [`SendRef`] guard that derefs to the slot's element, so
//!   the message is built in place (e.g. `extend_from_slice` into a recycled `Vec` reuses its
//!   allocation) and published when the guard drops;
//! * [`Receiver::recv_ref`] returns a [`RecvRef`] guard to read the message in place; on drop
//!   the element is cleaned by [`Recycle::recycle`] and the slot is released.
//!
//! The by-value methods work on the same slots: [`Sender::send`] swaps the value into the slot
//! and drops the recycled element it replaces; [`Receiver::recv`] swaps the message out and
//! leaves [`Recycle::new_element`] in its place.
//!
//! Hence [`channel`] requires `T: Default` (policy [`DefaultRecycle`]); any other `T` works
//! with [`with_recycle`] and a custom [`Recycle`]. For buffers whose allocation should survive
//! recycling use [`WithCapacity`].
//!
//! # Closing
//!
//! When all senders drop (or [`close`](Sender::close) is called), sends fail and receivers
//! drain what is left, then get `None`. When all receivers drop, sends fail and return their
//! value. Messages still in the ring are dropped exactly once, when the last handle goes.
//!
//! # Cancellation
//!
//! [`Receiver::recv`] and [`Receiver::recv_ref`] are cancel-safe: no message is lost when the
//! future is dropped. A cancelled [`Sender::send`] drops its value (it was never sent);
//! [`Sender::send_ref`] and the `Sink` implementation reserve a slot first and are the
//! cancel-safe way to send.
//!
//! # Guards
//!
//! The ring is strictly ordered, so a guard pins one position:
//!
//! * While a [`SendRef`] is alive, its message is not published: receivers deliver the messages
//!   before it, then wait for it, even if later senders already published theirs. Other senders
//!   are not blocked (until the ring wraps around to the pinned slot).
//! * While a [`RecvRef`] is alive, its slot stays occupied: other receivers carry on with later
//!   messages, but once senders wrap around to that slot they see the channel as full.
//!
//! So keep guards short-lived; build the message and drop the guard.
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! # futures::executor::block_on(async {
//! let (mut tx, rx) = moirai_channel::zero_copy::channel::<u64>(1000); // capacity 1024
//! assert_eq!(tx.capacity(), 1024);
//! tx.send_all(&mut futures::stream::iter(0..10).map(Ok)).await.unwrap();
//! drop(tx); // receivers drain, then end
//! assert_eq!(rx.collect::<Vec<_>>().await, (0..10).collect::<Vec<_>>());
//! # });
//! ```

mod chan;
mod error;
mod guards;
mod receiver;
mod recycle;
mod ring;
mod sender;
mod stats;
mod stream_sink;

pub use error::{Closed, SendError, TryRecvError, TrySendError};
pub use guards::{RecvRef, SendRef};
pub use receiver::Receiver;
pub use recycle::{DefaultRecycle, Recycle, WithCapacity};
pub use sender::Sender;
pub use stats::Stats;

use crate::sync::Arc;
use chan::Chan;

/// Creates a bounded channel for `T: Default` with the [`DefaultRecycle`] policy.
///
/// `capacity` is rounded up to the next power of two.
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up overflows `usize`.
///
/// ```should_panic
/// let _ = moirai_channel::zero_copy::channel::<u8>(0); // panics: capacity must be at least 1
/// ```
#[track_caller]
pub fn channel<T: Default>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    with_recycle(capacity, DefaultRecycle)
}

/// Creates a bounded channel whose slot values are made and cleaned by `recycle`.
///
/// `capacity` is rounded up to the next power of two.
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up overflows `usize`.
#[track_caller]
pub fn with_recycle<T, R: Recycle<T>>(
    capacity: usize,
    recycle: R,
) -> (Sender<T, R>, Receiver<T, R>) {
    assert!(
        capacity != 0,
        "moirai_channel::zero_copy: channel capacity must be at least 1, got 0"
    );
    let capacity = capacity
        .checked_next_power_of_two()
        .expect("moirai_channel::zero_copy: channel capacity overflows when rounded up");
    let chan = Arc::new(Chan::new(capacity, recycle));
    (Sender::new(chan.clone()), Receiver::new(chan))
}
