//! [`Receiver`]: takes whole batches and hands them out as batches or one message at a time.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::adapt::Adapter;
use super::buffer::Batch;
use super::shared::{Patience, Shared};
use super::stats::Stats;
use super::sync::Arc;

/// The receiving half of a batch channel.
///
/// [`recv_batch`](Self::recv_batch) yields whole batches (one synchronisation each);
/// [`recv`](Self::recv) and the [`Stream`] impl yield single messages from the batch taken
/// last. Both are cancel-safe. The receiver also runs the threshold [`Adapter`] and picks up
/// partial batches (see the [module docs](super)). Dropping it drops every unreceived message.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The rest of the batch `recv` is working through, in order. A deque rather than a
    /// reversed `Vec`: reversing wrote every message's cache line on the receiver's side, and
    /// the buffer goes back to a sender, which then had to pull those dirty lines back. `Vec`
    /// and `VecDeque` convert into each other without copying here (the deque is empty, or was
    /// just made from a `Vec`), so the buffer is still recycled.
    current: VecDeque<T>,
    adapter: Adapter,
    /// Set while partial batches are filling under load (see `Shared::still_young`).
    patience: Option<Patience>,
}

impl<T> Receiver<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>) -> Self {
        let c = *shared.config();
        let adapter = Adapter::new(c.min_batch, c.max_batch, c.max_delay_nanos, shared.now());
        Self {
            shared,
            current: VecDeque::new(),
            adapter,
            patience: None,
        }
    }

    /// The next message, or `None` once every sender is gone and everything was received.
    pub async fn recv(&mut self) -> Option<T> {
        crate::coop::proceed().await;
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next batch (never empty), or `None` once every sender is gone and everything was
    /// received. Messages left over from [`recv`](Self::recv) come first, as one batch.
    pub async fn recv_batch(&mut self) -> Option<Batch<T>> {
        crate::coop::proceed().await;
        poll_fn(|cx| self.poll_recv_batch(cx)).await
    }

    /// Polls for the next message.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(value) = self.current.pop_front() {
            return Poll::Ready(Some(value));
        }
        if self.stay_patient(cx) {
            return Poll::Pending;
        }
        let recycle = Some(Vec::from(std::mem::take(&mut self.current)));
        match self
            .shared
            .poll_batch(cx.waker(), recycle, &mut self.adapter, &mut self.patience)
        {
            Poll::Ready(Some(batch)) => {
                self.current = VecDeque::from(batch);
                Poll::Ready(self.current.pop_front())
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Polls for the next batch.
    pub fn poll_recv_batch(&mut self, cx: &mut Context<'_>) -> Poll<Option<Batch<T>>> {
        if !self.current.is_empty() {
            let rest = Vec::from(std::mem::take(&mut self.current));
            return Poll::Ready(Some(Batch::new(rest, Arc::clone(&self.shared))));
        }
        if self.stay_patient(cx) {
            return Poll::Pending;
        }
        let recycle = Some(Vec::from(std::mem::take(&mut self.current)));
        self.shared
            .poll_batch(cx.waker(), recycle, &mut self.adapter, &mut self.patience)
            .map(|b| b.map(|b| Batch::new(b, Arc::clone(&self.shared))))
    }

    /// While partial batches fill under load, polls again later (waking itself) without taking
    /// the state mutex that publishing senders need.
    fn stay_patient(&mut self, cx: &mut Context<'_>) -> bool {
        match &self.patience {
            Some(p) if self.shared.still_young(p) => {
                cx.waker().wake_by_ref();
                true
            }
            _ => false,
        }
    }

    /// A snapshot of the channel's counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The batch threshold now in force.
    pub fn threshold(&self) -> usize {
        self.shared.threshold()
    }
}

// The receiver never pins its fields (it is not self-referential); `Vec<T>` alone would make
// it `!Unpin` for `!Unpin` messages.
impl<T> Unpin for Receiver<T> {}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.close_rx();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("held", &self.current.len())
            .finish_non_exhaustive()
    }
}
