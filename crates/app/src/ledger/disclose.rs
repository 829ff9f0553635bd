//! What of the log each reader is shown: the node's own accounts read
//! every entry; a partner reads in full only the records of exchanges it
//! is party to, every other entry (other partners' exchanges, local
//! records) as a redacted entry carrying only its leaf hash
//! (`{"redacted":"<leaf hash hex>"}`, see [`accord_ledger::tiles`]).
//!
//! The hash tiles, checkpoints and proofs are the same for everyone: they
//! are hashes of salted records (see [`accord_ledger::ExchangeRecord::salt`]),
//! which tell a reader nothing but how many entries there are. So a
//! partner verifies every record that concerns it (inclusion in the signed
//! tree, consistency, cosigning) and learns of the others their number
//! and leaf hashes only.
//!
//! A record concerns partner `P` when its `partner` names `P` by any label
//! this node's records give it ([`EntryReader::for_account`]): its name,
//! the account it logs in as here, or the host of its URL (the origin a
//! sync records when run without the configuration). A label that also
//! names another configured partner is ambiguous and shows nothing.

use super::LedgerError;
use crate::partner::{Partner, Partners};
use accord_ledger::{ExchangeRecord, Tile, TileKind};
use accord_store::LedgerRead;
use std::collections::BTreeSet;

/// Who reads the log's entries, and so what is served to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryReader {
    /// One of the node's own accounts (not a configured partner's): every
    /// entry in full.
    Full,
    /// A configured partner: its records in full, the others redacted.
    Partner {
        /// The partner's name.
        name: String,
        /// The labels by which this node's records name it.
        labels: BTreeSet<String>,
    },
}

/// The labels this node's records may give `p`: its name, its account here
/// and the host of its URL.
fn labels_of(p: &Partner) -> [String; 3] {
    [
        p.name().to_owned(),
        p.account().to_owned(),
        crate::sync::origin_of(p.url(), None, None),
    ]
}

impl EntryReader {
    /// The reader behind `account`: a configured partner's account reads as
    /// that partner ([`Partners::by_account`], the mapping every exchange
    /// uses), any other account in full.
    pub fn for_account(partners: &Partners, account: &str) -> EntryReader {
        let Some(p) = partners.by_account(account) else {
            return EntryReader::Full;
        };
        let others: BTreeSet<String> = partners
            .iter()
            .filter(|o| o.name() != p.name())
            .flat_map(labels_of)
            .collect();
        let labels = labels_of(p)
            .into_iter()
            .filter(|l| !l.is_empty() && !others.contains(l))
            .collect();
        EntryReader::Partner {
            name: p.name().to_owned(),
            labels,
        }
    }

    /// Whether the entry `leaf` is shown in full to this reader: always for
    /// [`EntryReader::Full`]; for a partner, when it is a record whose
    /// `partner` is one of its labels, except what was withheld from it
    /// (which would name an object it was not sent).
    pub fn shows(&self, leaf: &[u8]) -> bool {
        match self {
            EntryReader::Full => true,
            EntryReader::Partner { labels, .. } => ExchangeRecord::from_leaf_bytes(leaf)
                .ok()
                // What was withheld from it names an object it was not
                // sent: that record is redacted for it too.
                .filter(|r| !matches!(r.decision, accord_ledger::Decision::Withheld { .. }))
                .and_then(|r| r.partner)
                .is_some_and(|p| labels.contains(&p)),
        }
    }
}

