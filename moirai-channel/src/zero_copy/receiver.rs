//! The receiving half.

use core::fmt;

use super::chan::Chan;
use super::error::TryRecvError;
use super::guards::{Claim, RecvRef};
use super::recycle::{DefaultRecycle, Recycle};
use super::ring::TryError;
use super::stats::Stats;
use crate::sync::{Arc, Listener};

/// The receiving half of a [zero-copy channel](super). Cloneable (each message goes to exactly
/// one receiver); the channel closes when the last receiver drops, and the messages still in it
/// are dropped when the last handle of either side is gone.
pub struct Receiver<T, R: Recycle<T> = DefaultRecycle> {
    pub(super) chan: Arc<Chan<T, R>>,
    /// The listener of a pending `Stream::poll_next` (registered on the receive side).
    pub(super) listener: Option<Listener>,
    /// `Stream` returned `None`.
    pub(super) terminated: bool,
}

impl<T, R: Recycle<T>> Receiver<T, R> {
    pub(super) fn new(chan: Arc<Chan<T, R>>) -> Self {
        Self {
            chan,
            listener: None,
            terminated: false,
        }
    }

    /// Receives the next message, waiting while the channel is empty. `None` once the channel
    /// is closed and drained.
    ///
    /// The message is moved out of its slot and replaced by
    /// [`Recycle::new_element`]; use [`recv_ref`](Self::recv_ref) to read in place instead.
    ///
    /// **Cancellation:** cancel-safe. A message is only taken from the ring when the future
    /// completes (no `.await` follows the claim), so dropping the future loses nothing.
    pub async fn recv(&self) -> Option<T> {
        crate::coop::proceed().await;
        let pos = self.chan.claim().await.ok()?;
        Some(self.take(pos))
    }

    /// Receives a message if one is ready right now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.chan.try_claim() {
            Ok(pos) => Ok(self.take(pos)),
            Err(TryError::WouldBlock) => Err(TryRecvError::Empty),
            Err(TryError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// Receives the next message *in place*: the guard derefs to the slot, which is recycled and
    /// released when the guard drops. `None` once the channel is closed and drained.
    ///
    /// Cancel-safe, like [`recv`](Self::recv).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = moirai_channel::zero_copy::channel::<[u8; 4]>(2);
    /// tx.send_ref().await.unwrap().copy_from_slice(b"abcd");
    /// let msg = rx.recv_ref().await.unwrap();
    /// assert_eq!(&*msg, b"abcd");
    /// # });
    /// ```
    pub async fn recv_ref(&self) -> Option<RecvRef<'_, T, R>> {
        crate::coop::proceed().await;
        let pos = self.chan.claim().await.ok()?;
        Some(RecvRef::new(&self.chan, pos))
    }

    /// Like [`recv_ref`](Self::recv_ref), without waiting.
    pub fn try_recv_ref(&self) -> Result<RecvRef<'_, T, R>, TryRecvError> {
        match self.chan.try_claim() {
            Ok(pos) => Ok(RecvRef::new(&self.chan, pos)),
            Err(TryError::WouldBlock) => Err(TryRecvError::Empty),
            Err(TryError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// Moves the message out of the claimed `pos`, leaving a new element, and releases it.
    #[inline]
    pub(super) fn take(&self, pos: usize) -> T {
        let claim = Claim {
            chan: &*self.chan,
            pos,
        };
        let fresh = self.chan.recycle.new_element();
        // SAFETY: we own the claimed `pos` until `claim` drops; the slot holds a valid `T`
        // published by its sender, and `replace` leaves a valid `T` behind.
        claim.with_value(|p| unsafe { core::ptr::replace(p, fresh) })
    }
}

impl<T, R: Recycle<T>> Receiver<T, R> {
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

    /// Whether the channel is closed (there may still be messages to drain).
    pub fn is_closed(&self) -> bool {
        self.chan.ring.is_closed()
    }

    /// Closes the channel: sends fail from now on, the remaining messages can still be
    /// received. Returns `true` if this call closed it.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// The channel's counters.
    pub fn stats(&self) -> Stats {
        self.chan.stats()
    }
}

impl<T, R: Recycle<T>> Clone for Receiver<T, R> {
    fn clone(&self) -> Self {
        self.chan.add_receiver();
        Self::new(self.chan.clone())
    }
}

impl<T, R: Recycle<T>> Drop for Receiver<T, R> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T, R: Recycle<T>> fmt::Debug for Receiver<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}
