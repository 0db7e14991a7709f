//! Counters of what the batch channel published and why.

/// Why a batch was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The sender's batch reached the threshold.
    Size,
    /// The receiver picked up a partial batch older than `max_delay`.
    Delay,
    /// `flush`, `poll_flush` or `poll_close`.
    Explicit,
    /// A sender was dropped holding a partial batch.
    Drop,
    /// The receiver was waiting (the sender published at once) or idle (it picked the batch up).
    IdleReceiver,
}

/// A snapshot of a batch channel's counters ([`Receiver::stats`](super::Receiver::stats),
/// [`Sender::stats`](super::Sender::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Batches made visible to the receiver.
    pub batches_published: u64,
    /// Messages in those batches.
    pub items_published: u64,
    /// Batches published because they reached the threshold.
    pub flushes_size: u64,
    /// Partial batches picked up because they were older than `max_delay`.
    pub flushes_delay: u64,
    /// Batches published by `flush`, `poll_flush` or `poll_close`.
    pub flushes_explicit: u64,
    /// Partial batches published by a dropped sender.
    pub flushes_drop: u64,
    /// Batches published at once for a waiting receiver, or picked up by an idle one.
    pub flushes_idle_receiver: u64,
    /// The batch threshold now in force.
    pub threshold: usize,
}

impl Stats {
    /// Mean messages per published batch (0 before the first batch).
    pub fn mean_batch_size(&self) -> f64 {
        if self.batches_published == 0 {
            0.0
        } else {
            self.items_published as f64 / self.batches_published as f64
        }
    }

    pub(crate) fn record(&mut self, cause: Cause, items: usize) {
        self.batches_published += 1;
        self.items_published += items as u64;
        let counter = match cause {
            Cause::Size => &mut self.flushes_size,
            Cause::Delay => &mut self.flushes_delay,
            Cause::Explicit => &mut self.flushes_explicit,
            Cause::Drop => &mut self.flushes_drop,
            Cause::IdleReceiver => &mut self.flushes_idle_receiver,
        };
        *counter += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_mean() {
        let mut s = Stats::default();
        assert_eq!(s.mean_batch_size(), 0.0);
        s.record(Cause::Size, 10);
        s.record(Cause::Drop, 2);
        s.record(Cause::IdleReceiver, 1);
        s.record(Cause::Delay, 3);
        s.record(Cause::Explicit, 4);
        assert_eq!(s.batches_published, 5);
        assert_eq!(s.items_published, 20);
        assert_eq!(s.mean_batch_size(), 4.0);
        assert_eq!(
            (
                s.flushes_size,
                s.flushes_delay,
                s.flushes_explicit,
                s.flushes_drop,
                s.flushes_idle_receiver
            ),
            (1, 1, 1, 1, 1)
        );
    }
}
