//! One MISP warninglist: the JSON format of `misp-warninglists`
//! (`lists/*/list.json`, validated by its `schema.json`), parsed with bounds.

use serde::{Deserialize, Serialize};

use crate::error::WarninglistError;

/// How a list's entries match a value (the schema's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListType {
    /// The value equals an entry exactly.
    String,
    /// The value contains an entry.
    Substring,
    /// The value's host (a URL's host, or the value itself) is an entry or a
    /// subdomain of one, case-insensitively.
    Hostname,
    /// The value is an IP address (or a CIDR block) inside one of the
    /// entries' ranges; an entry without a prefix length is one address.
    Cidr,
    /// An entry, a PHP-style `/…/flags` regular expression, matches the value.
    Regex,
}

impl ListType {
    /// The schema's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            ListType::String => "string",
            ListType::Substring => "substring",
            ListType::Hostname => "hostname",
            ListType::Cidr => "cidr",
            ListType::Regex => "regex",
        }
    }
}

/// A parsed warninglist, as the JSON file says it (entries not yet compiled).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warninglist {
    /// The list's name (unique within a set).
    pub name: String,
    /// What the list holds.
    pub description: String,
    /// The list's version number.
    pub version: u64,
    /// How entries match.
    #[serde(rename = "type")]
    pub kind: ListType,
    /// The MISP attribute types the list applies to (`ip-dst`, `domain`,
    /// `md5`, …; `ALL` or an empty list means every type).
    #[serde(default)]
    pub matching_attributes: Vec<String>,
    /// The entries.
    pub list: Vec<String>,
}

/// Bounds on what a list may hold: a hostile or broken list is refused with an
/// error rather than exhausting memory or time.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest list file, in bytes.
    pub max_bytes: usize,
    /// Most entries in one list.
    pub max_entries: usize,
    /// Longest entry, in bytes.
    pub max_entry_len: usize,
    /// Longest name or description, in bytes.
    pub max_text_len: usize,
    /// Most `matching_attributes`.
    pub max_attributes: usize,
    /// Most regex entries over the whole set.
    pub max_regexes: usize,
    /// The compiled regex set's NFA size limit, in bytes.
    pub regex_size_limit: usize,
    /// Most lists in a set.
    pub max_lists: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_entries: 2_000_000,
            max_entry_len: 4096,
            max_text_len: 64 << 10,
            max_attributes: 256,
            max_regexes: 10_000,
            regex_size_limit: 64 << 20,
            max_lists: 4096,
        }
    }
}

/// Parses one list file's bytes; `source` names it in errors (a path).
///
/// Checks the schema (required keys, no unknown ones, the type, unique
/// entries are not required: duplicates are harmless and dropped when
/// compiled) and the bounds in `limits`. Entries are checked for their
/// type when the set is compiled ([`crate::WarninglistSet::build`]).
pub fn parse_list(
    bytes: &[u8],
    source: &str,
    limits: &Limits,
) -> Result<Warninglist, WarninglistError> {
    if bytes.len() > limits.max_bytes {
        return Err(WarninglistError::TooLarge {
            origin: source.to_owned(),
            what: "file",
            limit: limits.max_bytes,
            found: bytes.len(),
        });
    }
    let list: Warninglist = serde_json::from_slice(bytes).map_err(|e| WarninglistError::Json {
        origin: source.to_owned(),
        message: e.to_string(),
    })?;
    check_bounds(&list, source, limits)?;
    Ok(list)
}

pub(crate) fn check_bounds(
    list: &Warninglist,
    source: &str,
    limits: &Limits,
) -> Result<(), WarninglistError> {
    let too = |what: &'static str, limit: usize, found: usize| WarninglistError::TooLarge {
        origin: source.to_owned(),
        what,
        limit,
        found,
    };
    if list.name.trim().is_empty() {
        return Err(WarninglistError::Schema {
            origin: source.to_owned(),
            message: "`name` is empty".into(),
        });
    }
    if list.name.len() > limits.max_text_len {
        return Err(too("name", limits.max_text_len, list.name.len()));
    }
    if list.description.len() > limits.max_text_len {
        return Err(too(
            "description",
            limits.max_text_len,
            list.description.len(),
        ));
    }
    if list.list.len() > limits.max_entries {
        return Err(too("entry count", limits.max_entries, list.list.len()));
    }
    if list.matching_attributes.len() > limits.max_attributes {
        return Err(too(
            "matching_attributes count",
            limits.max_attributes,
            list.matching_attributes.len(),
        ));
    }
    for entry in &list.list {
        if entry.len() > limits.max_entry_len {
            return Err(WarninglistError::Entry {
                list: list.name.clone(),
                entry: truncate(entry),
                message: format!(
                    "{} bytes, more than the limit of {}",
                    entry.len(),
                    limits.max_entry_len
                ),
            });
        }
    }
    Ok(())
}

/// The first 80 characters of an entry, for an error message.
pub(crate) fn truncate(entry: &str) -> String {
    match entry.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &entry[..i]),
        None => entry.to_owned(),
    }
}
