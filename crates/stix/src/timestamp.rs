//! STIX timestamps (§3.2): RFC 3339, always UTC with a `Z`, any number of
//! fractional digits. Parsed by hand: this runs on every object, and the
//! format is narrow enough that a general date library only costs time.

use std::cmp::Ordering;
use std::fmt;

/// A parsed STIX timestamp, ordered by instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub unix_seconds: i64,
    /// Nanoseconds within the second (sub-nanosecond digits are dropped).
    pub nanos: u32,
    /// How many fractional digits the text had.
    pub frac_digits: u8,
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.unix_seconds, self.nanos).cmp(&(other.unix_seconds, other.nanos))
    }
}

/// Why a string is not a STIX timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z): {reason}")]
pub struct TimestampError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
    ///
    /// # Errors
    /// A [`TimestampError`] naming the text and the fault: wrong shape, a
    /// time zone other than `Z`, a month, day or time out of range.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let err = |reason| TimestampError {
            text: text.to_owned(),
            reason,
        };
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(err("too short"));
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(err("wrong shape"));
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
            digits(0..4),
            digits(5..7),
            digits(8..10),
            digits(11..13),
            digits(14..16),
            digits(17..19),
        ) else {
            return Err(err("a date or time field is not digits"));
        };
        let mut i = 19;
        let mut nanos = 0u32;
        let mut frac_digits = 0u8;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return Err(err("a `.` with no fractional digits"));
            }
            for _ in n..9 {
                nanos *= 10;
            }
            frac_digits = n.min(255) as u8;
        }
        if i != b.len() - 1 || b[i] != b'Z' {
            return Err(err("must end in `Z` (UTC)"));
        }
        if !(1..=12).contains(&month) {
            return Err(err("month out of range"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(err("day out of range"));
        }
        if hour > 23 || min > 59 || sec > 60 {
            return Err(err("time out of range"));
        }
        let days = days_from_civil(i64::from(year), month, day);
        let unix_seconds =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec);
        Ok(Timestamp {
            unix_seconds,
            nanos,
            frac_digits,
        })
    }

    /// Formats with millisecond precision, as STIX producers usually do.
    pub fn to_millis_string(&self) -> String {
        self.format(3)
    }

    /// Formats with exactly `frac_digits` fractional digits (at most 9;
    /// none and no `.` for 0), truncating what does not fit.
    pub fn format(&self, frac_digits: u8) -> String {
        let days = self.unix_seconds.div_euclid(86_400);
        let secs = self.unix_seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let Ok(y4 @ 0..=9999) = u32::try_from(y) else {
            // Outside RFC 3339's four-digit years: no fixed layout.
            return self.format_slow(y, m, d, secs, frac_digits);
        };
        if self.nanos >= 1_000_000_000 {
            return self.format_slow(y, m, d, secs, frac_digits);
        }
        // Written digit by digit: this runs for every stored object.
        let mut out = [0u8; 30];
        let put = |out: &mut [u8], at: usize, v: u32, width: usize| {
            let mut v = v;
            for i in (0..width).rev() {
                out[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(&mut out, 0, y4, 4);
        out[4] = b'-';
        put(&mut out, 5, m, 2);
        out[7] = b'-';
        put(&mut out, 8, d, 2);
        out[10] = b'T';
        put(&mut out, 11, (secs / 3600) as u32, 2);
        out[13] = b':';
        put(&mut out, 14, (secs / 60 % 60) as u32, 2);
        out[16] = b':';
        put(&mut out, 17, (secs % 60) as u32, 2);
        let mut len = 19;
        let digits = usize::from(frac_digits.min(9));
        if digits > 0 {
            out[19] = b'.';
            put(
                &mut out,
                20,
                self.nanos / 10u32.pow(9 - digits as u32),
                digits,
            );
            len = 20 + digits;
        }
        out[len] = b'Z';
        out[..=len].iter().map(|&b| char::from(b)).collect()
    }

    /// [`Timestamp::format`] with `format!`, for years outside 0..=9999.
    fn format_slow(&self, y: i64, m: u32, d: u32, secs: i64, frac_digits: u8) -> String {
        let mut out = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        let digits = u32::from(frac_digits.min(9));
        if digits > 0 {
            let frac = self.nanos / 10u32.pow(9 - digits);
            out.push_str(&format!(".{frac:0width$}", width = digits as usize));
        }
        out.push('Z');
        out
    }

    /// A timestamp from Unix seconds and nanoseconds.
    pub fn from_unix(unix_seconds: i64, nanos: u32) -> Timestamp {
        Timestamp {
            unix_seconds,
            nanos,
            frac_digits: 3,
        }
    }

    /// A timestamp from Unix microseconds (negative ones are before 1970).
    ///
    /// ```
    /// use accord_stix::Timestamp;
    /// let t = Timestamp::from_unix_micros(1_462_522_628_123_456);
    /// assert_eq!(t.format(6), "2016-05-06T08:17:08.123456Z");
    /// assert_eq!(t.to_millis_string(), "2016-05-06T08:17:08.123Z");
    /// ```
    pub fn from_unix_micros(micros: i64) -> Timestamp {
        // rem_euclid is in 0..1_000_000, so the nanoseconds fit in u32.
        let nanos = (micros.rem_euclid(1_000_000) * 1_000) as u32;
        Timestamp::from_unix(micros.div_euclid(1_000_000), nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_millis_string())
    }
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.

/// Days from 1970-01-01 to a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day number from
/// 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_stix_forms() {
        let t = Timestamp::parse("2016-04-06T20:03:48.000Z").unwrap();
        assert_eq!(t.unix_seconds, 1_459_973_028);
        assert_eq!(t.frac_digits, 3);
        assert!(Timestamp::parse("2016-04-06T20:03:48Z").is_ok());
        assert!(Timestamp::parse("2016-04-06T20:03:48.123456789123Z").is_ok());
        assert!(Timestamp::parse("2016-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn rejects_non_stix_forms() {
        for bad in [
            "2016-04-06T20:03:48.000+00:00",
            "2016-04-06 20:03:48Z",
            "2016-04-06T20:03:48.Z",
            "2016-04-06t20:03:48Z",
            "2016-13-06T20:03:48Z",
            "2015-02-29T00:00:00Z",
            "2016-04-06T24:00:00Z",
            "2016-04-06",
            "2016-04-06T20:03:48z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_any_precision() {
        let t = Timestamp::parse("2016-04-06T20:03:48.123456789Z").unwrap();
        assert_eq!(t.format(0), "2016-04-06T20:03:48Z");
        assert_eq!(t.format(3), "2016-04-06T20:03:48.123Z");
        assert_eq!(t.format(6), "2016-04-06T20:03:48.123456Z");
        assert_eq!(t.format(9), "2016-04-06T20:03:48.123456789Z");
        assert_eq!(
            Timestamp::from_unix(-1, 999_999_000).format(6),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn ordering_uses_fractions() {
        let a = Timestamp::parse("2016-04-06T20:03:48.1Z").unwrap();
        let b = Timestamp::parse("2016-04-06T20:03:48.099999Z").unwrap();
        assert!(b < a);
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(secs in -2_000_000_000i64..8_000_000_000, ms in 0u32..1000) {
            let t = Timestamp::from_unix(secs, ms * 1_000_000);
            let back = Timestamp::parse(&t.to_millis_string()).unwrap();
            prop_assert_eq!(back, t);
        }

        /// The digit-by-digit `format` writes what `format!` writes, for
        /// every year (the slow path outside 0..=9999) and precision.
        #[test]
        fn format_matches_format_macro(secs in -70_000_000_000i64..400_000_000_000, nanos in 0u32..1_000_000_000, digits in 0u8..12) {
            let t = Timestamp::from_unix(secs, nanos);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let want = t.format_slow(y, m, d, secs.rem_euclid(86_400), digits);
            prop_assert_eq!(t.format(digits), want);
        }

        #[test]
        fn parse_never_panics(s in "\\\\PC{0,40}") {
            let _ = Timestamp::parse(&s);
        }
    }
}
