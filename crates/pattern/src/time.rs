//! Timestamps as microseconds since the Unix epoch, parsed the way the
//! reference matcher reads them (`%Y-%m-%dT%H:%M:%S[.%f]Z`, upper-case `T`
//! and `Z`, fractions beyond microseconds truncated).

use accord_stix::timestamp::{civil_from_days, days_from_civil};

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Microseconds since the epoch from calendar fields; `None` when a field
/// is out of range (month 13, 30 February, second 60…).
pub fn micros_from_fields(
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    us: u32,
) -> Option<i64> {
    if !(1..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || s > 59
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(
        ((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60_000_000
            + i64::from(s) * 1_000_000
            + i64::from(us),
    )
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six fraction digits).
pub fn format_micros(t: i64) -> String {
    let days = t.div_euclid(86_400_000_000);
    let rem = t.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let us = rem % 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{us:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The common form `YYYY-MM-DDTHH:MM:SS[.f{1,}]Z` at fixed positions.
#[inline]
fn canonical(b: &[u8]) -> Option<i64> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    #[inline(always)]
    fn d(b: &[u8], i: usize) -> Option<u32> {
        let c = b[i].wrapping_sub(b'0');
        (c < 10).then_some(u32::from(c))
    }
    let two = |i: usize| Some(d(b, i)? * 10 + d(b, i + 1)?);
    let year = i64::from(two(0)? * 100 + two(2)?);
    let (mo, day, h, mi, sec) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    let mut us = 0u32;
    let end = match b[19] {
        b'Z' => 20,
        b'.' => {
            let mut i = 20;
            let mut k = 0;
            while let Some(v) = (i < b.len()).then(|| d(b, i)).flatten() {
                if k < 6 {
                    us = us * 10 + v;
                }
                k += 1;
                i += 1;
            }
            if k == 0 {
                return None;
            }
            for _ in k..6 {
                us *= 10;
            }
            if b.get(i) != Some(&b'Z') {
                return None;
            }
            i + 1
        }
        _ => return None,
    };
    if end != b.len() {
        return None;
    }
    micros_from_fields(year, mo, day, h, mi, sec, us)
}

/// Reads 1 or 2 ASCII digits (as `strptime` does for `%m`, `%d`, `%H`, …).
fn one_or_two(b: &[u8], i: &mut usize) -> Option<u32> {
    let d0 = *b.get(*i)?;
    if !d0.is_ascii_digit() {
        return None;
    }
    *i += 1;
    let mut v = u32::from(d0 - b'0');
    if let Some(&d1) = b.get(*i)
        && d1.is_ascii_digit()
    {
        v = v * 10 + u32::from(d1 - b'0');
        *i += 1;
    }
    Some(v)
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    (b.get(*i) == Some(&c)).then(|| *i += 1)
}

/// Parses a timestamp string from observed data or a pattern literal.
///
/// Accepts what the reference matcher's `strptime` formats accept: a
/// four-digit year, one- or two-digit other fields, an optional fraction of
/// 1–6 digits (longer fractions are truncated to microseconds), a trailing
/// `Z`, no lower-case letters. `None` when it is not such a timestamp.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if let Some(t) = canonical(b) {
        return Some(t);
    }
    if s.bytes().any(|b| b.is_ascii_lowercase())
        || (!s.is_ascii() && s.chars().any(char::is_lowercase))
    {
        return None;
    }
    let mut i = 0;
    let mut year = 0i64;
    for _ in 0..4 {
        let d = *b.get(i)?;
        if !d.is_ascii_digit() {
            return None;
        }
        year = year * 10 + i64::from(d - b'0');
        i += 1;
    }
    expect(b, &mut i, b'-')?;
    let mo = one_or_two(b, &mut i)?;
    expect(b, &mut i, b'-')?;
    let d = one_or_two(b, &mut i)?;
    expect(b, &mut i, b'T')?;
    let h = one_or_two(b, &mut i)?;
    expect(b, &mut i, b':')?;
    let mi = one_or_two(b, &mut i)?;
    expect(b, &mut i, b':')?;
    let sec = one_or_two(b, &mut i)?;
    let mut us = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = &b[start..i];
        if digits.is_empty() {
            return None;
        }
        for k in 0..6 {
            us = us * 10 + digits.get(k).map_or(0, |d| u32::from(d - b'0'));
        }
    }
    expect(b, &mut i, b'Z')?;
    if i != b.len() {
        return None;
    }
    micros_from_fields(year, mo, d, h, mi, sec, us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = parse_timestamp("2024-05-01T12:00:00.5Z").unwrap();
        assert_eq!(format_micros(t), "2024-05-01T12:00:00.500000Z");
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp("2024-05-01T12:00:00.123456789Z"),
            parse_timestamp("2024-05-01T12:00:00.123456Z")
        );
        assert_eq!(
            parse_timestamp("2024-5-1T1:2:3Z"),
            parse_timestamp("2024-05-01T01:02:03Z")
        );
        assert_eq!(
            format_micros(parse_timestamp("0001-01-01T00:00:00Z").unwrap()),
            "0001-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn rejects() {
        for s in [
            "2024-05-01t12:00:00Z",
            "2024-05-01T12:00:00z",
            "2024-02-30T00:00:00Z",
            "2024-05-01T12:00:60Z",
            "2024-13-01T00:00:00Z",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00.Z",
            "24-05-01T12:00:00Z",
            "2024-05-01T12:00:00Z ",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
        assert!(parse_timestamp("2024-02-29T00:00:00Z").is_some());
    }
}
