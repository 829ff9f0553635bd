//! Transparency log of exchanges.
