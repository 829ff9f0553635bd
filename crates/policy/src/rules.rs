//! The node's residency rules, compiled: which values of an object are of
//! which [`DataCategory`].
//!
//! # What is personal data by default (`residency.default_personal`)
//!
//! - whole values: `email-addr` `value` and `display_name`; `user-account`
//!   `user_id`, `account_login`, `display_name`, `credential`; an
//!   `identity` of class `individual`: `name` and `contact_information`;
//!   `x509-certificate` `subject`;
//! - e-mail addresses and phone numbers inside free text: `name`,
//!   `description`, `contact_information`, `content`, `abstract`,
//!   `explanation`, `body`, `subject`, `subject_alternative_name`, every
//!   string under an `x_` property and under an
//!   `extensions."extension-definition--…"` entry, at any depth;
//! - references to `email-addr` and `user-account` objects (their ids are
//!   UUIDv5 of the address or account, so the id alone confirms a guess).
//!
//! Addresses in the customer ranges are [`DataCategory::CustomerAddress`]
//! in every string at any depth (patterns, URLs, free text, property
//! names), and so are references to `ipv4-addr` / `ipv6-addr` objects when
//! customer ranges are declared: such an id may be the UUIDv5 of a customer
//! address, which cannot be told from the id alone (see `crate::rewrite`).
//!
//! `[[residency.rules]]` add categories: `path` is a property name at any
//! depth, or `TYPE.property` on objects of one type; `kind = "any"` makes
//! the whole value (whatever its JSON type) of that category, `email`,
//! `phone`, `ip` the addresses or numbers found in the strings under it.

use crate::agreement::{DataCategory, Residency, ValueKind};
use crate::text::{self, Span, SpanKind};
use ipnet::IpNet;

/// A set of categories (bits: personal 1, customer address 2, important 4).
pub type Cats = u8;
/// [`DataCategory::Personal`].
pub const PERSONAL: Cats = 1;
/// [`DataCategory::CustomerAddress`].
pub const CUSTOMER: Cats = 2;
/// [`DataCategory::Important`].
pub const IMPORTANT: Cats = 4;

/// The bit of a category.
pub fn bit(c: DataCategory) -> Cats {
    match c {
        DataCategory::Personal => PERSONAL,
        DataCategory::CustomerAddress => CUSTOMER,
        DataCategory::Important => IMPORTANT,
    }
}

/// The categories in a set, in a fixed order.
pub fn categories(c: Cats) -> impl Iterator<Item = DataCategory> {
    [
        DataCategory::Personal,
        DataCategory::CustomerAddress,
        DataCategory::Important,
    ]
    .into_iter()
    .filter(move |d| c & bit(*d) != 0)
}

/// A category's name as the configuration writes it.
pub fn category_name(c: DataCategory) -> &'static str {
    match c {
        DataCategory::Personal => "personal",
        DataCategory::CustomerAddress => "customer_address",
        DataCategory::Important => "important",
    }
}

/// Why the residency section cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// A customer range is not a CIDR block or an address.
    #[error("residency.customer_ranges: `{0}` is not an IP address or CIDR block")]
    Range(String),
    /// A rule's path is empty or malformed.
    #[error("residency.rules: path `{0}` must be `property` or `type.property`")]
    Path(String),
}

#[derive(Debug, Clone)]
struct Rule {
    cat: Cats,
    ty: Option<String>,
    prop: String,
    kind: ValueKind,
}

/// The compiled residency rules.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    customer: Vec<IpNet>,
    default_personal: bool,
    rules: Vec<Rule>,
}

/// Free-text properties: e-mail addresses and phone numbers in them are
/// personal data.
const FREE_TEXT: &[&str] = &[
    "name",
    "description",
    "contact_information",
    "content",
    "abstract",
    "explanation",
    "body",
    "subject",
    "subject_alternative_name",
];

/// Where a string sits: what to look for in it. Computed per property name
/// from the parent's context, inherited by everything under it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx {
    /// 0 for the object's own properties.
    pub depth: u16,
    /// Free text: e-mail addresses and phone numbers are personal data.
    pub free: bool,
    /// The whole value here is of these categories.
    pub any: Cats,
    /// E-mail addresses here are of these categories (besides free text).
    pub email: Cats,
    /// Phone numbers here are of these categories.
    pub phone: Cats,
    /// Any IP address here is of these categories.
    pub ip: Cats,
    /// Directly under the object's `extensions`.
    pub in_extensions: bool,
}

