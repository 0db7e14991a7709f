//! The Moirai runtime.
mod error;
pub mod topology;
pub use error::{BuildError, JoinError};
