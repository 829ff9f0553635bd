//! Indicator index.
