//! Subnet containment for `ISSUBSET` and `ISSUPERSET`, IPv4 and IPv6.

use std::net::IpAddr;

/// An address or a CIDR block as (address bits, bit width, prefix length).
fn parse(s: &str) -> Result<(u128, u8, u8), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("invalid IP address: {addr:?}"))?;
    let (bits, width) = match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u8),
        IpAddr::V6(v6) => (u128::from(v6), 128u8),
    };
    let prefix = match prefix {
        Some(p) => {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3 {
                return Err(format!("invalid CIDR prefix in {s:?}"));
            }
            let n: u8 = p
                .parse()
                .map_err(|_| format!("invalid CIDR prefix in {s:?}"))?;
            if n > width {
                return Err(format!(
                    "CIDR prefix /{n} is longer than the address in {s:?}"
                ));
            }
            n
        }
        None => width,
    };
    Ok((bits, width, prefix))
}

/// Whether `inner` (an address or a block) lies within `outer` (a block or
/// an address, which is a block of one). Mixed address families, and
/// strings that are not addresses, are never contained (9.6.1: operands of
/// incompatible types compare false).
pub(crate) fn contains(outer: &str, inner: &str) -> bool {
    let (Ok((ob, ow, op)), Ok((ib, iw, ip))) = (parse(outer), parse(inner)) else {
        return false;
    };
    if ow != iw || op > ip {
        return false;
    }
    let shift = u32::from(ow - op);
    let mask = if shift >= 128 { 0 } else { (!0u128) << shift };
    let wmask = if ow == 128 { !0u128 } else { (1u128 << ow) - 1 };
    (ob & mask & wmask) == (ib & mask & wmask)
}

#[cfg(test)]
mod tests {
    use super::contains;

    #[test]
    fn v4_and_v6() {
        assert!(contains("10.0.0.0/8", "10.1.2.3"));
        assert!(contains("10.0.0.0/8", "10.1.0.0/16"));
        assert!(!contains("10.1.0.0/16", "10.0.0.0/8"));
        assert!(!contains("10.0.0.0/8", "11.0.0.1"));
        assert!(contains("0.0.0.0/0", "1.2.3.4"));
        assert!(contains("1.2.3.4", "1.2.3.4"));
        assert!(contains("2001:db8::/32", "2001:db8::1"));
        assert!(!contains("2001:db8::/32", "10.0.0.1"));
        assert!(contains("::/0", "::1"));
        assert!(!contains("10.0.0.0/8", "x"));
        assert!(!contains("10.0.0.0/33", "10.0.0.1"));
    }
}
