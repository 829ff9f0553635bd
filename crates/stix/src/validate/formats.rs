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

/// The irregular grandfathered tags of RFC 5646 §2.1 (`irregular` in the
/// ABNF): well-formed although they match no other production. The
/// `regular` grandfathered tags (`art-lojban`, `zh-min-nan`, ...) already
/// match `langtag`.
const IRREGULAR_TAGS: &[&str] = &[
    "en-GB-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-BE-FR",
    "sgn-BE-NL",
    "sgn-CH-DE",
];

/// Whether `s` is a well-formed RFC 5646 language tag: it matches the
/// `Language-Tag` production of RFC 5646 §2.1, case-insensitively
/// ("Language tags and their subtags ... are to be treated as case
/// insensitive", §2.1.1):
///
/// ```text
/// langtag   = language ["-" script] ["-" region] *("-" variant)
///             *("-" extension) ["-" privateuse]
/// language  = 2*3ALPHA ["-" extlang] / 4ALPHA / 5*8ALPHA
/// extlang   = 3ALPHA *2("-" 3ALPHA)
/// script    = 4ALPHA
/// region    = 2ALPHA / 3DIGIT
/// variant   = 5*8alphanum / (DIGIT 3alphanum)
/// extension = singleton 1*("-" (2*8alphanum))
/// privateuse = "x" 1*("-" (1*8alphanum))
/// ```
///
/// plus the grandfathered tags. Validity against the IANA subtag registry
/// (§2.2.9: "valid" tags) is not checked: the registry is large and changes.
pub(crate) fn is_language_tag(s: &str) -> bool {
    if s.len() < 2 || s.bytes().any(|b| !(b.is_ascii_alphanumeric() || b == b'-')) {
        return false;
    }
    if IRREGULAR_TAGS.iter().any(|g| g.eq_ignore_ascii_case(s)) {
        return true;
    }
    let alpha = |p: &str| p.bytes().all(|b| b.is_ascii_alphabetic());
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or_default();
    if first.eq_ignore_ascii_case("x") {
        return private_use(parts);
    }
    if !(2..=8).contains(&first.len()) || !alpha(first) {
        return false;
    }
    // 0: extlang, script, region or variant may follow; 1: script, region
    // or variant; 2: region or variant; 3: variant; 4: extensions only.
    let mut stage = if first.len() <= 3 { 0 } else { 1 };
    let mut extlangs = 0;
    // A singleton waiting for its first subtag.
    let mut pending = false;
    while let Some(p) = parts.next() {
        if p.is_empty() || p.len() > 8 {
            return false;
        }
        if p.len() == 1 {
            if pending {
                return false;
            }
            if p.eq_ignore_ascii_case("x") {
                return private_use(parts);
            }
            stage = 4;
            pending = true;
            continue;
        }
        if stage == 4 {
            // 2*8alphanum after a singleton.
            pending = false;
            continue;
        }
        if stage == 0 && p.len() == 3 && alpha(p) && extlangs < 3 {
            extlangs += 1;
        } else if stage <= 1 && p.len() == 4 && alpha(p) {
            stage = 2;
        } else if (stage <= 2 && ((p.len() == 2 && alpha(p)) || (p.len() == 3 && digits(p))))
            || p.len() >= 5
            || (p.len() == 4 && p.as_bytes()[0].is_ascii_digit())
        {
            // A region (at most one, before variants), or a variant.
            stage = 3;
        } else {
            return false;
        }
    }
    !pending
}

/// `1*("-" (1*8alphanum))` after the `x` of a private-use sequence.
fn private_use<'a>(parts: impl Iterator<Item = &'a str>) -> bool {
    let mut n = 0;
    for p in parts {
        if !(1..=8).contains(&p.len()) {
            return false;
        }
        n += 1;
    }
    n > 0
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
        assert!(is_language_tag("en") && is_language_tag("en-US") && is_language_tag("x-klingon"));
        assert!(!is_language_tag("english!") && !is_language_tag("en-") && !is_language_tag("e"));
        for ok in [
            "de",
            "ENG",
            "eng",
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
            assert!(is_language_tag(ok), "{ok}");
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
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        assert!(is_base64("aGk=") && is_base64("") && !is_base64("aGk") && !is_base64("a==="));
        assert!(
            is_property_name("x_acme") && !is_property_name("x_Acme") && !is_property_name("ab")
        );
    }
}
