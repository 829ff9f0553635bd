//! Transparency log of exchanges.

mod checkpoint;
mod cosign;
mod error;
mod hash;
mod record;
pub mod tiles;
mod tree;
pub mod witness;

pub use checkpoint::*;
pub use cosign::*;
pub use error::{BoxError, Error};
pub use hash::*;
pub use record::*;
pub use tiles::{Tile, TileKind, TileSource, TiledReader};
pub use tree::*;
pub use witness::{WitnessOutcome, witness_checkpoint};
