//! The Moirai runtime.
