//! Checks of the agreements in a configuration that its types alone cannot
//! make: jurisdictions are ISO 3166-1 alpha-2 codes, `outbound.collections`
//! name configured collections, `residency.customer_ranges` are CIDRs,
//! partner names and accounts are unique. `accord partner …` and `accord
//! serve` run them; [`crate::config::load`] does not (a file it accepted
//! before is still accepted there).

use crate::config::Config;
use std::collections::HashSet;

/// One fault of the agreements, naming the partner (or `[residency]`) and
/// the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct AgreementFault {
    /// Where: `[[partners]] "eu"`, or `[residency]`.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

/// Every fault of a configuration's agreements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {}", .faults.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct AgreementCheckError {
    /// The configuration file.
    pub path: String,
    /// The faults, in the file's order.
    pub faults: Vec<AgreementFault>,
}

/// Whether `code` has the shape of an ISO 3166-1 alpha-2 code: two ASCII
/// capital letters (the list of assigned codes changes; the shape does not).
pub fn is_alpha2(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Parses a CIDR block (`203.0.113.0/24`, `2001:db8::/32`); a bare address
/// is a /32 (/128).
///
/// # Errors
/// Why `text` is not one.
pub fn parse_cidr(text: &str) -> Result<(std::net::IpAddr, u8), String> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an IPv4 or IPv6 address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max && !l.starts_with('+') => n,
            _ => {
                return Err(format!(
                    "prefix length `{l}` is not a number from 0 to {max}"
                ));
            }
        },
    };
    Ok((ip, len))
}

fn not_alpha2(j: &str) -> String {
    format!("jurisdiction `{j}` is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. `DE`)")
}

/// Checks the agreements of `config`; `path` names the file in the error.
///
/// # Errors
/// [`AgreementCheckError`] listing every fault found.
pub fn check(config: &Config, path: &str) -> Result<(), AgreementCheckError> {
    let mut faults = Vec::new();
    let mut fault = |place: String, message: String| faults.push(AgreementFault { place, message });
    let r = &config.residency;
    if let Some(j) = &r.jurisdiction
        && !is_alpha2(j)
    {
        fault("[residency]".into(), not_alpha2(j));
    }
    for c in &r.customer_ranges {
        if let Err(e) = parse_cidr(c) {
            fault(
                "[residency]".into(),
                format!("customer_ranges: `{c}` is not a CIDR block: {e}"),
            );
        }
    }
    let collections: Vec<&str> = config
        .api_roots
        .iter()
        .flat_map(|r| r.collections.iter().map(|c| c.store_name()))
        .collect();
    let mut names = HashSet::new();
    let mut accounts = HashSet::new();
    for p in &config.partners {
        let place = format!("[[partners]] `{}`", p.name);
        if p.name.trim().is_empty() {
            fault(place.clone(), "name is empty".into());
        }
        if !names.insert(p.name.as_str()) {
            fault(place.clone(), "another partner has the same name".into());
        }
        let account = p.account.as_deref().unwrap_or(&p.name);
        if !accounts.insert(account) {
            fault(
                place.clone(),
                format!("account `{account}` is already another partner's"),
            );
        }
        if let Some(j) = &p.jurisdiction
            && !is_alpha2(j)
        {
            fault(place.clone(), not_alpha2(j));
        }
        for c in &p.outbound.collections {
            if !collections.contains(&c.as_str()) {
                fault(
                    place.clone(),
                    format!(
                        "outbound.collections names `{c}`, which is no configured collection's store_name (configured: {})",
                        if collections.is_empty() {
                            "none".to_owned()
                        } else {
                            collections.join(", ")
                        }
                    ),
                );
            }
        }
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(AgreementCheckError {
            path: path.to_owned(),
            faults,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[[api_roots]]
name = "api1"
title = "t"
[[api_roots.collections]]
id = "8f3c6a0e-1b2d-4e5f-9a7b-0c1d2e3f4a5b"
store_name = "share"
title = "Shared"
"#;

    fn partner(name: &str, extra: &str) -> String {
        format!(
            "\n[[partners]]\nname = \"{name}\"\nurl = \"https://{name}.example/\"\nverifier_key = \"k\"\n{extra}\n"
        )
    }

    fn faults(text: &str) -> Vec<String> {
        let c = Config::parse(text, "a.toml").unwrap();
        match check(&c, "a.toml") {
            Ok(()) => vec![],
            Err(e) => e.faults.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_good_configuration_passes() {
        let text = format!(
            "{BASE}\n[residency]\njurisdiction = \"CN\"\ncustomer_ranges = [\"203.0.113.0/24\", \"2001:db8::/32\", \"192.0.2.1\"]\n{}{}",
            partner(
                "eu",
                "jurisdiction = \"DE\"\n[partners.outbound]\ncollections = [\"share\"]"
            ),
            partner("us", "account = \"us-acct\"")
        );
        assert_eq!(faults(&text), Vec::<String>::new());
    }

    #[test]
    fn each_fault_is_named() {
        let text = format!(
            "{BASE}\n[residency]\njurisdiction = \"cn\"\ncustomer_ranges = [\"203.0.113.0/33\", \"nope/8\"]\n{}{}{}",
            partner(
                "eu",
                "jurisdiction = \"DEU\"\n[partners.outbound]\ncollections = [\"shar\"]"
            ),
            partner("eu", "account = \"x\""),
            partner("us", "account = \"x\"")
        );
        let f = faults(&text);
        assert_eq!(f.len(), 7, "{f:#?}");
        assert!(f[0].starts_with("[residency]: jurisdiction `cn`"), "{f:#?}");
        assert!(
            f[1].contains("`203.0.113.0/33`") && f[1].contains("0 to 32"),
            "{f:#?}"
        );
        assert!(f[2].contains("`nope` is not an IPv4"), "{f:#?}");
        assert!(
            f[3].starts_with("[[partners]] `eu`: jurisdiction `DEU`"),
            "{f:#?}"
        );
        assert!(
            f[4].contains("`shar`") && f[4].contains("configured: share"),
            "{f:#?}"
        );
        assert!(f[5].contains("same name"), "{f:#?}");
        assert!(f[6].starts_with("[[partners]] `us`: account `x`"), "{f:#?}");
        let c = Config::parse(&text, "a.toml").unwrap();
        let e = check(&c, "a.toml").unwrap_err().to_string();
        assert!(e.starts_with("a.toml: [residency]"), "{e}");
    }

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().1, 8);
        assert_eq!(parse_cidr("::1").unwrap().1, 128);
        assert!(parse_cidr("10.0.0.0/+8").is_err());
        assert!(parse_cidr("2001:db8::/129").is_err());
        assert!(parse_cidr("").is_err());
    }
}
