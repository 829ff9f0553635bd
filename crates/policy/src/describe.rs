//! Agreements and the residency declaration in plain words, for people
//! (`accord partner show`, `accord partner check`).
//!
//! ```text
//! We send eu: every STIX type from collection share, up to TLP:AMBER
//! (AMBER+STRICT and RED are never sent); personal data pseudonymised;
//! customer addresses truncated to /24 (/48); important data: objects
//! withheld; sightings go back; eu may share nothing onward.
//! ```
//!
//! Pure: the same agreement always gives the same words.

use crate::agreement::{
    Agreement, CategoryAction, DataCategory, Inbound, Onward, Outbound, Residency, Tlp, TypeSet,
    ValueKind,
};

/// The TLP 2.0 name of a level, e.g. `TLP:AMBER+STRICT`.
pub fn tlp_name(t: Tlp) -> &'static str {
    match t {
        Tlp::Clear => "TLP:CLEAR",
        Tlp::Green => "TLP:GREEN",
        Tlp::Amber => "TLP:AMBER",
        Tlp::AmberStrict => "TLP:AMBER+STRICT",
        Tlp::Red => "TLP:RED",
    }
}

/// The short configuration spelling of a level (`amber+strict`), as
/// `max_tlp` takes it.
pub fn tlp_config_name(t: Tlp) -> &'static str {
    match t {
        Tlp::Clear => "clear",
        Tlp::Green => "green",
        Tlp::Amber => "amber",
        Tlp::AmberStrict => "amber+strict",
        Tlp::Red => "red",
    }
}

const LEVELS: [Tlp; 5] = [
    Tlp::Clear,
    Tlp::Green,
    Tlp::Amber,
    Tlp::AmberStrict,
    Tlp::Red,
];

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `a`, `a or b`, `a, b or c`.
fn list_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn types(t: &TypeSet) -> String {
    if t.0.iter().any(|s| s == "*") {
        "every STIX type".to_owned()
    } else if t.0.is_empty() {
        "no object type".to_owned()
    } else {
        format!("only {}", list(&t.0))
    }
}

/// The highest level that actually may go out: RED never does.
fn effective_out(max: Tlp) -> Tlp {
    max.min(Tlp::AmberStrict)
}

/// `(AMBER+STRICT and RED are never sent)`: the levels above `max`.
fn above(max: Tlp, verb: &str) -> String {
    let names: Vec<String> = LEVELS
        .iter()
        .filter(|l| **l > max)
        .map(|l| tlp_name(*l).trim_start_matches("TLP:").to_owned())
        .collect();
    let be = if names.len() == 1 { "is" } else { "are" };
    format!("{} {be} {verb}", list(&names))
}

fn category_name(c: DataCategory) -> &'static str {
    match c {
        DataCategory::Personal => "personal data",
        DataCategory::CustomerAddress => "customer addresses",
        DataCategory::Important => "important data",
    }
}

fn category(c: DataCategory, a: CategoryAction) -> String {
    let name = category_name(c);
    match (a, c) {
        (CategoryAction::Allow, _) => format!("{name} sent as is"),
        (CategoryAction::Remove, _) => format!("{name} removed"),
        (CategoryAction::Truncate, DataCategory::CustomerAddress) => {
            format!("{name} truncated to /24 (/48)")
        }
        (CategoryAction::Truncate, _) => {
            format!("{name}: IP addresses truncated to /24 (/48), other values removed")
        }
        (CategoryAction::Pseudonymise, _) => format!("{name} pseudonymised"),
        (CategoryAction::Withhold, _) => format!("{name}: objects withheld"),
    }
}

fn onward(who: &str, o: Onward) -> String {
    match o {
        Onward::None => format!("{who} may share nothing onward"),
        Onward::Clear => format!("{who} may share onward only TLP:CLEAR objects"),
        Onward::Green => format!("{who} may share onward TLP:CLEAR and TLP:GREEN objects"),
    }
}

/// What this node sends to `partner`, in one sentence.
pub fn outbound(partner: &str, o: &Outbound) -> String {
    let mut parts = Vec::new();
    let from = match o.collections.as_slice() {
        [] => "from every collection its account may read".to_owned(),
        [one] => format!("from collection {one}"),
        many => format!("from collections {}", list(many)),
    };
    let max = effective_out(o.max_tlp);
    let mut head = format!("{} {from}", types(&o.types));
    if !o.labels_include.is_empty() {
        head.push_str(&format!(
            " labelled {}",
            list_or(
                &o.labels_include
                    .iter()
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
            )
        ));
    }
    head.push_str(&format!(
        ", up to {} ({})",
        tlp_name(max),
        above(max, "never sent")
    ));
    parts.push(head);
    if !o.labels_exclude.is_empty() {
        parts.push(format!(
            "never objects labelled {}",
            list_or(
                &o.labels_exclude
                    .iter()
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
            )
        ));
    }
    for c in [
        DataCategory::Personal,
        DataCategory::CustomerAddress,
        DataCategory::Important,
    ] {
        parts.push(category(c, o.categories.action(c)));
    }
    parts.push(if o.sightings {
        "sightings go back".to_owned()
    } else {
        "sightings do not go back".to_owned()
    });
    if o.warninglisted == crate::agreement::Warninglisted::Send {
        // The default (withheld) goes unsaid, as the other defaults do.
        parts.push("indicators on our warninglists too".to_owned());
    }
    parts.push(onward(partner, o.onward));
    format!("We send {partner}: {}.", parts.join("; "))
}

