//! The agreement types, as configured in `accord.toml`.
//!
//! ```toml
//! [residency]
//! jurisdiction = "CN"                  # ISO 3166-1 alpha-2
//! customer_ranges = ["203.0.113.0/24"] # IPv4/IPv6 CIDRs
//! default_personal = true              # the built-in personal-data rules
//!
//! [[residency.rules]]                  # more data the law names
//! category = "important"               # personal | important
//! path = "x_grid_topology"             # a property name, or TYPE.property
//! kind = "any"                         # any | email | phone | ip
//!
//! [[partners]]
//! name = "eu"
//! jurisdiction = "DE"
//! # ... url, api_root, verifier_key, accounts, sync (see accord-app)
//!
//! [partners.outbound]                  # what this node sends to "eu"
//! types = ["*"]
//! collections = ["share"]
//! max_tlp = "amber"
//! labels_exclude = ["internal"]
//! sightings = true
//! onward = "none"                      # what "eu" may pass on: none | clear | green
//! [partners.outbound.categories]
//! personal = "pseudonymise"            # allow | remove | truncate | pseudonymise | withhold
//! customer_address = "truncate"
//! important = "withhold"
//!
//! [partners.inbound]                   # what "eu" may send here
//! types = ["*"]
//! max_tlp = "amber"
//! sightings = true
//! producers = ["identity--…"]          # created_by_ref accepted besides eu's own
//! ```

use serde::{Deserialize, Serialize};

/// A TLP 2.0 level. Ordered from the least to the most restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tlp {
    /// TLP:CLEAR (TLP 1.0 WHITE maps here). Unmarked objects count as CLEAR.
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT.
    #[serde(rename = "amber+strict")]
    AmberStrict,
    /// TLP:RED: never leaves the node, whatever an agreement says.
    Red,
}

/// Object types an agreement lets flow: `["*"]` for every type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TypeSet(pub Vec<String>);

impl Default for TypeSet {
    fn default() -> TypeSet {
        TypeSet(vec!["*".to_owned()])
    }
}

/// What happens to data of one category on its way to a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CategoryAction {
    /// Sent as it is.
    Allow,
    /// The field (or the value inside free text) is removed.
    Remove,
    /// IP addresses are truncated (IPv4 to /24, IPv6 to /48); other values
    /// of the category are removed.
    Truncate,
    /// Replaced by HMAC-SHA-256 under a per-partner secret: the same value
    /// gets the same pseudonym every time for one partner, and different
    /// ones for different partners.
    #[serde(alias = "pseudonymize")]
    Pseudonymise,
    /// The whole object is withheld.
    Withhold,
}

/// The data categories a node's law names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Personal data: e-mail addresses, phone numbers, user accounts,
    /// individuals' identities, certificate subjects, and what the
    /// residency rules add.
    Personal,
    /// IP addresses inside the node's declared customer ranges, wherever
    /// they appear (patterns included).
    CustomerAddress,
    /// "Important data" under the node's law (only what the residency rules
    /// name).
    Important,
}

/// The action per category, for one partner. A category not named here is
/// withheld: nothing leaves that the agreement does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Categories {
    /// Personal data.
    #[serde(default = "withhold")]
    pub personal: CategoryAction,
    /// Addresses in the customer ranges.
    #[serde(default = "withhold")]
    pub customer_address: CategoryAction,
    /// Important data.
    #[serde(default = "withhold")]
    pub important: CategoryAction,
}

fn withhold() -> CategoryAction {
    CategoryAction::Withhold
}

impl Default for Categories {
    fn default() -> Categories {
        Categories {
            personal: CategoryAction::Withhold,
            customer_address: CategoryAction::Withhold,
            important: CategoryAction::Withhold,
        }
    }
}

impl Categories {
    /// The action for `category`.
    pub fn action(&self, category: DataCategory) -> CategoryAction {
        match category {
            DataCategory::Personal => self.personal,
            DataCategory::CustomerAddress => self.customer_address,
            DataCategory::Important => self.important,
        }
    }
}

/// What the receiving partner may share onward (to a third node) of what
/// this node sends it. AMBER and AMBER+STRICT never go onward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Onward {
    /// Nothing (the default).
    #[default]
    None,
    /// Only TLP:CLEAR objects.
    Clear,
    /// TLP:CLEAR and TLP:GREEN objects.
    Green,
}

/// What happens to an indicator whose value is on one of the node's MISP
/// warninglists (public DNS resolvers, RFC 1918 ranges, top sites…): the
/// caller computes the flag ([`crate::Candidate::warninglisted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Warninglisted {
    /// Not sent (the default): the `out` record's reason names the lists.
    #[default]
    Withhold,
    /// Sent like any other indicator.
    Send,
}

