//! The names the binary used from the former `ledger_api.rs`, now split
//! under [`crate::ledger`] (keys, checkpoints, routes, partner) and
//! [`accord_client`] (the ledger HTTP client).

// transitional re-export (issue 15)
pub use crate::ledger::{
    AuditFinding, AuditReport, KEY_FILE, LedgerError, LedgerKeys, LedgerState, WitnessReport,
    accept_cosignatures, audit_partner, consistency_json, default_origin, inclusion_json, key_path,
    latest_checkpoint, served_checkpoint, witness_partner,
};
// transitional re-export (issue 15)
pub use accord_client::{ConsistencyJson, InclusionJson, LedgerClient};
