//! Reference collections: content the node holds for reference (an ATT&CK
//! release, `accord import attack`), read over TAXII like any collection but
//! never written through it (a POST or DELETE is refused with 403). The mark
//! is kept in the store's cursor table under `accord:reference:NAME`, its
//! value saying what the collection holds.

use accord_store::{StoreError, SyncCursors};

/// The prefix of the cursor keys marking reference collections.
pub const PREFIX: &str = "accord:reference:";

/// Marks store collection `collection` as a reference collection holding
/// `what` (`attack enterprise-attack 18.1`).
///
/// # Errors
/// The store's.
pub fn mark(store: &dyn SyncCursors, collection: &str, what: &str) -> Result<(), StoreError> {
    store.set_sync_cursor(&format!("{PREFIX}{collection}"), what)
}

/// What reference collection `collection` holds, or `None` when it is an
/// ordinary collection.
///
/// # Errors
/// The store's.
pub fn of(store: &dyn SyncCursors, collection: &str) -> Result<Option<String>, StoreError> {
    store.sync_cursor(&format!("{PREFIX}{collection}"))
}
