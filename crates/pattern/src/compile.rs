//! The compiler: patterns that are a disjunction of equality comparisons on
//! indexable paths become index keys for the line-rate matcher; anything
//! else is reported as needing the evaluator, with the reason.

use std::net::IpAddr;

use crate::ast::{CmpExpr, Literal, ObsExpr, Op, Step, Test};

/// What an index key looks up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// An address or a CIDR block (`ipv4-addr:value`, `ipv6-addr:value`,
    /// `network-traffic:src_ref.value` / `dst_ref.value`, `ISSUBSET`).
    Ip,
    /// `domain-name:value`
    Domain,
    /// `url:value`
    Url,
    /// `email-addr:value`
    Email,
    /// `file:hashes.'MD5'`, `'SHA-1'`, `'SHA-256'`, `'SHA-512'`
    Hash(HashAlg),
}

/// Hash algorithms the index holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlg {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

/// One index key: its kind and value as written in the pattern (an IP
/// block as `addr/len`, hashes in lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub kind: KeyKind,
    pub value: String,
}

/// The compiler's answer for one pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    /// The pattern matches an observation exactly when one of these keys
    /// equals (or, for blocks, contains) one of its values.
    Keys(Vec<Key>),
    /// The pattern needs the evaluator; the reason says why.
    NeedsEvaluator(String),
}

fn hash_alg(name: &str) -> Option<HashAlg> {
    match name.to_ascii_uppercase().replace('_', "-").as_str() {
        "MD5" => Some(HashAlg::Md5),
        "SHA-1" | "SHA1" => Some(HashAlg::Sha1),
        "SHA-256" | "SHA256" => Some(HashAlg::Sha256),
        "SHA-512" | "SHA512" => Some(HashAlg::Sha512),
        _ => None,
    }
}

fn hash_len(a: HashAlg) -> usize {
    match a {
        HashAlg::Md5 => 32,
        HashAlg::Sha1 => 40,
        HashAlg::Sha256 => 64,
        HashAlg::Sha512 => 128,
    }
}

/// The key kind an object path indexes, if any.
fn path_kind(t: &Test) -> Result<KeyKind, String> {
    let p = &t.path;
    let keys: Vec<&str> = p
        .steps
        .iter()
        .map(|s| match s {
            Step::Key(k) => Some(k.as_str()),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(|| format!("path {p} has a list index"))?;
    Ok(match (p.object_type.as_str(), keys.as_slice()) {
        ("ipv4-addr" | "ipv6-addr", ["value"]) => KeyKind::Ip,
        ("network-traffic", ["src_ref" | "dst_ref", "value"]) => KeyKind::Ip,
        ("domain-name", ["value"]) => KeyKind::Domain,
        ("url", ["value"]) => KeyKind::Url,
        ("email-addr", ["value"]) => KeyKind::Email,
        ("file", ["hashes", alg]) => {
            KeyKind::Hash(hash_alg(alg).ok_or_else(|| format!("hash {alg} is not indexed"))?)
        }
        _ => return Err(format!("path {p} is not indexed")),
    })
}

fn ip_key(s: &str) -> Result<String, String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address"))?;
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let len = match prefix {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|&n| n <= width)
            .ok_or_else(|| format!("bad prefix in {s:?}"))?,
        None => width,
    };
    Ok(format!("{ip}/{len}"))
}

fn key_for(kind: &KeyKind, lit: &str, subset: bool) -> Result<Key, String> {
    let value = match kind {
        KeyKind::Ip => ip_key(lit)?,
        KeyKind::Hash(a) => {
            if lit.len() != hash_len(*a) || !lit.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{lit:?} is not a {a:?} hash"));
            }
            lit.to_ascii_lowercase()
        }
        _ if subset => return Err("ISSUBSET only indexes IP blocks".into()),
        _ => lit.to_owned(),
    };
    Ok(Key {
        kind: kind.clone(),
        value,
    })
}

fn test_keys(t: &Test, out: &mut Vec<Key>) -> Result<(), String> {
    if t.negated {
        return Err("NOT needs the evaluator".into());
    }
    let kind = path_kind(t)?;
    match &t.op {
        Op::Eq(Literal::Str(s)) => out.push(key_for(&kind, s, false)?),
        Op::In(set) => {
            for l in set {
                let Literal::Str(s) = l else {
                    return Err("IN with non-string members needs the evaluator".into());
                };
                out.push(key_for(&kind, s, false)?);
            }
        }
        Op::IsSubset(s) if kind == KeyKind::Ip => out.push(key_for(&kind, s, true)?),
        _ => return Err(format!("operator in `{t}` needs the evaluator")),
    }
    Ok(())
}

