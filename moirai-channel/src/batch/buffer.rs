//! [`Batch`]: a run of messages taken with one synchronisation, whose buffer is reused.

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::shared::Shared;
use super::sync::Arc;

/// A batch of messages from [`Receiver::recv_batch`](super::Receiver::recv_batch).
///
/// Derefs to `[T]` and iterates by value. When dropped (or when its by-value iterator is), the
/// emptied buffer goes back to the channel for senders to reuse, so a steady flow allocates
/// nothing per batch. Messages within a batch come from one sender, in the order it sent them.
pub struct Batch<T> {
    buf: Vec<T>,
    shared: Arc<Shared<T>>,
}

impl<T> Batch<T> {
    pub(crate) fn new(buf: Vec<T>, shared: Arc<Shared<T>>) -> Self {
        Self { buf, shared }
    }

    /// Keeps the messages as a `Vec` (the buffer is then not reused).
    pub fn into_vec(mut self) -> Vec<T> {
        std::mem::take(&mut self.buf)
    }
}

impl<T> Deref for Batch<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf
    }
}

impl<T> DerefMut for Batch<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf
    }
}

impl<T: fmt::Debug> fmt::Debug for Batch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.buf.iter()).finish()
    }
}

impl<T> Drop for Batch<T> {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        self.shared.recycle(buf);
    }
}

impl<T> IntoIterator for Batch<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(mut self) -> IntoIter<T> {
        let mut rev = std::mem::take(&mut self.buf);
        rev.reverse();
        IntoIter {
            rev,
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<'a, T> IntoIterator for &'a Batch<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.buf.iter()
    }
}

/// By-value iterator over a [`Batch`]; returns the buffer to the channel when dropped.
pub struct IntoIter<T> {
    /// Remaining messages, last first.
    rev: Vec<T>,
    shared: Arc<Shared<T>>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rev.pop()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rev.len(), Some(self.rev.len()))
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}

impl<T> Drop for IntoIter<T> {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.rev);
        buf.clear();
        self.shared.recycle(buf);
    }
}
