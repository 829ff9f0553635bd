//! Streaming log readers.
