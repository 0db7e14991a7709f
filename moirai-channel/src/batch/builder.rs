//! [`Builder`] and [`channel`]: settings, their validation, and construction.

use std::time::Duration;

use super::error::BuildError;
use super::receiver::Receiver;
use super::sender::Sender;
use super::shared::{Config, Shared};

/// Default smallest batch threshold.
pub const DEFAULT_MIN_BATCH: usize = 1;
/// Default largest batch threshold.
pub const DEFAULT_MAX_BATCH: usize = 256;
/// Default bound on how long a partial batch is held while the receiver is busy.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_micros(100);

/// A batch channel with room for `capacity` published messages and default batching settings.
///
/// # Panics
/// If `capacity` is zero.
///
/// ```
/// # futures::executor::block_on(async {
/// let (mut tx, mut rx) = moirai_channel::batch::channel::<u32>(1024);
/// tx.send(7).await.unwrap();
/// assert_eq!(rx.recv().await, Some(7));
/// # });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    Builder::new(capacity).build()
}

/// Settings of a batch channel.
///
/// * `capacity`: messages the queue of published batches holds before senders wait (a batch
///   larger than the free room waits unless the queue is empty). Each sender also holds up to
///   the current threshold in its own partial batch.
/// * `min_batch..=max_batch`: range of the adaptive threshold (both capped at `capacity`).
/// * `max_delay`: how long a partial batch may wait while the receiver is busy; an idle
///   receiver gets messages at once.
///
/// ```
/// use std::time::Duration;
/// use moirai_channel::batch::{BuildError, Builder};
///
/// let (tx, rx) = Builder::new(4096)
///     .min_batch(4)
///     .max_batch(512)
///     .max_delay(Duration::from_micros(200))
///     .build::<u64>();
/// assert_eq!(rx.stats().threshold, 4);
/// # drop((tx, rx));
///
/// let err = Builder::new(16).min_batch(8).max_batch(4).try_build::<u64>().unwrap_err();
/// assert_eq!(err, BuildError::MinAboveMax { min: 8, max: 4 });
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    capacity: usize,
    min_batch: usize,
    max_batch: usize,
    max_delay: Duration,
}

impl Builder {
    /// Settings with the given capacity and the defaults ([`DEFAULT_MIN_BATCH`],
    /// [`DEFAULT_MAX_BATCH`], [`DEFAULT_MAX_DELAY`]).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            min_batch: DEFAULT_MIN_BATCH,
            max_batch: DEFAULT_MAX_BATCH,
            max_delay: DEFAULT_MAX_DELAY,
        }
    }

    /// The smallest batch threshold.
    pub fn min_batch(mut self, n: usize) -> Self {
        self.min_batch = n;
        self
    }

    /// The largest batch threshold.
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n;
        self
    }

    /// How long a partial batch may be held while the receiver is busy.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), BuildError> {
        if self.capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        if self.max_batch == 0 {
            return Err(BuildError::ZeroMaxBatch);
        }
        if self.min_batch == 0 {
            return Err(BuildError::ZeroMinBatch);
        }
        if self.min_batch > self.max_batch {
            return Err(BuildError::MinAboveMax {
                min: self.min_batch,
                max: self.max_batch,
            });
        }
        Ok(())
    }

    /// Builds the channel, or says which setting is invalid.
    pub fn try_build<T>(self) -> Result<(Sender<T>, Receiver<T>), BuildError> {
        self.validate()?;
        let config = Config {
            capacity: self.capacity,
            min_batch: self.min_batch.min(self.capacity),
            max_batch: self.max_batch.min(self.capacity),
            max_delay_nanos: u64::try_from(self.max_delay.as_nanos()).unwrap_or(u64::MAX),
        };
        let (shared, slot) = Shared::new(config);
        Ok((Sender::new(shared.clone(), slot), Receiver::new(shared)))
    }

    /// Builds the channel.
    ///
    /// # Panics
    /// Here, at the call, if the settings are invalid (see [`BuildError`]).
    #[track_caller]
    pub fn build<T>(self) -> (Sender<T>, Receiver<T>) {
        match self.try_build() {
            Ok(pair) => pair,
            Err(e) => panic!("invalid batch channel settings: {e}"),
        }
    }
}