/// What this node sends to a partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    /// Object types that flow.
    #[serde(default)]
    pub types: TypeSet,
    /// The local collections (store names) whose objects flow; empty: all
    /// collections the partner's account may read.
    #[serde(default)]
    pub collections: Vec<String>,
    /// The highest TLP sent (RED is never sent).
    #[serde(default = "default_tlp")]
    pub max_tlp: Tlp,
    /// When not empty, only objects with one of these labels flow.
    #[serde(default)]
    pub labels_include: Vec<String>,
    /// Objects with any of these labels never flow.
    #[serde(default)]
    pub labels_exclude: Vec<String>,
    /// Whether sightings are sent back.
    #[serde(default = "yes")]
    pub sightings: bool,
    /// What the partner may share onward.
    #[serde(default)]
    pub onward: Onward,
    /// The action per data category.
    #[serde(default)]
    pub categories: Categories,
    /// Indicators whose value is on a warninglist (`withhold`, the default,
    /// or `send`).
    #[serde(default)]
    pub warninglisted: Warninglisted,
}

/// What a partner may send to this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    /// Object types accepted.
    #[serde(default)]
    pub types: TypeSet,
    /// The highest TLP accepted.
    #[serde(default = "default_inbound_tlp")]
    pub max_tlp: Tlp,
    /// Whether sightings are accepted.
    #[serde(default = "yes")]
    pub sightings: bool,
    /// `created_by_ref` identities accepted from this partner besides its
    /// own (objects naming any other producer are stored and flagged).
    #[serde(default)]
    pub producers: Vec<String>,
    /// What this node may share onward of what the partner sends
    /// (the partner's side of the agreement, as written down here).
    #[serde(default)]
    pub onward: Onward,
}

fn default_tlp() -> Tlp {
    Tlp::Green
}
fn default_inbound_tlp() -> Tlp {
    Tlp::AmberStrict
}
fn yes() -> bool {
    true
}

impl Default for Outbound {
    fn default() -> Outbound {
        Outbound {
            types: TypeSet::default(),
            collections: Vec::new(),
            max_tlp: default_tlp(),
            labels_include: Vec::new(),
            labels_exclude: Vec::new(),
            sightings: true,
            onward: Onward::None,
            categories: Categories::default(),
            warninglisted: Warninglisted::Withhold,
        }
    }
}

impl Default for Inbound {
    fn default() -> Inbound {
        Inbound {
            types: TypeSet::default(),
            max_tlp: default_inbound_tlp(),
            sightings: true,
            producers: Vec::new(),
            onward: Onward::None,
        }
    }
}

/// The agreement with one partner, both directions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Agreement {
    /// What this node sends.
    pub outbound: Outbound,
    /// What this node accepts.
    pub inbound: Inbound,
}

/// Which values a residency rule matches at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// The whole value, whatever it is.
    #[default]
    Any,
    /// E-mail addresses found in the text.
    Email,
    /// Phone numbers found in the text.
    Phone,
    /// IP addresses found in the text.
    Ip,
}

/// One rule of the node's law: values at `path` (of `kind`) are `category`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// The category.
    pub category: DataCategory,
    /// A property name at any depth (`contact_information`), or one on one
    /// type (`identity.contact_information`).
    pub path: String,
    /// Which values at that path.
    #[serde(default)]
    pub kind: ValueKind,
}

/// What this node's law says may not leave, or may leave only reduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Residency {
    /// The node's jurisdiction (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub jurisdiction: Option<String>,
    /// The node's customer ranges (CIDR); addresses inside them are
    /// [`DataCategory::CustomerAddress`] wherever they appear.
    #[serde(default)]
    pub customer_ranges: Vec<String>,
    /// Whether the built-in personal-data rules apply (e-mail addresses,
    /// phone numbers, user accounts, individuals, certificate subjects).
    #[serde(default = "yes")]
    pub default_personal: bool,
    /// More rules.
    #[serde(default)]
    pub rules: Vec<CategoryRule>,
}

impl Default for Residency {
    fn default() -> Residency {
        Residency {
            jurisdiction: None,
            customer_ranges: Vec::new(),
            default_personal: true,
            rules: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agreement_reads_from_toml() {
        let a: Agreement = toml::from_str(
            r#"
            [outbound]
            max_tlp = "amber+strict"
            onward = "green"
            [outbound.categories]
            personal = "pseudonymise"
            customer_address = "truncate"
            [inbound]
            types = ["indicator", "sighting"]
            "#,
        )
        .unwrap();
        assert_eq!(a.outbound.max_tlp, Tlp::AmberStrict);
        assert_eq!(a.outbound.onward, Onward::Green);
        assert_eq!(a.outbound.categories.personal, CategoryAction::Pseudonymise);
        assert_eq!(a.outbound.categories.important, CategoryAction::Withhold);
        assert_eq!(a.outbound.types, TypeSet::default());
        assert_eq!(a.inbound.types.0, ["indicator", "sighting"]);
        assert!(Tlp::Red > Tlp::AmberStrict && Tlp::Amber > Tlp::Green);
        // The default sends nothing personal and allows no onward sharing.
        let d = Agreement::default();
        assert_eq!(
            d.outbound.categories.action(DataCategory::Personal),
            CategoryAction::Withhold
        );
        assert_eq!(d.outbound.onward, Onward::None);
    }
}