/// What this node accepts from `partner`, in one sentence.
pub fn inbound(partner: &str, i: &Inbound) -> String {
    let mut parts = Vec::new();
    let max = i.max_tlp;
    let refused = if max == Tlp::Red {
        "every level is accepted".to_owned()
    } else {
        above(max, "refused")
    };
    parts.push(format!(
        "{}, up to {} ({refused})",
        types(&i.types),
        tlp_name(max)
    ));
    parts.push(if i.sightings {
        "sightings accepted".to_owned()
    } else {
        "sightings refused".to_owned()
    });
    parts.push(if i.producers.is_empty() {
        format!("only {partner}'s own objects are taken as its own (other producers are flagged)")
    } else {
        format!(
            "objects produced by {partner} or by {} (others are flagged)",
            list(&i.producers)
        )
    });
    parts.push(onward("we", i.onward));
    format!("We accept from {partner}: {}.", parts.join("; "))
}

/// The agreement with `partner`, both directions: two sentences, one a
/// line.
pub fn agreement(partner: &str, a: &Agreement) -> String {
    format!(
        "{}\n{}",
        outbound(partner, &a.outbound),
        inbound(partner, &a.inbound)
    )
}

fn kind(k: ValueKind) -> &'static str {
    match k {
        ValueKind::Any => "any value",
        ValueKind::Email => "e-mail addresses in it",
        ValueKind::Phone => "phone numbers in it",
        ValueKind::Ip => "IP addresses in it",
    }
}

