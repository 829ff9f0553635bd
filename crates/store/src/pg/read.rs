//! [`ObjectRead`](crate::ObjectRead) over PostgreSQL. (helper A)
#![allow(unused_variables, unused_imports, clippy::todo)]
use super::PgStore;
use crate::*;
use accord_ledger::{ExchangeRecord, Hash, Tile};
use std::sync::Arc;

impl crate::ObjectRead for PgStore {
    fn query(&self, q: &Query, limit: usize) -> Result<Page, StoreError> {
        todo!("A: ObjectRead::query")
    }

    fn query_raw(&self, q: &Query, limit: usize) -> Result<RawPage, StoreError>  {
        todo!("A: ObjectRead::query_raw")
    }

    fn get_versions(&self, collection: &str, id: &str) -> Result<Vec<StoredObject>, StoreError> {
        todo!("A: ObjectRead::get_versions")
    }

    fn count(&self, collection: Option<&str>) -> Result<u64, StoreError> {
        todo!("A: ObjectRead::count")
    }

    fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError> {
        todo!("A: ObjectRead::collections")
    }

    fn tally(&self, collection: &str) -> Result<Vec<crate::Tally>, StoreError> {
        todo!("A: ObjectRead::tally")
    }

    fn newest(
        &self,
        collection: &str,
        types: &[String],
        before: i64,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        todo!("A: ObjectRead::newest")
    }

    fn max_seq(&self) -> Result<i64, StoreError> {
        todo!("A: ObjectRead::max_seq")
    }

    fn objects_after(&self, after: i64, limit: usize) -> Result<Vec<StoredObject>, StoreError> {
        todo!("A: ObjectRead::objects_after")
    }

    fn objects_by_seq(&self, seqs: &[i64]) -> Result<Vec<StoredObject>, StoreError> {
        todo!("A: ObjectRead::objects_by_seq")
    }

    fn find_text(
        &self,
        collection: &str,
        text: &str,
        types: &[String],
        scan: usize,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        todo!("A: ObjectRead::find_text")
    }

    fn integrity_check(&self) -> Result<(), StoreError> {
        todo!("A: ObjectRead::integrity_check")
    }

}
