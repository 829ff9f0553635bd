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

/// Whether `s` is a well-formed RFC 5646 language tag (syntax only: a
/// primary language of 2-3 letters or a private-use `x-` tag, then subtags
/// of 1-8 letters or digits).
pub(crate) fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or_default();
    let primary_ok = ((2..=3).contains(&first.len()) || (5..=8).contains(&first.len()))
        && first.bytes().all(|b| b.is_ascii_alphabetic());
    let private = first.eq_ignore_ascii_case("x") || first.eq_ignore_ascii_case("i");
    (primary_ok || private)
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && !s.ends_with('-')
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
        assert!(is_base64("aGk=") && is_base64("") && !is_base64("aGk") && !is_base64("a==="));
        assert!(
            is_property_name("x_acme") && !is_property_name("x_Acme") && !is_property_name("ab")
        );
    }
}