/// The node's residency declaration in plain words.
pub fn residency(r: &Residency) -> String {
    let mut out = match &r.jurisdiction {
        Some(j) => format!("This node is under the law of {j}."),
        None => "This node declares no jurisdiction.".to_owned(),
    };
    if r.customer_ranges.is_empty() {
        out.push_str(" It declares no customer ranges.");
    } else {
        out.push_str(&format!(
            " Addresses in its customer ranges ({}) are customer addresses wherever they appear.",
            r.customer_ranges.join(", ")
        ));
    }
    for c in [DataCategory::Personal, DataCategory::Important] {
        let mut what: Vec<String> = Vec::new();
        if c == DataCategory::Personal && r.default_personal {
            what.push(
                "e-mail addresses, phone numbers, user accounts, individuals and certificate subjects (the built-in rules)"
                    .to_owned(),
            );
        }
        what.extend(
            r.rules
                .iter()
                .filter(|rule| rule.category == c)
                .map(|rule| format!("`{}` ({})", rule.path, kind(rule.kind))),
        );
        let name = category_name(c);
        let mut cap = name.to_owned();
        cap[..1].make_ascii_uppercase();
        if what.is_empty() {
            out.push_str(&format!(" {cap}: none declared."));
        } else {
            out.push_str(&format!(" {cap}: {}.", list(&what)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agreement::{Categories, CategoryRule};

    fn eu_out() -> Outbound {
        Outbound {
            collections: vec!["share".into()],
            max_tlp: Tlp::Amber,
            categories: Categories {
                personal: CategoryAction::Pseudonymise,
                customer_address: CategoryAction::Truncate,
                important: CategoryAction::Withhold,
            },
            ..Outbound::default()
        }
    }

    #[test]
    fn the_outbound_sentence() {
        assert_eq!(
            outbound("eu", &eu_out()),
            "We send eu: every STIX type from collection share, up to TLP:AMBER (AMBER+STRICT and RED are never sent); \
             personal data pseudonymised; customer addresses truncated to /24 (/48); important data: objects withheld; \
             sightings go back; eu may share nothing onward."
        );
    }

    #[test]
    fn red_never_leaves_even_when_configured() {
        let o = Outbound {
            max_tlp: Tlp::Red,
            ..Outbound::default()
        };
        let s = outbound("b", &o);
        assert!(
            s.contains("up to TLP:AMBER+STRICT (RED is never sent)"),
            "{s}"
        );
        let o = Outbound {
            max_tlp: Tlp::Clear,
            types: TypeSet(vec!["indicator".into(), "malware".into()]),
            collections: vec![],
            labels_include: vec!["share".into()],
            labels_exclude: vec!["internal".into(), "draft".into()],
            sightings: false,
            onward: Onward::Green,
            categories: Categories::default(),
            warninglisted: crate::agreement::Warninglisted::Send,
        };
        let s = outbound("b", &o);
        assert!(s.contains("indicators on our warninglists too"), "{s}");
        assert!(s.starts_with("We send b: only indicator and malware from every collection its account may read labelled `share`, up to TLP:CLEAR (GREEN, AMBER, AMBER+STRICT and RED are never sent)"), "{s}");
        assert!(
            s.contains("never objects labelled `internal` or `draft`"),
            "{s}"
        );
        assert!(s.contains("personal data: objects withheld"), "{s}");
        assert!(s.contains("sightings do not go back"), "{s}");
        assert!(
            s.contains("b may share onward TLP:CLEAR and TLP:GREEN objects"),
            "{s}"
        );
    }

    #[test]
    fn the_inbound_sentence_and_both() {
        let i = Inbound {
            producers: vec!["identity--1".into()],
            ..Inbound::default()
        };
        assert_eq!(
            inbound("eu", &i),
            "We accept from eu: every STIX type, up to TLP:AMBER+STRICT (RED is refused); sightings accepted; \
             objects produced by eu or by identity--1 (others are flagged); we may share nothing onward."
        );
        let a = Agreement {
            outbound: eu_out(),
            inbound: Inbound::default(),
        };
        let both = agreement("eu", &a);
        assert_eq!(both.lines().count(), 2);
        assert!(both.starts_with("We send eu:") && both.contains("\nWe accept from eu:"));
    }

    #[test]
    fn truncate_and_allow_read_as_they_act() {
        assert_eq!(
            category(DataCategory::Personal, CategoryAction::Truncate),
            "personal data: IP addresses truncated to /24 (/48), other values removed"
        );
        assert_eq!(
            category(DataCategory::Important, CategoryAction::Allow),
            "important data sent as is"
        );
        assert_eq!(
            category(DataCategory::CustomerAddress, CategoryAction::Remove),
            "customer addresses removed"
        );
    }

    #[test]
    fn residency_in_words() {
        assert_eq!(
            residency(&Residency {
                jurisdiction: None,
                customer_ranges: vec![],
                default_personal: false,
                rules: vec![],
            }),
            "This node declares no jurisdiction. It declares no customer ranges. Personal data: none declared. Important data: none declared."
        );
        let r = Residency {
            jurisdiction: Some("CN".into()),
            customer_ranges: vec!["203.0.113.0/24".into(), "2001:db8::/32".into()],
            default_personal: true,
            rules: vec![CategoryRule {
                category: DataCategory::Important,
                path: "x_grid_topology".into(),
                kind: ValueKind::Any,
            }],
        };
        let s = residency(&r);
        assert!(s.starts_with("This node is under the law of CN."), "{s}");
        assert!(s.contains("(203.0.113.0/24, 2001:db8::/32)"), "{s}");
        assert!(s.contains("Personal data: e-mail addresses"), "{s}");
        assert!(
            s.ends_with("Important data: `x_grid_topology` (any value)."),
            "{s}"
        );
    }

    /// Every combination of level, category actions, onward and sightings:
    /// the sentence names the level that actually leaves (never RED), each
    /// category once, and reads as one sentence.
    #[test]
    fn every_outbound_combination_reads_truthfully() {
        let actions = [
            CategoryAction::Allow,
            CategoryAction::Remove,
            CategoryAction::Truncate,
            CategoryAction::Pseudonymise,
            CategoryAction::Withhold,
        ];
        let mut n = 0;
        for max in LEVELS {
            for personal in actions {
                for customer_address in actions {
                    for important in actions {
                        for onward in [Onward::None, Onward::Clear, Onward::Green] {
                            for sightings in [true, false] {
                                let o = Outbound {
                                    max_tlp: max,
                                    sightings,
                                    onward,
                                    categories: Categories {
                                        personal,
                                        customer_address,
                                        important,
                                    },
                                    ..Outbound::default()
                                };
                                let s = outbound("p", &o);
                                n += 1;
                                let shown = max.min(Tlp::AmberStrict);
                                assert!(s.contains(&format!("up to {} (", tlp_name(shown))), "{s}");
                                assert!(!s.contains("up to TLP:RED"), "{s}");
                                assert!(
                                    s.contains("RED is never sent")
                                        || s.contains("and RED are never sent"),
                                    "{s}"
                                );
                                for name in
                                    ["personal data", "customer addresses", "important data"]
                                {
                                    assert_eq!(s.matches(name).count(), 1, "{name}: {s}");
                                }
                                assert_eq!(s.contains("sightings go back"), sightings, "{s}");
                                assert!(s.starts_with("We send p: ") && s.ends_with('.'), "{s}");
                                assert_eq!(s.matches('.').count(), 1, "{s}");
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(n, 5 * 125 * 3 * 2);
    }

    #[test]
    fn tlp_names() {
        assert_eq!(tlp_name(Tlp::AmberStrict), "TLP:AMBER+STRICT");
        for l in LEVELS {
            let parsed: Tlp =
                serde_json::from_value(serde_json::Value::String(tlp_config_name(l).into()))
                    .unwrap();
            assert_eq!(parsed, l);
        }
    }
}
