//! [`LedgerRead`] over PostgreSQL: size, roots, entries, proofs, tiles;
//! the small tables' reads are in `tables.rs`, the full check in
//! `check.rs`.

use super::{PgHashes, tables};
use crate::ledger::shared::serve_tile;
use crate::pg::PgStore;
use crate::{Alert, LedgerCheck, LedgerEntry, LedgerRead, StoreError, Witnessed};
use accord_ledger::{
    Hash, HashReader, Tile, consistency_proof, inclusion_proof, stored_hash_index, tree_root,
};
use postgres::types::Type;

/// The log's size as `accord_meta` holds it, read through `conn`.
pub(super) fn size_of(
    conn: &mut impl postgres::GenericClient,
    server: &str,
) -> Result<u64, StoreError> {
    let what = "the ledger size";
    let n: i64 = conn
        .query_one(
            "SELECT value FROM accord_meta WHERE key = 'ledger_size'",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(crate::pg::pg_err(server, what))?;
    u64::try_from(n).map_err(|_| {
        super::ledger_error(
            server,
            what,
            accord_ledger::Error::Checkpoint {
                reason: format!("accord_meta holds a negative ledger size {n}"),
            },
        )
    })
}

/// A leaf row (`idx`, `leaf`, `seq`) as a [`LedgerEntry`].
fn entry(r: &postgres::Row) -> Result<LedgerEntry, postgres::Error> {
    Ok(LedgerEntry {
        index: r.try_get::<_, i64>(0)?.cast_unsigned(),
        leaf: r.try_get(1)?,
        seq: r.try_get(2)?,
    })
}

/// `n` as a `bigint` bound (saturating: a bound past every index).
fn bound(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl LedgerRead for PgStore {
    fn ledger_size(&self) -> Result<u64, StoreError> {
        size_of(&mut *self.client(), &self.server)
    }

    fn ledger_root(&self, size: u64) -> Result<Hash, StoreError> {
        tree_root(&PgHashes::new(&mut *self.client()), size)
            .map_err(self.lerr(&format!("the ledger root at size {size}")))
    }

    /// The size, then the root of that size: the log only grows and a
    /// stored hash never changes, so the pair is the one a snapshot taken
    /// when the size was read would give.
    fn ledger_head(&self) -> Result<(u64, Hash), StoreError> {
        let size = self.ledger_size()?;
        Ok((size, self.ledger_root(size)?))
    }

    fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<LedgerEntry>, StoreError> {
        let what = format!("ledger entries {from}..{to}");
        self.client()
            .query_typed(
                "SELECT idx, leaf, seq FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                &[(&bound(from), Type::INT8), (&bound(to), Type::INT8)],
            )
            .and_then(|rows| rows.iter().map(entry).collect())
            .map_err(self.err(&what))
    }

    /// One pass in log order over the leaves recording one of `seqs` or
    /// holding `needle` (every leaf keeps its bytes here, deleted
    /// objects' records too), stopped after `limit + 1` matches.
    fn ledger_entries_about(
        &self,
        seqs: &[i64],
        needle: &[u8],
        limit: usize,
    ) -> Result<(Vec<LedgerEntry>, bool), StoreError> {
        let what = "the log's records about an object";
        let seqs = seqs.to_vec();
        let take = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let mut out = self
            .client()
            .query_typed(
                "SELECT idx, leaf, seq FROM ledger_leaves
                 WHERE seq = ANY($1) OR position($2::bytea in leaf) > 0
                 ORDER BY idx LIMIT $3",
                &[
                    (&seqs, Type::INT8_ARRAY),
                    (&needle, Type::BYTEA),
                    (&take, Type::INT8),
                ],
            )
            .and_then(|rows| rows.iter().map(entry).collect::<Result<Vec<_>, _>>())
            .map_err(self.err(what))?;
        let more = out.len() > limit;
        out.truncate(limit);
        Ok((out, more))
    }

    fn ledger_inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), StoreError> {
        let what = format!("the inclusion proof of leaf {index} at size {size}");
        let mut client = self.client();
        let leaf_index = stored_hash_index(0, index);
        // One round trip: the proof's hashes and the leaf's.
        let r = PgHashes::new(&mut *client).also_reading(&[leaf_index]);
        let proof = inclusion_proof(&r, index, size).map_err(self.lerr(&what))?;
        let leaf = r.read_hashes(&[stored_hash_index(0, index)]).map_err(|e| {
            self.lerr(&what)(accord_ledger::Error::Storage {
                what: "the leaf hash",
                count: 1,
                source: Box::new(e),
            })
        })?;
        Ok((leaf[0], proof))
    }

    fn ledger_consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, StoreError> {
        consistency_proof(&PgHashes::new(&mut *self.client()), first, second)
            .map_err(self.lerr(&format!("the consistency proof from {first} to {second}")))
    }

    fn ledger_tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError> {
        serve_tile(
            self.ledger_size()?,
            tile,
            |from, to| self.ledger_entries(from, to),
            |tile| {
                accord_ledger::tiles::tile_bytes(&PgHashes::new(&mut *self.client()), tile)
                    .map_err(self.lerr(&format!("tile {}", tile.path())))
            },
            |what, e| self.lerr(what)(e),
        )
    }

    fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        tables::latest_checkpoint(self)
    }

    fn ledger_checkpoint_history(&self, limit: usize) -> Result<Vec<(u64, i64, u64)>, StoreError> {
        tables::checkpoint_history(self, limit)
    }

    fn ledger_checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        tables::checkpoint_at(self, size)
    }

    fn ledger_cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        tables::cosignatures(self, size)
    }

    fn ledger_witnessed(
        &self,
        partner: &str,
        size: Option<u64>,
    ) -> Result<Option<Witnessed>, StoreError> {
        tables::witnessed(self, partner, size)
    }

    fn ledger_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        tables::alerts(self)
    }

    fn ledger_check_at(&self, sizes: &[u64]) -> Result<LedgerCheck, StoreError> {
        super::check::check_at(self, sizes)
    }
}
