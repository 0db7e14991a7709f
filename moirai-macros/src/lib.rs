//! Moirai proc macros.
