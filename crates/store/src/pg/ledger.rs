//! The log over PostgreSQL. (helper B)
#![allow(unused_variables, unused_imports, clippy::todo)]
use super::PgStore;
use crate::*;
use accord_ledger::{ExchangeRecord, Hash, Tile};
use std::sync::Arc;

impl crate::LedgerRead for PgStore {
    fn ledger_size(&self) -> Result<u64, StoreError> {
        todo!("B: LedgerRead::ledger_size")
    }

    fn ledger_root(&self, size: u64) -> Result<Hash, StoreError> {
        todo!("B: LedgerRead::ledger_root")
    }

    fn ledger_head(&self) -> Result<(u64, Hash), StoreError> {
        todo!("B: LedgerRead::ledger_head")
    }

    fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<LedgerEntry>, StoreError> {
        todo!("B: LedgerRead::ledger_entries")
    }

    fn ledger_entries_about(
        &self,
        seqs: &[i64],
        needle: &[u8],
        limit: usize,
    ) -> Result<(Vec<LedgerEntry>, bool), StoreError> {
        todo!("B: LedgerRead::ledger_entries_about")
    }

    fn ledger_inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), StoreError> {
        todo!("B: LedgerRead::ledger_inclusion_proof")
    }

    fn ledger_consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, StoreError> {
        todo!("B: LedgerRead::ledger_consistency_proof")
    }

    fn ledger_tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>, StoreError> {
        todo!("B: LedgerRead::ledger_tile")
    }

    fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        todo!("B: LedgerRead::ledger_latest_checkpoint")
    }

    fn ledger_checkpoint_history(&self, limit: usize) -> Result<Vec<(u64, i64, u64)>, StoreError> {
        todo!("B: LedgerRead::ledger_checkpoint_history")
    }

    fn ledger_checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        todo!("B: LedgerRead::ledger_checkpoint_at")
    }

    fn ledger_cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        todo!("B: LedgerRead::ledger_cosignatures")
    }

    fn ledger_witnessed(
        &self,
        partner: &str,
        size: Option<u64>,
    ) -> Result<Option<Witnessed>, StoreError> {
        todo!("B: LedgerRead::ledger_witnessed")
    }

    fn ledger_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        todo!("B: LedgerRead::ledger_alerts")
    }

    fn ledger_check_at(&self, sizes: &[u64]) -> Result<LedgerCheck, StoreError> {
        todo!("B: LedgerRead::ledger_check_at")
    }

    fn ledger_check(&self) -> Result<LedgerCheck, StoreError>  {
        todo!("B: LedgerRead::ledger_check")
    }

}

impl crate::LedgerWrite for PgStore {
    fn ledger_save_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        todo!("B: LedgerWrite::ledger_save_checkpoint")
    }

    fn ledger_add_cosignature(
        &self,
        size: u64,
        witness: &str,
        key_id: u32,
        line: &str,
    ) -> Result<(), StoreError> {
        todo!("B: LedgerWrite::ledger_add_cosignature")
    }

    fn ledger_save_witnessed(
        &self,
        partner: &str,
        size: u64,
        root: &Hash,
        note: &[u8],
    ) -> Result<(), StoreError> {
        todo!("B: LedgerWrite::ledger_save_witnessed")
    }

    fn ledger_add_alert(
        &self,
        partner: &str,
        kind: &str,
        detail: &str,
        first: Option<&[u8]>,
        second: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        todo!("B: LedgerWrite::ledger_add_alert")
    }

}

/// A leaf the writer appends: its bytes (a record's JCS), their RFC 9162
/// leaf hash, and the object version it records (`None` for `out`
/// records).
pub(crate) struct PgLeaf<'a> {
    pub bytes: &'a [u8],
    pub hash: Hash,
    pub seq: Option<i64>,
}

/// Appends `leaves` to a log of `size` leaves inside the writer's
/// transaction (which holds the sequencer lock): their `ledger_leaves`
/// rows and the stored hashes they complete in `ledger_hashes`. Returns
/// the new size; the caller moves `accord_meta.ledger_size` to it in the
/// same transaction.
pub(crate) fn append(
    tx: &mut postgres::Transaction<'_>,
    server: &str,
    size: u64,
    leaves: &[PgLeaf<'_>],
) -> Result<u64, StoreError> {
    todo!("B: append")
}
