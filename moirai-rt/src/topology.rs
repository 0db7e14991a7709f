//! Machine topology (placeholder).
