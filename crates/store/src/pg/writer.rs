//! [`PgWriter`]: group commit under the sequencer lock. (helper A)
#![allow(unused_variables, unused_imports, clippy::todo)]
use crate::*;
use accord_ledger::ExchangeRecord;
use std::sync::Arc;

/// The process's writer over PostgreSQL (cheap to clone).
#[derive(Debug, Clone)]
pub struct PgWriter {}

impl PgWriter {
    pub(crate) fn start(conn_str: &str, server: &str, opts: &OpenOptions) -> Result<PgWriter, StoreError> {
        Ok(PgWriter {})
    }
}

impl crate::ObjectWrite for PgWriter {
    fn submit(&self, objs: &[NewObject<'_>]) -> Result<Pending, StoreError> {
        todo!("A: ObjectWrite::submit")
    }

    fn put_batch(&self, objs: &[NewObject<'_>]) -> Result<Vec<PutOutcome>, StoreError>  {
        todo!("A: ObjectWrite::put_batch")
    }

    fn delete(
        &self,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
    ) -> Result<u64, StoreError> {
        todo!("A: ObjectWrite::delete")
    }

    fn log_records(&self, records: &[ExchangeRecord]) -> Result<(), StoreError> {
        todo!("A: ObjectWrite::log_records")
    }

    fn log_push(&self, records: &[ExchangeRecord], step: PushStep) -> Result<(), StoreError> {
        todo!("A: ObjectWrite::log_push")
    }

    fn received_from(&self, partner: &str) -> Arc<dyn ObjectWrite> {
        todo!("A: ObjectWrite::received_from")
    }

    fn set_max_size_bytes(&self, bytes: Option<u64>) -> Result<(), StoreError> {
        todo!("A: ObjectWrite::set_max_size_bytes")
    }

    fn to_shared(&self) -> Arc<dyn ObjectWrite> {
        todo!("A: ObjectWrite::to_shared")
    }

}
