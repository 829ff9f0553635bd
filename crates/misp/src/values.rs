//! Checks of MISP values against their types, pattern quoting and MISP
//! timestamps as STIX timestamps.

use std::net::IpAddr;

/// Quotes `s` as a STIX pattern string literal (`'` and `\` escaped).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// An IP address (v4 or v6), or why not.
pub fn ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>()
        .map_err(|_| "not an IPv4 or IPv6 address".to_owned())
}

/// The STIX hash name and expected hex length of a MISP hash type
/// (`None` length: not fixed).
pub fn hash_kind(ty: &str) -> Option<(&'static str, Option<usize>)> {
    Some(match ty {
        "md5" => ("MD5", Some(32)),
        "sha1" => ("SHA-1", Some(40)),
        "sha224" => ("SHA-224", Some(56)),
        "sha256" => ("SHA-256", Some(64)),
        "sha384" => ("SHA-384", Some(96)),
        "sha512" => ("SHA-512", Some(128)),
        "sha3-256" => ("SHA3-256", Some(64)),
        "sha3-512" => ("SHA3-512", Some(128)),
        "sha3-224" => ("SHA3-224", Some(56)),
        "sha3-384" => ("SHA3-384", Some(96)),
        "sha512/224" => ("SHA512-224", Some(56)),
        "sha512/256" => ("SHA512-256", Some(64)),
        "authentihash" => ("AUTHENTIHASH", Some(64)),
        "pehash" => ("PEHASH", Some(40)),
        "cdhash" => ("CDHASH", None),
        "impfuzzy" => ("IMPFUZZY", None),
        "telfhash" => ("TELFHASH", None),
        "vhash" => ("VHASH", None),
        "ssdeep" => ("SSDEEP", None),
        "tlsh" => ("TLSH", None),
        _ => return None,
    })
}

/// Checks a hash value: hex of the right length (fixed-length kinds), else
/// printable without spaces or quotes.
pub fn hash(ty: &str, s: &str) -> Result<(), String> {
    match hash_kind(ty) {
        Some((_, Some(len))) => {
            if s.len() != len {
                return Err(format!("{} hex digits, not {len}", s.len()));
            }
            if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("not hexadecimal".into());
            }
            Ok(())
        }
        _ => {
            if s.is_empty() || s.len() > 1024 || s.chars().any(|c| c.is_control() || c == ' ') {
                return Err("empty, too long, or with spaces or control characters".into());
            }
            Ok(())
        }
    }
}

/// A domain or host name: dot-separated labels of letters, digits, `-`,
/// `_` (and any non-ASCII letter of an IDN), 253 bytes at most.
pub fn domain(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return Err("empty or longer than 253 bytes".into());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("label `{label}` empty or longer than 63 bytes"));
        }
        if !label
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '*')
        {
            return Err(format!(
                "label `{label}` has a character a host name cannot"
            ));
        }
    }
    Ok(())
}

/// A Windows registry key with its hive written out in full (§6.17:
/// `HKLM\\…` → `HKEY_LOCAL_MACHINE\\…`), trimmed.
pub fn regkey(s: &str) -> String {
    let s = s.trim();
    let (hive, rest) = match s.find('\\') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let full = match hive.to_ascii_uppercase().as_str() {
        "HKLM" => "HKEY_LOCAL_MACHINE",
        "HKCU" => "HKEY_CURRENT_USER",
        "HKCR" => "HKEY_CLASSES_ROOT",
        "HKU" => "HKEY_USERS",
        "HKCC" => "HKEY_CURRENT_CONFIG",
        _ => return s.to_owned(),
    };
    format!("{full}{rest}")
}

/// A port number 0–65535.
pub fn port(s: &str) -> Result<u16, String> {
    s.trim()
        .parse::<u16>()
        .map_err(|_| "not a port number (0–65535)".into())
}

/// An AS number, with or without an `AS` prefix.
pub fn asn(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let t = t
        .strip_prefix("AS")
        .or_else(|| t.strip_prefix("as"))
        .unwrap_or(t);
    t.parse::<u32>().map_err(|_| "not an AS number".into())
}

/// A MAC address, six hex pairs separated by `:` or `-`; returned
/// lower-case with colons.
pub fn mac(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6
        || !parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err("not six hex pairs".into());
    }
    Ok(parts.join(":").to_ascii_lowercase())
}

