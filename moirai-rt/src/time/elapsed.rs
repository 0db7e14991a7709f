//! [`Elapsed`]: the error a [`Timeout`](super::Timeout) yields when its deadline passes first.

use std::fmt;

/// The deadline of a [`timeout`](super::timeout) passed before its future completed.
///
/// The future was dropped together with the `Timeout`; its output is lost.
///
/// ```
/// use std::time::Duration;
///
/// let err = moirai_rt::block_on(moirai_rt::time::timeout(
///     Duration::from_millis(1),
///     std::future::pending::<()>(),
/// ))
/// .unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed(());

impl Elapsed {
    pub(super) fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
