//! [`SyncCursors`](crate::SyncCursors) over PostgreSQL. (helper A)
#![allow(unused_variables, unused_imports, clippy::todo)]
use super::PgStore;
use crate::*;
use accord_ledger::{ExchangeRecord, Hash, Tile};
use std::sync::Arc;

impl crate::SyncCursors for PgStore {
    fn sync_cursor(&self, key: &str) -> Result<Option<String>, StoreError> {
        todo!("A: SyncCursors::sync_cursor")
    }

    fn sync_cursors(&self) -> Result<Vec<(String, String)>, StoreError> {
        todo!("A: SyncCursors::sync_cursors")
    }

    fn set_sync_cursor(&self, key: &str, added_after: &str) -> Result<(), StoreError> {
        todo!("A: SyncCursors::set_sync_cursor")
    }

    fn import_sync_cursors(&self, cursors: &[(&str, &str)]) -> Result<usize, StoreError> {
        todo!("A: SyncCursors::import_sync_cursors")
    }

    fn push_pending(&self, key: &str) -> Result<Option<PendingPush>, StoreError> {
        todo!("A: SyncCursors::push_pending")
    }

    fn push_acked(&self, key: &str, last_seq: i64) -> Result<(), StoreError> {
        todo!("A: SyncCursors::push_acked")
    }

    fn partner_health(&self, partner: &str) -> Result<Option<PartnerHealth>, StoreError> {
        todo!("A: SyncCursors::partner_health")
    }

    fn partner_healths(&self) -> Result<Vec<PartnerHealth>, StoreError> {
        todo!("A: SyncCursors::partner_healths")
    }

    fn set_partner_health(&self, health: &PartnerHealth) -> Result<(), StoreError> {
        todo!("A: SyncCursors::set_partner_health")
    }

}
