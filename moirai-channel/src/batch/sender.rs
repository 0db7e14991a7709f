//! [`Sender`]: fills its own partial batch and publishes it whole.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_sink::Sink;

use super::error::{SendError, TrySendError};
use super::shared::{Publish, Push, Shared, Slot};
use super::stats::{Cause, Stats};
use super::sync::Arc;

/// The sending half of a batch channel.
///
/// Each sender (each clone) has its own partial batch, published when it reaches the adaptive
/// threshold, at once when the receiver is waiting, on [`flush`](Self::flush), and on drop:
/// dropping a sender never loses messages. Messages from one sender arrive in the order sent;
/// across senders no order is promised. Operations take `&mut self`: clone the sender for
/// concurrent producers.
///
/// As a [`Sink`], `poll_ready` waits while the partial batch is full and the channel has no
/// room, `poll_flush` publishes the partial batch, and `poll_close` flushes and then detaches
/// this sender (the channel closes when every sender is dropped or closed).
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    slot: Arc<Slot<T>>,
    /// Detached by `poll_close`.
    closed: bool,
}

impl<T> Sender<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>, slot: Arc<Slot<T>>) -> Self {
        Self {
            shared,
            slot,
            closed: false,
        }
    }

    /// Sends a message, waiting only if this sender's batch is full and the channel has no
    /// room to publish it.
    ///
    /// Fails, returning the message, if the receiver is gone (or this sender was closed as a
    /// `Sink`). Cancelling a waiting `send` drops its message; messages already accepted stay
    /// in the partial batch.
    pub async fn send(&mut self, value: T) -> Result<(), SendError<T>> {
        crate::coop::proceed().await;
        let mut item = Some(value);
        poll_fn(|cx| self.poll_send(Some(cx.waker()), &mut item))
            .await
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends a message if that needs no waiting.
    pub fn try_send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        let mut item = Some(value);
        match self.poll_send(None, &mut item) {
            Poll::Ready(result) => result,
            Poll::Pending => unreachable!("poll_send without a waker never pends"),
        }
    }

    /// Publishes this sender's partial batch, waiting for room if needed.
    ///
    /// Fails if the receiver is gone (any held messages are dropped).
    pub async fn flush(&mut self) -> Result<(), SendError<()>> {
        poll_fn(|cx| self.poll_publish(Some(cx.waker()), Cause::Explicit)).await
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.rx_closed()
    }

    /// A snapshot of the channel's counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Without a waker, `Full` is an error instead of `Pending`.
    #[inline]
    fn poll_send(
        &mut self,
        waker: Option<&Waker>,
        item: &mut Option<T>,
    ) -> Poll<Result<(), TrySendError<T>>> {
        loop {
            let value = item.take().expect("poll_send polled after completion");
            if self.closed || self.shared.rx_closed() {
                return Poll::Ready(Err(TrySendError::Closed(value)));
            }
            match self.shared.push(&self.slot, value, false) {
                Push::Pushed(None) => return Poll::Ready(Ok(())),
                Push::Pushed(Some(cause)) => return Poll::Ready(self.publish_after_push(cause)),
                Push::Full(value) => match self.shared.publish(&self.slot, Cause::Size, waker) {
                    Publish::Done | Publish::Empty => *item = Some(value),
                    Publish::Full if waker.is_some() => {
                        *item = Some(value);
                        return Poll::Pending;
                    }
                    Publish::Full => return Poll::Ready(Err(TrySendError::Full(value))),
                    Publish::Closed(held) => {
                        drop(held);
                        return Poll::Ready(Err(TrySendError::Closed(value)));
                    }
                },
            }
        }
    }

    /// Publishes after a push asked for it; a full channel just leaves the batch held.
    fn publish_after_push(&mut self, cause: Cause) -> Result<(), TrySendError<T>> {
        match self.shared.publish(&self.slot, cause, None) {
            Publish::Done | Publish::Empty | Publish::Full => Ok(()),
            // The receiver went away meanwhile: our message is the last one taken back.
            Publish::Closed(mut held) => match held.pop() {
                Some(value) => Err(TrySendError::Closed(value)),
                None => Ok(()),
            },
        }
    }

    fn poll_publish(
        &mut self,
        waker: Option<&Waker>,
        cause: Cause,
    ) -> Poll<Result<(), SendError<()>>> {
        if self.closed {
            return Poll::Ready(Ok(()));
        }
        match self.shared.publish(&self.slot, cause, waker) {
            Publish::Done | Publish::Empty => Poll::Ready(Ok(())),
            Publish::Full => Poll::Pending,
            Publish::Closed(held) => {
                drop(held);
                Poll::Ready(Err(SendError(())))
            }
        }
    }

    fn detach(&mut self) {
        if !self.closed {
            self.closed = true;
            self.shared.detach(&self.slot);
        }
    }
}

impl<T> Clone for Sender<T> {
    /// A new sender with its own (empty) partial batch. A clone of a closed sender is closed.
    fn clone(&self) -> Self {
        if self.closed {
            return Self {
                shared: Arc::clone(&self.shared),
                slot: Arc::clone(&self.slot),
                closed: true,
            };
        }
        let slot = self.shared.add_sender();
        Self::new(Arc::clone(&self.shared), slot)
    }
}

impl<T> Drop for Sender<T> {
    /// Publishes the partial batch (capacity notwithstanding) and detaches.
    fn drop(&mut self) {
        self.detach();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

// The sender never pins its fields (it is not self-referential).
impl<T> Unpin for Sender<T> {}

impl<T> Sink<T> for Sender<T> {
    /// The receiver is gone (or this sender is closed); `start_send` returns the message.
    type Error = SendError<Option<T>>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        if this.closed || this.shared.rx_closed() {
            return Poll::Ready(Err(SendError(None)));
        }
        if this.shared.has_room(&this.slot) {
            return Poll::Ready(Ok(()));
        }
        this.poll_publish(Some(cx.waker()), Cause::Size)
            .map_err(|_| SendError(None))
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        if this.closed || this.shared.rx_closed() {
            return Err(SendError(Some(item)));
        }
        match this.shared.push(&this.slot, item, true) {
            Push::Pushed(None) => Ok(()),
            Push::Pushed(Some(cause)) => this
                .publish_after_push(cause)
                .map_err(|e| SendError(Some(e.into_inner()))),
            Push::Full(_) => unreachable!("a forced push always succeeds"),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut()
            .poll_publish(Some(cx.waker()), Cause::Explicit)
            .map_err(|_| SendError(None))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let flushed = this.poll_publish(Some(cx.waker()), Cause::Explicit);
        if flushed.is_ready() {
            this.detach();
        }
        flushed.map_err(|_| SendError(None))
    }
}