impl Rules {
    /// Compiles a residency section.
    ///
    /// # Errors
    /// [`RulesError`] naming the range or path that cannot be read.
    pub fn new(r: &Residency) -> Result<Rules, RulesError> {
        let customer = r
            .customer_ranges
            .iter()
            .map(|s| text::whole_ip(s).ok_or_else(|| RulesError::Range(s.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = r
            .rules
            .iter()
            .map(|rule| {
                let (ty, prop) = match rule.path.split_once('.') {
                    Some((t, p)) => (Some(t.to_owned()), p.to_owned()),
                    None => (None, rule.path.clone()),
                };
                if prop.is_empty() || prop.contains('.') || ty.as_deref() == Some("") {
                    return Err(RulesError::Path(rule.path.clone()));
                }
                Ok(Rule {
                    cat: bit(rule.category),
                    ty,
                    prop,
                    kind: rule.kind,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rules {
            customer,
            default_personal: r.default_personal,
            rules,
        })
    }

    /// Rules that find nothing (for inbound checks, which need no
    /// categories).
    pub fn none() -> Rules {
        Rules::default()
    }

    /// The customer ranges.
    pub fn customer_ranges(&self) -> &[IpNet] {
        &self.customer
    }

    /// Whether the built-in personal-data rules apply.
    pub fn default_personal(&self) -> bool {
        self.default_personal
    }

    /// The context of property `key` under `parent`, on an object of type
    /// `ty` (`individual`: an `identity` of class `individual`).
    pub fn child(&self, parent: &Ctx, ty: &str, individual: bool, key: &str) -> Ctx {
        let mut c = *parent;
        c.depth = parent.depth + 1;
        c.in_extensions = parent.depth == 0 && key == "extensions";
        if self.default_personal {
            if FREE_TEXT.contains(&key)
                || key.starts_with("x_")
                || (parent.in_extensions && key.starts_with("extension-definition--"))
            {
                c.free = true;
            }
            if parent.depth == 0 && whole_personal(ty, individual, key) {
                c.any |= PERSONAL;
            }
        }
        for r in &self.rules {
            if r.prop == key && r.ty.as_deref().is_none_or(|t| t == ty) {
                match r.kind {
                    ValueKind::Any => c.any |= r.cat,
                    ValueKind::Email => c.email |= r.cat,
                    ValueKind::Phone => c.phone |= r.cat,
                    ValueKind::Ip => c.ip |= r.cat,
                }
            }
        }
        c
    }

    fn email_cats(&self, c: &Ctx) -> Cats {
        c.email
            | if c.free && self.default_personal {
                PERSONAL
            } else {
                0
            }
    }

    /// The categories of a reference (an id) by its type: personal SCOs and,
    /// with customer ranges declared, address SCOs.
    pub fn ref_cats(&self, s: &str) -> Cats {
        let mut cats = 0;
        if self.default_personal
            && (s.starts_with("email-addr--") || s.starts_with("user-account--"))
        {
            cats |= PERSONAL;
        }
        if !self.customer.is_empty()
            && (s.starts_with("ipv4-addr--") || s.starts_with("ipv6-addr--"))
        {
            cats |= CUSTOMER;
        }
        cats
    }

    /// The categories found inside string `s` at `c` (the whole-value
    /// categories, `c.any`, are the caller's), references included.
    pub fn detect(&self, c: &Ctx, s: &str) -> Cats {
        if is_timestamp(s) {
            // Most strings of an object; no address, number or reference
            // fits in one.
            return 0;
        }
        let mut cats = self.ref_cats(s);
        let email = self.email_cats(c);
        let phone = c.phone
            | if c.free && self.default_personal {
                PERSONAL
            } else {
                0
            };
        if email != 0 && text::has_email(s) {
            cats |= email;
        }
        if phone & !cats != 0 && text::has_phone(s) {
            cats |= phone;
        }
        if (c.ip != 0 || !self.customer.is_empty()) && maybe_ip(s) {
            let mut v = Vec::new();
            text::find_ips(s, &mut v);
            for sp in &v {
                if let SpanKind::Ip(n) = sp.kind {
                    cats |= c.ip;
                    if text::in_ranges(&n, &self.customer) {
                        cats |= CUSTOMER;
                    }
                }
            }
        }
        cats
    }

    /// The values found inside `s` at `c`, each with its categories (none
    /// empty), sorted and not overlapping.
    pub fn spans(&self, c: &Ctx, s: &str) -> Vec<(Span, Cats)> {
        if is_timestamp(s) {
            return Vec::new();
        }
        let mut v = Vec::new();
        let email = self.email_cats(c);
        let phone = c.phone
            | if c.free && self.default_personal {
                PERSONAL
            } else {
                0
            };
        if email != 0 {
            text::find_emails(s, &mut v);
        }
        if phone != 0 {
            text::find_phones(s, &mut v);
        }
        if (c.ip != 0 || !self.customer.is_empty()) && maybe_ip(s) {
            text::find_ips(s, &mut v);
        }
        text::settle(&mut v);
        v.into_iter()
            .filter_map(|sp| {
                let cats = match sp.kind {
                    SpanKind::Email => email,
                    SpanKind::Phone => phone,
                    SpanKind::Ip(n) => {
                        c.ip | if text::in_ranges(&n, &self.customer) {
                            CUSTOMER
                        } else {
                            0
                        }
                    }
                };
                (cats != 0).then_some((sp, cats))
            })
            .collect()
    }
}

/// A string that may hold an IP address: a dot or two colons.
/// Whether `s` is a STIX timestamp (`YYYY-MM-DDTHH:MM:SS[.s+]Z`): only
/// digits and `-:.TZ` in that shape, so it holds no e-mail address, phone
/// number, IP address or reference.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b.len() <= 40
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z'
        && b[..b.len() - 1].iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            _ => c.is_ascii_digit(),
        })
}

fn maybe_ip(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr(b'.', b).is_some() || memchr::memchr_iter(b':', b).nth(1).is_some()
}

/// Whether property `key` of an object of type `ty` is personal data as a
/// whole (default rules).
fn whole_personal(ty: &str, individual: bool, key: &str) -> bool {
    match ty {
        "email-addr" => matches!(key, "value" | "display_name"),
        "user-account" => matches!(
            key,
            "user_id" | "account_login" | "display_name" | "credential"
        ),
        "identity" => individual && matches!(key, "name" | "contact_information"),
        "x509-certificate" => key == "subject",
        _ => false,
    }
}

#[cfg(test)]
mod timestamp_tests {
    use super::is_timestamp;

    #[test]
    fn timestamps_are_told_apart_from_data() {
        for t in [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.000Z",
            "2026-01-01T00:00:00.123456789Z",
        ] {
            assert!(is_timestamp(t), "{t}");
        }
        for s in [
            "2026-01-01T00:00:00",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00.000Z 203.0.113.7",
            "203.0.113.7 2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.a@b.cZ",
            "::ffff:2026-01-01T00:00:00Z",
        ] {
            assert!(!is_timestamp(s), "{s}");
        }
    }
}
