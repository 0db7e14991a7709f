//! Error types of the batch channel.

use std::fmt;

/// The receiver is gone; the message that could not be sent is returned.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a batch channel whose receiver is gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`](super::Sender::try_send) did not take the message.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The sender's batch is full and the channel has no room to publish it.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) | Self::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("batch channel is full"),
            Self::Closed(_) => f.write_str("batch channel's receiver is gone"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// An invalid [`Builder`](super::Builder) setting, reported by `try_build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildError {
    /// `capacity` was zero.
    ZeroCapacity,
    /// `max_batch` was zero.
    ZeroMaxBatch,
    /// `min_batch` was zero.
    ZeroMinBatch,
    /// `min_batch` was greater than `max_batch`.
    MinAboveMax {
        /// The requested minimum.
        min: usize,
        /// The requested maximum.
        max: usize,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCapacity => f.write_str("batch channel capacity must be at least 1"),
            Self::ZeroMaxBatch => f.write_str("batch channel max_batch must be at least 1"),
            Self::ZeroMinBatch => f.write_str("batch channel min_batch must be at least 1"),
            Self::MinAboveMax { min, max } => {
                write!(
                    f,
                    "batch channel min_batch ({min}) is greater than max_batch ({max})"
                )
            }
        }
    }
}

impl std::error::Error for BuildError {}