/// `x_ref.type = 'ipv4-addr'` next to `x_ref.value = …`: the type check
/// the key's own form already implies.
fn is_ref_type_check(t: &Test) -> bool {
    t.path.object_type == "network-traffic"
        && !t.negated
        && matches!(t.path.steps.as_slice(), [Step::Key(r), Step::Key(ty)] if (r == "src_ref" || r == "dst_ref") && ty == "type")
        && matches!(&t.op, Op::Eq(Literal::Str(s)) if s == "ipv4-addr" || s == "ipv6-addr")
}

fn cmp_keys(c: &CmpExpr, out: &mut Vec<Key>) -> Result<(), String> {
    match c {
        CmpExpr::Or(a, b) => {
            cmp_keys(a, out)?;
            cmp_keys(b, out)
        }
        CmpExpr::Test(t) => test_keys(t, out),
        CmpExpr::And(a, b) => match (&**a, &**b) {
            (CmpExpr::Test(x), CmpExpr::Test(y)) if is_ref_type_check(x) => test_keys(y, out),
            (CmpExpr::Test(x), CmpExpr::Test(y)) if is_ref_type_check(y) => test_keys(x, out),
            _ => Err("AND of comparisons needs the evaluator".into()),
        },
    }
}

fn obs_keys(e: &ObsExpr, out: &mut Vec<Key>) -> Result<(), String> {
    match e {
        ObsExpr::Simple(c) => cmp_keys(c, out),
        ObsExpr::Or(a, b) => {
            obs_keys(a, out)?;
            obs_keys(b, out)
        }
        ObsExpr::And(..) => Err("AND of observation expressions needs the evaluator".into()),
        ObsExpr::FollowedBy(..) => Err("FOLLOWEDBY needs the evaluator".into()),
        ObsExpr::Qualified(..) => Err("qualifiers need the evaluator".into()),
    }
}

/// Compiles a parsed pattern to index keys, or says why it cannot be.
pub fn compile(e: &ObsExpr) -> Compiled {
    let mut keys = Vec::new();
    match obs_keys(e, &mut keys) {
        Ok(()) => {
            keys.sort();
            keys.dedup();
            Compiled::Keys(keys)
        }
        Err(reason) => Compiled::NeedsEvaluator(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn keys(p: &str) -> Vec<(KeyKind, String)> {
        match compile(&parse(p).unwrap()) {
            Compiled::Keys(k) => k.into_iter().map(|k| (k.kind, k.value)).collect(),
            Compiled::NeedsEvaluator(r) => panic!("{p}: {r}"),
        }
    }

    fn needs(p: &str) -> String {
        match compile(&parse(p).unwrap()) {
            Compiled::Keys(k) => panic!("{p} compiled to {k:?}"),
            Compiled::NeedsEvaluator(r) => r,
        }
    }

    #[test]
    fn compiles_disjunctions_of_equalities() {
        assert_eq!(
            keys("[ipv4-addr:value = '198.51.100.7']"),
            vec![(KeyKind::Ip, "198.51.100.7/32".into())]
        );
        assert_eq!(
            keys(
                "[domain-name:value = 'evil.example' OR url:value = 'http://evil.example/x'] OR [email-addr:value = 'a@b.example']"
            ),
            vec![
                (KeyKind::Domain, "evil.example".into()),
                (KeyKind::Url, "http://evil.example/x".into()),
                (KeyKind::Email, "a@b.example".into())
            ]
        );
        assert_eq!(
            keys(
                "[file:hashes.'SHA-256' = 'AB000000000000000000000000000000000000000000000000000000000000CD']"
            ),
            vec![(
                KeyKind::Hash(HashAlg::Sha256),
                "ab000000000000000000000000000000000000000000000000000000000000cd".into()
            )]
        );
        assert_eq!(
            keys("[ipv6-addr:value ISSUBSET '2001:db8::/32']"),
            vec![(KeyKind::Ip, "2001:db8::/32".into())]
        );
        assert_eq!(
            keys(
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '10.0.0.1']"
            ),
            vec![(KeyKind::Ip, "10.0.0.1/32".into())]
        );
        assert_eq!(
            keys("[ipv4-addr:value IN ('10.0.0.1', '10.0.0.2')]").len(),
            2
        );
    }

    #[test]
    fn reports_what_needs_the_evaluator() {
        assert!(needs("[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS").contains("qualifiers"));
        assert!(needs("[ipv4-addr:value != '1.2.3.4']").contains("evaluator"));
        assert!(needs("[file:name = 'x.exe']").contains("not indexed"));
        assert!(
            needs("[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']").contains("AND")
        );
        assert!(needs("[file:hashes.MD5 = 'short']").contains("hash"));
        assert!(needs("[ipv4-addr:value NOT = '1.2.3.4']").contains("NOT"));
    }
}
