//! The partners' agreements as the exchange seam's [`Policy`]: what each
//! partner may receive (`[partners.outbound]`, the node's `[residency]`)
//! and may send (`[partners.inbound]`), decided by `accord-policy`.
//!
//! - [`Counterparty::Partner`]: that partner's agreement, both ways; a
//!   partner without an entry here (not in the configuration) receives
//!   nothing and may send nothing.
//! - [`Counterparty::Local`] and [`Counterparty::Account`] (the node's own
//!   operator and users): every object is sent as stored, every valid
//!   object admitted.
//!
//! Pseudonyms are HMAC-SHA-256 under a per-partner key, HMAC(node secret,
//! partner name); the node secret is 32 random bytes in
//! `DATA_DIR/pseudonym.key` (mode 0600), created on first use. Losing it
//! changes every pseudonym; copying it to another node makes that node's
//! pseudonyms the same as this one's.

use crate::config::Config;
use crate::exchange::{Counterparty, Exchange, Policy, Release};
use accord_policy::{
    Candidate, InboundPolicy, Origins, OutboundPolicy, Outcome, PartnerKey, Rules, RulesError,
};
use accord_stix::{CommonProps, Doc};
use accord_store::StoredObject;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file holding the node's pseudonym secret, in the data directory.
pub const SECRET_FILE: &str = "pseudonym.key";

/// Why the agreements cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    /// `[residency]` cannot be read.
    #[error("accord.toml [residency]: {0}")]
    Residency(#[from] RulesError),
    /// The secret file cannot be read or created.
    #[error("pseudonym secret {path}: {source}")]
    Secret {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The secret file has the wrong size.
    #[error(
        "pseudonym secret {path}: {len} bytes, expected 32 (remove it only if no pseudonym sent so far must stay stable)"
    )]
    SecretSize {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: usize,
    },
    /// No randomness for a new secret.
    #[error("pseudonym secret {path}: no randomness from the system: {message}")]
    Random {
        /// The file.
        path: PathBuf,
        /// getrandom's message.
        message: String,
    },
}

/// The node's pseudonym secret: read from `DATA_DIR/pseudonym.key`, or
/// created there (32 random bytes, mode 0600) when absent.
///
/// # Errors
/// [`AgreementError`] naming the file when it cannot be read, created or
/// has the wrong size.
pub fn node_secret(data_dir: &Path) -> Result<[u8; 32], AgreementError> {
    let path = data_dir.join(SECRET_FILE);
    let io = |source| AgreementError::Secret {
        path: path.clone(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            return <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                AgreementError::SecretSize {
                    path: path.clone(),
                    len: bytes.len(),
                }
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| AgreementError::Random {
        path: path.clone(),
        message: e.to_string(),
    })?;
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(&secret).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(secret)
        }
        // Another process created it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => node_secret(data_dir),
        Err(e) => Err(io(e)),
    }
}

/// The agreements of a configuration, as the seam's policy.
#[derive(Debug)]
pub struct AgreementPolicy {
    outbound: HashMap<String, OutboundPolicy>,
    inbound: HashMap<String, InboundPolicy>,
}

impl AgreementPolicy {
    /// The policy of `config`'s partners and residency, pseudonyms keyed by
    /// `secret`.
    ///
    /// # Errors
    /// [`AgreementError::Residency`] when `[residency]` names a range or
    /// path that cannot be read.
    pub fn new(config: &Config, secret: &[u8; 32]) -> Result<AgreementPolicy, AgreementError> {
        let rules = Arc::new(Rules::new(&config.residency)?);
        let mut origins = Origins::new();
        for p in &config.partners {
            origins.insert(format!("partner:{}", p.name), &p.name, p.inbound.onward);
            // Rows stored before origins named partners.
            let account = p.account.as_deref().unwrap_or(&p.name);
            origins.insert(format!("taxii:{account}"), &p.name, p.inbound.onward);
        }
        let origins = Arc::new(origins);
        let mut outbound = HashMap::new();
        let mut inbound = HashMap::new();
        for p in &config.partners {
            outbound.insert(
                p.name.clone(),
                OutboundPolicy::new(
                    &p.name,
                    p.outbound.clone(),
                    Arc::clone(&rules),
                    PartnerKey::derive(secret, &p.name),
                    Arc::clone(&origins),
                ),
            );
            inbound.insert(
                p.name.clone(),
                InboundPolicy::new(&p.name, p.inbound.clone()),
            );
        }
        Ok(AgreementPolicy { outbound, inbound })
    }
}

impl Policy for AgreementPolicy {
    fn admit(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Result<(), String> {
        self.assess(from, obj).map(|_| ())
    }

    fn assess(&self, from: Counterparty<'_>, obj: &Doc<'_>) -> Result<Vec<String>, String> {
        let Counterparty::Partner(name) = from else {
            return Ok(Vec::new());
        };
        let Some(p) = self.inbound.get(name) else {
            return Err(format!("no agreement with partner `{name}`"));
        };
        p.check(obj.type_name().unwrap_or(""), obj.text())
    }

    fn release(&self, to: Counterparty<'_>, obj: &StoredObject) -> Release {
        let Counterparty::Partner(name) = to else {
            return Release::Send;
        };
        let Some(p) = self.outbound.get(name) else {
            return Release::Withhold {
                reason: format!("no agreement with partner `{name}`"),
            };
        };
        let c = Candidate {
            type_name: &obj.type_name,
            collection: &obj.collection,
            origin: &obj.origin,
            raw: &obj.raw,
        };
        match p.release(&c) {
            Outcome::Send => Release::Send,
            Outcome::Redact { raw, fields } => Release::Redact { raw, fields },
            Outcome::Withhold { reason } => Release::Withhold { reason },
        }
    }
}

/// The exchange seam of a node with `config`: [`AgreementPolicy`] when
/// partners are configured (the secret read or created in `data_dir`),
/// else [`crate::exchange::SendAll`]; objects received are held to its
/// `[limits]` ([`crate::config::Limits::input`]).
///
/// # Errors
/// [`AgreementError`] when the residency rules or the secret cannot be
/// used.
pub fn exchange_for(config: &Config, data_dir: &Path) -> Result<Exchange, AgreementError> {
    let limits = config.limits.input();
    if config.partners.is_empty() {
        return Ok(Exchange::default().with_limits(limits));
    }
    let secret = node_secret(data_dir)?;
    Ok(Exchange::new(Arc::new(AgreementPolicy::new(config, &secret)?)).with_limits(limits))
}
