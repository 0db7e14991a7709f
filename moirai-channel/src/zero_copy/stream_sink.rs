//! `Stream` for [`Receiver`] and `Sink` for [`Sender`].
//!
//! These `poll`-based paths cannot keep a listener on a stack frame, so a pending
//! `poll_next`/`poll_ready` keeps a heap-allocated listener in the handle (one allocation per
//! *park*, never per message; the async methods allocate nothing at all).

use core::pin::Pin;
use core::task::{ready, Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use futures_sink::Sink;

use super::error::Closed;
use super::recycle::Recycle;
use super::{Receiver, Sender};

impl<T, R: Recycle<T>> Stream for Receiver<T, R> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        if this.terminated {
            return Poll::Ready(None);
        }
        let chan = &this.chan;
        let result = ready!(chan
            .recv_side
            .poll_wait(&mut this.listener, cx, || chan.try_claim()));
        Poll::Ready(match result {
            Ok(pos) => Some(this.take(pos)),
            Err(_) => {
                this.terminated = true;
                None
            }
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

impl<T, R: Recycle<T>> FusedStream for Receiver<T, R> {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

/// `poll_ready` reserves a slot, so `start_send` cannot fail for lack of room; a reservation
/// not used before the sender drops (or `poll_close`) is published as an empty slot that
/// receivers skip.
///
/// `poll_close` closes the whole channel (like `futures::channel::mpsc`), so a receiver ends
/// after draining once e.g. `Stream::forward` into this sink completes.
impl<T, R> Sink<T> for Sender<T, R> {
    type Error = Closed;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        let this = &mut *self;
        if this.reserved.is_some() {
            return Poll::Ready(Ok(()));
        }
        let chan = &this.chan;
        let result = ready!(chan
            .send_side
            .poll_wait(&mut this.listener, cx, || chan.ring.try_reserve()));
        Poll::Ready(match result {
            Ok(pos) => {
                this.reserved = Some(pos);
                Ok(())
            }
            Err(_) => Err(Closed),
        })
    }

    /// # Panics
    ///
    /// If called without a successful `poll_ready` while the channel is full (a breach of the
    /// `Sink` contract).
    fn start_send(mut self: Pin<&mut Self>, item: T) -> Result<(), Closed> {
        let pos = match self.reserved.take() {
            Some(pos) => pos,
            None => match self.try_send(item) {
                Ok(()) => return Ok(()),
                Err(e) if e.is_closed() => return Err(Closed),
                Err(_) => panic!("Sink::start_send called without a successful poll_ready"),
            },
        };
        // SAFETY: we own the reserved `pos` until `publish`; the slot holds a valid `T`.
        let old = self
            .chan
            .ring
            .with_value(pos, |p| unsafe { core::ptr::replace(p, item) });
        self.chan.publish(pos, false);
        drop(old);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        self.abandon_reservation();
        self.close();
        Poll::Ready(Ok(()))
    }
}
