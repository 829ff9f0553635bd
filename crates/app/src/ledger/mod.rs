//! The node's transparency log: its keys, its checkpoints, and the partner
//! side of it. (Its HTTP routes are `accord_node::ledger_routes`.)
//!
//! Files: [`keys`] (the key file, [`LedgerKeys`]), [`checkpoints`]
//! (signing and serving checkpoints, accepting cosignatures, the proofs as
//! JSON), [`disclose`] (what each reader is shown of the entries),
//! [`witness`] (witnessing and auditing a partner's log through
//! [`accord_client::LedgerClient`]).
//!
//! - Keys: the node's log key (Ed25519, C2SP signed-note signer key) and
//!   its witness key (`cosignature/v1`), one per line in the key file
//!   (`DATA_DIR/ledger.key`, mode 0600), created by `accord init` / `accord
//!   demo` or on first start. The log's origin is the log key's name.
//! - Checkpoints are signed on demand: the latest one is signed when the
//!   log has grown since the last one, kept in the store, and served with
//!   the partners' cosignatures on it appended.
//! - Endpoints (any authenticated account, like TAXII reads):
//!   `GET /ledger/checkpoint`, `GET /ledger/tile/<L>/<N>[.p/<W>]`,
//!   `GET /ledger/tile/entries/<N>[.p/<W>]` (C2SP tlog-tiles),
//!   `GET /ledger/proof/inclusion?index=&size=`,
//!   `GET /ledger/proof/consistency?first=&second=` (JSON), and
//!   `POST /ledger/cosignature` (a partner returns its cosigned note).
//! - Confidentiality ([`disclose`]): every record is salted; a partner's
//!   account is served the entries of exchanges it is not party to as
//!   redacted entries (`{"redacted":"<leaf hash hex>"}`), the node's own
//!   accounts every entry. Hash tiles, checkpoints and proofs are hashes
//!   only, the same for everyone.
//! - Witnessing ([`witness_partner`]) and auditing ([`audit_partner`]) a
//!   partner's log, run by `accord sync` and `accord ledger audit`.
//! - Objects sent are logged as `out` records before the response leaves
//!   (`state::log_sent`, through one appending thread).

use std::path::PathBuf;

pub mod checkpoints;
pub mod disclose;
pub mod keys;
pub mod witness;

pub use checkpoints::{
    LedgerState, accept_cosignatures, consistency_json, inclusion_json, latest_checkpoint,
    served_checkpoint,
};
pub use disclose::{EntryReader, served_tile};
pub use keys::{KEY_FILE, LedgerKeys, default_origin, key_path};
pub use witness::{AuditFinding, AuditReport, WitnessReport, audit_partner, witness_partner};

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The key file cannot be read, written or parsed.
    #[error("ledger key {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] accord_store::StoreError),
    /// A format or proof check failed.
    #[error(transparent)]
    Ledger(#[from] accord_ledger::Error),
    /// A partner's node could not be asked or answered nonsense (the
    /// error names the URL).
    #[error(transparent)]
    Remote(#[from] accord_client::ClientError),
    /// A partner's checkpoint is signed by another key than its configured
    /// `verifier_key`: its log key changed, or another node answers at its
    /// URL. Nothing it serves can be checked against what was witnessed.
    #[error(
        "the checkpoint partner `{partner}` serves is not signed by its configured log key {expected} (`verifier_key`) but by {signers}: its log key changed (a new key file at the partner, or another node at its URL), so its log cannot be checked against the checkpoints witnessed here; not witnessed. Confirm the new key with the partner out of band before setting `verifier_key` to it"
    )]
    KeyChanged {
        /// The partner.
        partner: String,
        /// The configured verifier key.
        expected: String,
        /// The signers found in the note (`name+keyid` in hex).
        signers: String,
    },
    /// This node's own log contradicts a checkpoint it signed.
    #[error("{0}")]
    Inconsistent(String),
}
