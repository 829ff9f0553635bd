//! Format checks of single strings: property names, addresses, CPE names,
//! language tags, base64. Each says only whether the text has the form.

pub(super) fn is_property_name(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub(super) fn prefix_ok(p: Option<&str>, max: u8) -> bool {
    match p {
        None => true,
        Some(p) => {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|n| n <= max)
        }
    }
}

pub(super) fn is_ipv4_value(v: &str) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    addr.parse::<std::net::Ipv4Addr>().is_ok() && prefix_ok(prefix, 32)
}

pub(super) fn is_ipv6_value(v: &str) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    addr.parse::<std::net::Ipv6Addr>().is_ok() && prefix_ok(prefix, 128)
}

pub(super) fn is_mac(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, &c)| {
            if i % 3 == 2 {
                c == b':'
            } else {
                c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
            }
        })
}

/// CPE 2.3 formatted string: `cpe:2.3:` then 11 more components (13 in all).
pub(super) fn is_cpe23(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("cpe:2.3:") else {
        return false;
    };
    let mut n = 1;
    let mut escaped = false;
    for c in rest.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ':' => n += 1,
            _ => {}
        }
    }
    n == 11
        && matches!(
            rest.as_bytes().first(),
            Some(b'a' | b'o' | b'h' | b'*' | b'-')
        )
}

/// What RFC 5646 says of one language tag, as read by the `language-tags`
/// crate: well-formed (the ABNF of §2.1, case-insensitive), then valid
/// (§2.2.9: every primary language, extended language, script, region and
/// variant subtag in the IANA Language Subtag Registry the crate embeds, no
/// duplicate variant or singleton).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LangTag {
    /// Well-formed and valid.
    Valid,
    /// Not well-formed: it matches no production of the ABNF.
    Malformed(language_tags::ParseError),
    /// Well-formed, but a subtag is not registered (or repeats).
    Unregistered(language_tags::ValidationError),
    /// Valid but for a variant's `Prefix` in the registry, which RFC 5646
    /// §3.1.8 only recommends.
    VariantPrefix,
}

/// Reads one language tag (see [`LangTag`]).
pub(crate) fn language_tag_verdict(s: &str) -> LangTag {
    use language_tags::{LanguageTag, ValidationError};
    match LanguageTag::parse(s) {
        Err(e) => LangTag::Malformed(e),
        Ok(t) => match t.validate() {
            Ok(()) => LangTag::Valid,
            Err(ValidationError::WrongVariantPrefix) => LangTag::VariantPrefix,
            Err(e) => LangTag::Unregistered(e),
        },
    }
}

/// Whether the primary language subtag of a (well-formed) tag is in the
/// case RFC 5646 §2.1.1 recommends: lowercase.
pub(crate) fn is_lowercase_language(s: &str) -> bool {
    let first = s.split('-').next().unwrap_or_default();
    !first.bytes().any(|b| b.is_ascii_uppercase())
}

/// Whether `s` has the form of an absolute URI (RFC 3986 §3): a scheme
/// (a letter, then letters, digits, `+`, `-`, `.`), a colon, then a
/// non-empty rest without whitespace or control characters.
pub(super) fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let sb = scheme.as_bytes();
    !sb.is_empty()
        && sb[0].is_ascii_alphabetic()
        && sb
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
        && !rest.is_empty()
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub(super) fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(is_ipv4_value("198.51.100.3") && is_ipv4_value("198.51.100.0/24"));
        assert!(!is_ipv4_value("198.51.100.300") && !is_ipv4_value("198.51.100.0/33"));
        assert!(!is_ipv4_value("198.51.100.0/") && !is_ipv4_value("198.51.100.0/+1"));
        assert!(is_ipv6_value("2001:db8::1") && is_ipv6_value("2001:db8::/128"));
        assert!(!is_ipv6_value("2001:db8::/129") && !is_ipv6_value("198.51.100.3"));
        assert!(is_mac("00:0a:f3:11:22:33"));
        assert!(!is_mac("00:0A:F3:11:22:33") && !is_mac("00-0a-f3-11-22-33"));
    }

    #[test]
    fn cpe_language_base64_names() {
        assert!(is_cpe23("cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*"));
        assert!(is_cpe23(r"cpe:2.3:a:acme:a\:b:1:*:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:2.3:a:microsoft:word") && !is_cpe23("cpe:/a:microsoft"));
        let verdict = |t: &str| match language_tag_verdict(t) {
            LangTag::Valid => "valid",
            LangTag::Malformed(_) => "malformed",
            LangTag::Unregistered(_) => "unregistered",
            LangTag::VariantPrefix => "prefix",
        };
        for ok in [
            "de",
            "EN",
            "en-us",
            "zh-Hant-TW",
            "sr-Latn-RS",
            "es-419",
            "zh-yue-HK",
            "sl-rozaj-biske",
            "de-CH-1901",
            "en-US-u-islamcal",
            "en-a-bbb-x-a-ccc",
            "x-whatever",
            "i-klingon",
            "en-GB-oed",
            "art-lojban",
            "zh-min-nan",
            "hy-Latn-IT-arevela",
            "qaa-Qaaa-QM-x-southern",
        ] {
            assert_eq!(verdict(ok), "valid", "{ok}");
        }
        for bad in [
            "!!",
            "",
            "a",
            "en_US",
            "en--US",
            "de-419-DE",
            "a-DE",
            "ar-a-aaa-b-bbb-a-ccc-",
            "en-a",
            "x",
            "x-",
            "abcdefghi",
            "en-US-x-toolongsubtag",
            "en-a-b",
            "12",
            "en-Latn-Latn",
            "zh-aaa-bbb-ccc-ddd",
            "english!",
            "en-",
        ] {
            assert_eq!(verdict(bad), "malformed", "{bad}");
        }
        // Well-formed, not in the registry: ISO 639-2 codes whose language
        // has an ISO 639-1 code (RFC 5646 §2.2.1: only the two-letter code
        // is registered), made-up subtags.
        for unregistered in [
            "eng",
            "ENG",
            "fra",
            "zz",
            "en-Abcd",
            "en-YY",
            "de-1901-1901",
        ] {
            assert_eq!(verdict(unregistered), "unregistered", "{unregistered}");
        }
        assert_eq!(verdict("en-rozaj"), "prefix");
        assert!(is_base64("aGk=") && is_base64("") && !is_base64("aGk") && !is_base64("a==="));
        assert!(
            is_property_name("x_acme") && !is_property_name("x_Acme") && !is_property_name("ab")
        );
    }
}
