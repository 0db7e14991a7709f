//! Always-on, nearly free channel statistics.
//!
//! `sent`/`received` are read from the ring cursors (no extra work per message); the wait
//! counters are only touched on the slow path, when an operation is about to park.

/// A snapshot of a channel's counters (see [`Sender::stats`](super::Sender::stats)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Slots reserved by senders (messages sent, including ones still being written and
    /// reservations abandoned by a dropped `Sink`).
    pub sent: u64,
    /// Slots claimed by receivers (messages received, including ones still being read).
    pub received: u64,
    /// Send operations that found the channel full and registered to wait.
    pub full_waits: u64,
    /// Receive operations that found the channel empty and registered to wait.
    pub empty_waits: u64,
}
