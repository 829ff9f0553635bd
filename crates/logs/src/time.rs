//! Event times: Zeek epoch seconds (`1521911720.865716`) and ISO 8601 /
//! RFC 3339 timestamps (`2016-07-13T22:42:07.573103+0000`,
//! `2018-03-24T17:15:20.865716Z`), both to Unix microseconds. Hand-written:
//! this runs on every line.

/// Parses a decimal number of seconds since the epoch (`1234567890.123456`)
/// into microseconds. Digits past the sixth fractional one are truncated.
/// Returns `None` for anything else (including Zeek's canonified `XXXX.XXX`).
pub fn parse_epoch(b: &[u8]) -> Option<i64> {
    let (neg, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    if int.is_empty() || int.len() > 12 {
        return None;
    }
    let mut secs: i64 = 0;
    for &c in int {
        if !c.is_ascii_digit() {
            return None;
        }
        secs = secs * 10 + i64::from(c - b'0');
    }
    let mut micros: i64 = 0;
    let mut n = 0;
    for &c in frac {
        // Exponent forms (1e9) are not produced by Zeek; refuse them.
        if !c.is_ascii_digit() {
            return None;
        }
        if n < 6 {
            micros = micros * 10 + i64::from(c - b'0');
            n += 1;
        }
    }
    while n < 6 {
        micros *= 10;
        n += 1;
    }
    let v = secs * 1_000_000 + micros;
    Some(if neg { -v } else { v })
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH[:]MM]` (a space may stand for
/// `T`; no zone means UTC) into Unix microseconds.
pub fn parse_iso8601(b: &[u8]) -> Option<i64> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
        return None;
    }
    let y = digits(b, 0, 4)?;
    let mo = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    let h = digits(b, 11, 2)?;
    let mi = digits(b, 14, 2)?;
    let s = digits(b, 17, 2)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut n = 0;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if n < 6 {
                micros = micros * 10 + i64::from(c - b'0');
                n += 1;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        while n < 6 {
            micros *= 10;
            n += 1;
        }
    }
    let offset_secs = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let rest = &b[i + 3..];
            let om = match rest {
                [] => 0,
                [b':', ..] if rest.len() == 3 => digits(rest, 1, 2)?,
                _ if rest.len() == 2 => digits(rest, 0, 2)?,
                _ => return None,
            };
            let o = oh * 3600 + om * 60;
            if sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_secs;
    Some(secs * 1_000_000 + micros)
}

/// Either form: epoch seconds or ISO 8601.
pub fn parse_any(b: &[u8]) -> Option<i64> {
    if b.len() >= 19 && b[4] == b'-' {
        parse_iso8601(b)
    } else {
        parse_epoch(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch() {
        assert_eq!(
            parse_epoch(b"1234567890.123456"),
            Some(1_234_567_890_123_456)
        );
        assert_eq!(parse_epoch(b"22.335172"), Some(22_335_172));
        assert_eq!(parse_epoch(b"10.5"), Some(10_500_000));
        assert_eq!(parse_epoch(b"7"), Some(7_000_000));
        assert_eq!(parse_epoch(b"1.1234567"), Some(1_123_456));
        assert_eq!(parse_epoch(b"XXXXXXXXXX.XXXXXX"), None);
        assert_eq!(parse_epoch(b""), None);
        assert_eq!(parse_epoch(b"1e9"), None);
    }

    #[test]
    fn iso() {
        assert_eq!(parse_iso8601(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso8601(b"2016-07-13T22:42:07.573103+0000"),
            Some(1_468_449_727_573_103)
        );
        assert_eq!(
            parse_iso8601(b"2021-06-06T15:59:46.457984+0200"),
            Some(1_622_987_986_457_984)
        );
        assert_eq!(
            parse_iso8601(b"2018-03-24T17:15:20.865716Z"),
            Some(1_521_911_720_865_716)
        );
        assert_eq!(
            parse_iso8601(b"2018-03-24T17:15:20+01:00"),
            Some(1_521_908_120_000_000)
        );
        assert_eq!(
            parse_iso8601(b"2022-03-20T09:44:08"),
            Some(1_647_769_448_000_000)
        );
        assert_eq!(parse_iso8601(b"2018-13-24T17:15:20Z"), None);
        assert_eq!(parse_iso8601(b"2018-03-24T17:15:20Zjunk"), None);
        assert_eq!(parse_iso8601(b"2018-03-24T17:15:20."), None);
    }
}