/// The bytes of tile or entry bundle `tile` as served to `reader` (`None`
/// when the log has not grown that far): hash tiles as stored; an entry
/// bundle with every entry `reader` is not shown replaced by its redacted
/// form.
///
/// # Errors
/// [`LedgerError::Store`] (reading the log), [`LedgerError::Ledger`] (a
/// leaf too long for a bundle).
pub fn served_tile(
    store: &dyn LedgerRead,
    tile: &Tile,
    reader: &EntryReader,
) -> Result<Option<Vec<u8>>, LedgerError> {
    if tile.kind != TileKind::Entries || *reader == EntryReader::Full {
        return Ok(store.ledger_tile(tile)?);
    }
    let start = tile.start_leaf();
    let end = start + u64::from(tile.width);
    if end > store.ledger_size()? {
        return Ok(None);
    }
    let entries = store.ledger_entries(start, end)?;
    let leaves: Vec<&[u8]> = entries.iter().map(|e| e.leaf.as_slice()).collect();
    Ok(Some(accord_ledger::tiles::entry_bundle_redacted(
        &leaves,
        |_, leaf| reader.shows(leaf),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_ledger::{Decision, Direction, salt_hex};

    fn partners(extra: &str) -> Partners {
        let toml = format!(
            "data_dir = \"d\"\n[[api_roots]]\nname = \"api1\"\ntitle = \"t\"\n\
             [[partners]]\nname = \"b\"\nurl = \"https://b.example:8443/\"\nverifier_key = \"k\"\naccount = \"acct-b\"\n\
             [[partners]]\nname = \"c\"\nurl = \"https://c.example/\"\nverifier_key = \"k\"\n{extra}"
        );
        Partners::new(&crate::config::Config::parse(&toml, "<test>").unwrap())
    }

    fn leaf(direction: Direction, partner: Option<&str>) -> Vec<u8> {
        ExchangeRecord {
            direction,
            partner: partner.map(str::to_owned),
            collection: "c".into(),
            object_id: "indicator--1".into(),
            modified: None,
            sha256: "0".repeat(64),
            decision: if direction == Direction::Out {
                Decision::Sent
            } else {
                Decision::Stored
            },
            time: "2026-01-01T00:00:00Z".into(),
            salt: Some(salt_hex(&[1; 16])),
        }
        .to_leaf_bytes()
    }

    #[test]
    fn a_partner_is_shown_its_own_records_by_any_of_its_labels() {
        let ps = partners("");
        assert_eq!(EntryReader::for_account(&ps, "admin"), EntryReader::Full);
        // The partner's name is not its account here: `b` is not a login.
        assert_eq!(EntryReader::for_account(&ps, "b"), EntryReader::Full);
        let b = EntryReader::for_account(&ps, "acct-b");
        let EntryReader::Partner { name, labels } = &b else {
            panic!("{b:?}")
        };
        assert_eq!(name, "b");
        assert_eq!(
            labels.iter().map(String::as_str).collect::<Vec<_>>(),
            ["acct-b", "b", "b.example:8443"]
        );
        for label in ["b", "acct-b", "b.example:8443"] {
            assert!(b.shows(&leaf(Direction::Out, Some(label))), "{label}");
            assert!(b.shows(&leaf(Direction::In, Some(label))), "{label}");
        }
        assert!(!b.shows(&leaf(Direction::Out, Some("c"))));
        assert!(!b.shows(&leaf(Direction::Local, None)));
        // What was withheld from b names an object b was not sent.
        let mut withheld =
            ExchangeRecord::from_leaf_bytes(&leaf(Direction::Out, Some("b"))).unwrap();
        withheld.decision = Decision::Withheld {
            reason: "TLP:RED never leaves".into(),
        };
        assert!(!b.shows(&withheld.to_leaf_bytes()));
        assert!(EntryReader::Full.shows(&withheld.to_leaf_bytes()));
        assert!(!b.shows(b"not a record"));
        assert!(EntryReader::Full.shows(&leaf(Direction::Out, Some("c"))));
        assert!(EntryReader::Full.shows(b"not a record"));
    }

    #[test]
    fn a_label_two_partners_share_shows_nothing() {
        // d logs in here as `b.example:8443`, the host of b's URL.
        let ps = partners(
            "[[partners]]\nname = \"d\"\nurl = \"https://d.example/\"\nverifier_key = \"k\"\naccount = \"b.example:8443\"\n",
        );
        let b = EntryReader::for_account(&ps, "acct-b");
        assert!(b.shows(&leaf(Direction::In, Some("b"))));
        assert!(!b.shows(&leaf(Direction::In, Some("b.example:8443"))));
        let d = EntryReader::for_account(&ps, "b.example:8443");
        assert!(d.shows(&leaf(Direction::In, Some("d"))));
        assert!(!d.shows(&leaf(Direction::In, Some("b.example:8443"))));
    }
}
