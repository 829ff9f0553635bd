//! Address ranges: parse an entry or a value, merge a list's ranges, and
//! answer "inside?" by binary search.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The shortest prefix an IPv4 entry may have (224.0.0.0/4, multicast, is on
/// MISP's lists; anything wider is a mistake that would hide most of the
/// address space).
pub(crate) const MIN_V4_PREFIX: u8 = 4;
/// The shortest prefix an IPv6 entry may have (ff00::/8, multicast).
pub(crate) const MIN_V6_PREFIX: u8 = 8;

/// An inclusive range of addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Range {
    V4(u32, u32),
    V6(u128, u128),
}

/// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or an IPv6 `addr/n` into
/// its inclusive range; host bits are cleared (as MISP's `CidrTool` does). An
/// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address.
pub(crate) fn parse_range(text: &str) -> Result<(Range, u8), String> {
    let text = text.trim();
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => {
            let p: u8 = p
                .parse()
                .map_err(|_| format!("prefix length {p:?} is not a number"))?;
            (a, Some(p))
        }
        None => (text, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IP address"))?;
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) if prefix.is_none() => IpAddr::V4(v4),
            _ => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let p = prefix.unwrap_or(32);
            if p > 32 {
                return Err(format!("prefix length /{p} is longer than 32"));
            }
            let (lo, hi) = v4_range(v4, p);
            Ok((Range::V4(lo, hi), p))
        }
        IpAddr::V6(v6) => {
            let p = prefix.unwrap_or(128);
            if p > 128 {
                return Err(format!("prefix length /{p} is longer than 128"));
            }
            let (lo, hi) = v6_range(v6, p);
            Ok((Range::V6(lo, hi), p))
        }
    }
}

fn v4_range(ip: Ipv4Addr, prefix: u8) -> (u32, u32) {
    let bits = u32::from(ip);
    let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
    (bits & !host, bits | host)
}

fn v6_range(ip: Ipv6Addr, prefix: u8) -> (u128, u128) {
    let bits = u128::from(ip);
    let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
    (bits & !host, bits | host)
}

/// Sorts and merges overlapping or adjacent ranges, so that a lookup is one
/// binary search and a range that spans two touching entries still counts as
/// inside.
pub(crate) fn merge<T: Copy + Ord + num::One>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        if let Some(last) = out.last_mut()
            && (lo <= last.1 || last.1.checked_inc() == Some(lo))
        {
            if hi > last.1 {
                last.1 = hi;
            }
            continue;
        }
        out.push((lo, hi));
    }
    out
}

/// Whether `[lo, hi]` lies inside one of the merged, sorted `ranges`.
pub(crate) fn contains<T: Copy + Ord>(ranges: &[(T, T)], lo: T, hi: T) -> Option<(T, T)> {
    let i = ranges.partition_point(|r| r.0 <= lo);
    let r = *ranges.get(i.checked_sub(1)?)?;
    (r.1 >= hi).then_some(r)
}

/// Renders a merged range for a hit: one address, or `first-last`.
pub(crate) fn render(range: Range) -> String {
    match range {
        Range::V4(lo, hi) if lo == hi => Ipv4Addr::from(lo).to_string(),
        Range::V4(lo, hi) => format!("{}-{}", Ipv4Addr::from(lo), Ipv4Addr::from(hi)),
        Range::V6(lo, hi) if lo == hi => Ipv6Addr::from(lo).to_string(),
        Range::V6(lo, hi) => format!("{}-{}", Ipv6Addr::from(lo), Ipv6Addr::from(hi)),
    }
}

pub(crate) mod num {
    /// The successor, if any (for merging adjacent ranges).
    pub trait One: Sized {
        fn checked_inc(self) -> Option<Self>;
    }
    impl One for u32 {
        fn checked_inc(self) -> Option<Self> {
            self.checked_add(1)
        }
    }
    impl One for u128 {
        fn checked_inc(self) -> Option<Self> {
            self.checked_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_mask() {
        assert_eq!(
            parse_range("10.1.2.3/8").unwrap(),
            (Range::V4(0x0a00_0000, 0x0aff_ffff), 8)
        );
        assert_eq!(
            parse_range("8.8.8.8").unwrap(),
            (Range::V4(0x0808_0808, 0x0808_0808), 32)
        );
        assert_eq!(
            parse_range("::ffff:8.8.8.8").unwrap().0,
            Range::V4(0x0808_0808, 0x0808_0808)
        );
        assert!(matches!(
            parse_range("2001:db8::/32").unwrap().0,
            Range::V6(..)
        ));
        assert!(parse_range("10.0.0.0/33").is_err());
        assert!(parse_range("10.0.0/8").is_err());
        assert!(parse_range("10.0.0.0/x").is_err());
        assert_eq!(parse_range("0.0.0.0/0").unwrap().0, Range::V4(0, u32::MAX));
    }

    #[test]
    fn merge_joins_overlaps_and_neighbours() {
        let m = merge(vec![
            (5u32, 9),
            (1, 3),
            (4, 4),
            (20, 30),
            (25, 26),
            (u32::MAX, u32::MAX),
        ]);
        assert_eq!(m, vec![(1, 9), (20, 30), (u32::MAX, u32::MAX)]);
        assert_eq!(contains(&m, 2, 9), Some((1, 9)));
        assert_eq!(contains(&m, 9, 20), None);
        assert_eq!(contains(&m, 0, 0), None);
        assert_eq!(contains(&m, u32::MAX, u32::MAX), Some((u32::MAX, u32::MAX)));
    }
}
