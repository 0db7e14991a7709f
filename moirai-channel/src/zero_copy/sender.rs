//! The sending half.

use core::fmt;

use super::chan::Chan;
use super::error::{Closed, SendError, TrySendError};
use super::guards::SendRef;
use super::recycle::DefaultRecycle;
use super::ring::TryError;
use super::stats::Stats;
use crate::sync::{Arc, Listener};

/// The sending half of a [zero-copy channel](super). Cloneable; the channel closes when the last
/// sender drops (receivers then drain the remaining messages).
pub struct Sender<T, R = DefaultRecycle> {
    pub(super) chan: Arc<Chan<T, R>>,
    /// A slot reserved by `Sink::poll_ready`, consumed by `Sink::start_send`.
    pub(super) reserved: Option<usize>,
    /// The listener of a pending `Sink::poll_ready` (registered on the send side).
    pub(super) listener: Option<Listener>,
}

impl<T, R> Sender<T, R> {
    pub(super) fn new(chan: Arc<Chan<T, R>>) -> Self {
        Self {
            chan,
            reserved: None,
            listener: None,
        }
    }

    /// Sends `value`, waiting for room while the channel is full.
    ///
    /// Returns the value back in `Err` if the channel is closed.
    ///
    /// A sender that finds the channel full first spins and yields briefly, and during that
    /// phase only takes a slot once a quarter of the ring is free: refilling a full ring one
    /// slot at a time would make it and the receiver write the same cache lines in lockstep.
    /// After that phase it takes any free slot.
    ///
    /// **Cancellation:** if this future is dropped while waiting for room, `value` is dropped
    /// with it and nothing is sent (no slot is ever held across an `.await`). To avoid losing the
    /// value, reserve first with [`send_ref`](Self::send_ref) (then write) or use the `Sink`
    /// implementation (`poll_ready` reserves, `start_send` cannot fail).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = moirai_channel::zero_copy::channel::<u32>(2);
    /// tx.send(1).await.unwrap();
    /// assert_eq!(rx.recv().await, Some(1));
    /// # });
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        crate::coop::proceed().await;
        match self.chan.reserve().await {
            Ok(pos) => {
                self.write(pos, value);
                Ok(())
            }
            Err(_) => Err(SendError(value)),
        }
    }

    /// Sends `value` if there is room right now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.ring.try_reserve() {
            Ok(pos) => {
                self.write(pos, value);
                Ok(())
            }
            Err(TryError::WouldBlock) => Err(TrySendError::Full(value)),
            Err(TryError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// Reserves a slot (waiting for room) and returns a guard to write the message in place;
    /// it is published when the guard drops. The slot holds the recycled value of an earlier
    /// message (see [`Recycle`](super::Recycle)), so buffers keep their allocation.
    ///
    /// Cancel-safe: no slot is reserved until the future completes.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = moirai_channel::zero_copy::channel::<String>(2);
    /// tx.send_ref().await.unwrap().push_str("hi");
    /// assert_eq!(rx.recv().await.as_deref(), Some("hi"));
    /// # });
    /// ```
    pub async fn send_ref(&self) -> Result<SendRef<'_, T, R>, Closed> {
        crate::coop::proceed().await;
        match self.chan.reserve().await {
            Ok(pos) => Ok(SendRef::new(&self.chan, pos)),
            Err(_) => Err(Closed),
        }
    }

    /// Like [`send_ref`](Self::send_ref), without waiting.
    pub fn try_send_ref(&self) -> Result<SendRef<'_, T, R>, TrySendError<()>> {
        match self.chan.ring.try_reserve() {
            Ok(pos) => Ok(SendRef::new(&self.chan, pos)),
            Err(TryError::WouldBlock) => Err(TrySendError::Full(())),
            Err(TryError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    #[inline]
    fn write(&self, pos: usize, value: T) {
        // SAFETY: we own the reserved `pos` until `publish`; the slot holds a valid `T`
        // (the recycled element), which `replace` hands back to us to drop.
        let old = self
            .chan
            .ring
            .with_value(pos, |p| unsafe { core::ptr::replace(p, value) });
        self.chan.publish(pos, false);
        drop(old);
    }

    /// Number of messages in the channel (approximate while others are active).
    pub fn len(&self) -> usize {
        self.chan.ring.len()
    }

    /// Whether [`len`](Self::len) is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity (the requested one rounded up to a power of two).
    pub fn capacity(&self) -> usize {
        self.chan.ring.capacity()
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.ring.is_closed()
    }

    /// Closes the channel for everybody: sends fail from now on, receivers drain what is left.
    /// Returns `true` if this call closed it.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// The channel's counters.
    pub fn stats(&self) -> Stats {
        self.chan.stats()
    }

    /// Gives up a `Sink` reservation (published as an empty slot that receivers skip) and a
    /// pending `Sink` wait.
    pub(super) fn abandon_reservation(&mut self) {
        if let Some(pos) = self.reserved.take() {
            self.chan.publish(pos, true);
        }
        self.listener = None;
    }
}

impl<T, R> Clone for Sender<T, R> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Self::new(self.chan.clone())
    }
}

impl<T, R> Drop for Sender<T, R> {
    fn drop(&mut self) {
        self.abandon_reservation();
        self.chan.drop_sender();
    }
}

impl<T, R> fmt::Debug for Sender<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}