/// An e-mail address: one `@`, something on both sides, no spaces.
pub fn email(s: &str) -> Result<(), String> {
    match s.split_once('@') {
        Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@') => {
            if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err("has spaces or control characters".into())
            } else {
                Ok(())
            }
        }
        _ => Err("not local@domain".into()),
    }
}

/// A URL or URI: non-empty, no whitespace or control characters.
pub fn url(s: &str) -> Result<(), String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("empty or with whitespace or control characters".into());
    }
    Ok(())
}

/// A UUID in its canonical text (any case) and of the RFC 4122 variant, as
/// a STIX identifier needs; returned lower-case.
pub fn uuid(s: &str) -> Option<String> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::parse_str(s)
        .ok()
        .filter(|u| u.get_variant() == uuid::Variant::RFC4122)
        .map(|u| u.hyphenated().to_string())
}

/// A MISP timestamp (seconds since the epoch, as a string or a number) as
/// seconds.
pub fn epoch(v: &serde_json::Value) -> Option<i64> {
    let n = match v {
        serde_json::Value::String(s) => s.trim().parse::<i64>().ok()?,
        serde_json::Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    epoch_in_range(n)
}

/// `n` when it is a second from 1970 to the end of 9999.
pub(crate) fn epoch_in_range(n: i64) -> Option<i64> {
    (0..253_402_300_800).contains(&n).then_some(n)
}

/// A MISP `date` (`YYYY-MM-DD`) as seconds since the epoch at midnight UTC.
pub fn date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400)
}

fn days_in(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch as a STIX timestamp with milliseconds
/// (`2016-08-30T07:10:11.000Z`).
pub fn stix_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    if !(0..=9999).contains(&y) {
        return format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        );
    }
    // The common case without the formatting machinery (one allocation).
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut n: i64| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    b.iter().map(|&c| char::from(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(stix_time(1_472_541_011), "2016-08-30T07:10:11.000Z");
        assert_eq!(stix_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(stix_time(253_402_300_799), "9999-12-31T23:59:59.000Z");
        assert_eq!(stix_time(253_402_300_800), "10000-01-01T00:00:00.000Z");
        assert_eq!(stix_time(951_782_400 - 1), "2000-02-28T23:59:59.000Z");
        assert_eq!(date("2016-04-18"), Some(1_460_937_600));
        assert_eq!(
            stix_time(date("2000-02-29").unwrap()),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(date("2001-02-29"), None);
        assert_eq!(epoch(&serde_json::json!("1472541011")), Some(1_472_541_011));
        assert_eq!(epoch(&serde_json::json!("-1")), None);
        assert_eq!(epoch(&serde_json::json!("99999999999999999999")), None);
    }

    #[test]
    fn checks() {
        assert!(hash("md5", "0749bae92ca336a02c83d126e04ec628").is_ok());
        assert!(hash("md5", "0749bae92ca336a02c83d126e04ec62").is_err());
        assert!(hash("sha1", "zz49bae92ca336a02c83d126e04ec628aaaaaaaa").is_err());
        assert!(ip("300.1.1.1").is_err());
        assert!(ip("2001:db8::1").is_ok());
        assert!(domain("evil.example").is_ok());
        assert!(domain("evil example").is_err());
        assert!(port("70000").is_err());
        assert_eq!(asn("AS13335"), Ok(13335));
        assert_eq!(mac("AA-BB-CC-DD-EE-FF").unwrap(), "aa:bb:cc:dd:ee:ff");
        assert!(email("a@b.example").is_ok());
        assert!(email("ab.example").is_err());
        assert_eq!(quote("it's \\x"), "'it\\'s \\\\x'");
        assert_eq!(regkey(" HKLM\\Run "), "HKEY_LOCAL_MACHINE\\Run");
        assert_eq!(regkey("Software\\X"), "Software\\X");
        assert!(uuid("57c4445b-c548-4654-af0b-4be3950d210f").is_some());
        assert!(uuid("57c4445b-c548-4654-af0b-4be3950d210").is_none());
        // Found by the misp_event fuzz target: variant bits 111 are not
        // RFC 4122, and a STIX id needs RFC 4122.
        assert!(uuid("57c54b0f-27a4-458b-e648-3455950d210f").is_none());
    }
}
