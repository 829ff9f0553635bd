//! Transparency log of exchanges.

mod checkpoint;
mod error;
mod hash;
mod record;
mod tree;

pub use checkpoint::*;
pub use error::{BoxError, Error};
pub use hash::*;
pub use record::*;
pub use tree::*;
