//! The indicator index: which indicators does this IP address, domain
//! name, URL, e-mail address or file hash match? Pure: no I/O, no clock
//! (time is an argument), no `unsafe`.
//!
//! # Use
//!
//! ```
//! use accord_matcher::{IndexBuilder, IndexView, IndicatorMeta, Key};
//!
//! let now = 1_700_000_000;
//! let mut b = IndexBuilder::new(now);
//! let id = accord_matcher::parse_indicator_id(
//!     "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").unwrap();
//! let ord = b.add_indicator(IndicatorMeta { id, valid_until: Some(now + 86_400), revoked: false });
//! b.add_key(ord, Key::ip_cidr("10.0.0.0/8").unwrap()).unwrap();
//! b.add_key(ord, Key::domain("Evil.Example.").unwrap()).unwrap();
//! b.add_key(ord, Key::url("HTTP://Evil.Example:80/a%7eb").unwrap()).unwrap();
//! let index = b.build().unwrap();
//!
//! // Save; later memory-map the file and look up in place.
//! let bytes = index.to_bytes();
//! let view = IndexView::from_bytes(&bytes).unwrap();
//! let mut hits = Vec::new();
//! view.lookup_ip("10.1.2.3".parse().unwrap(), &mut hits);
//! view.lookup_domain(b"a.b.EVIL.example", &mut hits);
//! view.lookup_url(b"http://evil.example/a~b", &mut hits);
//! assert_eq!(hits, [ord, ord, ord]);
//! assert_eq!(view.indicator_id_string(ord).unwrap(),
//!            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
//! assert!(view.is_live(ord, now) && !view.is_live(ord, now + 86_400));
//! ```
//!
//! # API
//!
//! - Keys: [`Key`] (`Ip`, `Domain`, `Url`, `Email`, `Hash`) and
//!   [`HashAlg`]; constructors parse and normalise ([`Key::ip_cidr`],
//!   [`Key::ip`], [`Key::domain`], [`Key::url`], [`Key::email`],
//!   [`Key::hash_hex`]); errors are [`KeyError`]s naming the input. The
//!   exact normalisation rules are documented on each constructor.
//! - Building: [`IndexBuilder::new`]`(now_unix)`,
//!   [`add_indicator`](IndexBuilder::add_indicator)`(IndicatorMeta) -> u32`
//!   ordinal, [`add_key`](IndexBuilder::add_key)`(ordinal, Key)`,
//!   [`build`](IndexBuilder::build). Revoked indicators and those whose
//!   `valid_until` is not after `now_unix` are kept in the indicator table
//!   (so ordinals and [`meta`](Index::meta) stay stable) but none of their
//!   keys is indexed: they never match.
//! - Lookups, on [`Index`] and [`IndexView`] alike: `lookup_ip`,
//!   `lookup_ipv4`, `lookup_ipv6`, `lookup_domain`, `lookup_url`,
//!   `lookup_email`, `lookup_hash` (hex), `lookup_hash_bytes`. Each appends
//!   the matching ordinals to a caller's `Vec<u32>` (sorted, no duplicates
//!   within one call) and returns how many; inputs are raw log bytes; a miss
//!   allocates nothing. Then `meta`, `is_live(ordinal, now)`,
//!   `retain_live`, `indicator_id_string`.
//! - Persistence: [`Index::to_bytes`], [`Index::write_to`],
//!   [`IndexView::from_bytes`] (zero-copy over e.g. a memory map; validates
//!   once), [`IndexView::from_bytes_unverified`] (skips the body checksum),
//!   [`Index::from_vec`]. Errors are [`LoadError`]s; no input panics.
//!
//! # Matching rules
//!
//! - **IP**: an address matches every key that contains it — the exact
//!   address and *all* covering prefixes (`/8`, `/16`, `/24`, `/32` are all
//!   reported), any mix of lengths. Host bits of a prefix are cleared.
//!   IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is IPv4 everywhere: a key
//!   `::ffff:a.b.c.d/n` with n ≥ 96 is stored as `a.b.c.d/(n−96)` and a
//!   looked-up mapped address is looked up as IPv4 (so it matches IPv4 keys;
//!   IPv6 prefixes shorter than /96, such as `::/0`, do not match it).
//! - **Domain**: a key matches the name and every subdomain at a label
//!   boundary: `evil.example` matches `evil.example`, `a.b.evil.example`,
//!   `EVIL.example.`, not `notevil.example`. ASCII case-insensitive, one
//!   trailing dot ignored; no IDNA mapping (punycode is compared as text).
//! - **URL**: exact after normalisation (see [`Key::url`]).
//! - **E-mail**: exact; domain part case-insensitive, local part exact.
//! - **Hash**: exact; hex either case; the digest length picks the
//!   algorithm.
//!
//! # Data layout
//!
//! An index is one byte buffer, identical in memory and on disk (layout in
//! the `format` module docs: a header with magic, version, counts, section
//! offsets and checksums, then 8-aligned sections of little-endian
//! integers):
//!
//! - indicator table: 16-byte id, `valid_until` (i64), 1 flag byte;
//! - posting values: a key points at one ordinal, or (top bit set) at a
//!   `[count, ordinals…]` list;
//! - exact keys (IPv4, IPv6, domains, URLs, e-mail, each hash algorithm):
//!   static hash tables with *sorted linear probing* — 8-byte slots
//!   `(32-bit fingerprint, value)` at load factor 0.8, sorted by
//!   fingerprint, so a miss stops at the first empty slot or larger
//!   fingerprint (usually one cache line). IPv4 slots hold the posting
//!   directly (the fingerprint is a bijection of the address); other slots
//!   point at a record (posting + key bytes) that verifies the hit;
//! - prefixes: per family, disjoint intervals each naming the innermost
//!   covering prefix, a directory on the top ≤16 bits plus binary search,
//!   then the chain of enclosing prefixes;
//! - domains: each label-boundary suffix of the looked-up name is hashed
//!   and probed (lowercased in a reused buffer), skipping suffixes
//!   longer or shorter than any stored name.
//!
//! - filters: each exact table has a split-block Bloom filter (8 bits per
//!   key, about 2–3% false positives) checked before its slots, so a miss
//!   usually touches only cache-resident memory.
//!
//! At 1,000,000 mixed indicators (30% IPv4, 10% IPv6, 5% CIDR, 25%
//! domains, 15% URLs, 15% MD5/SHA-256) the whole index is 56.5 bytes per
//! indicator, indicator table (25 B) and key bytes included, and builds in
//! about 0.5 s (`cargo bench -p accord-matcher`; `cargo run --release -p
//! accord-matcher --example lookup_timing` times lookups without a
//! harness).
#![warn(missing_docs)]

mod build;
mod cidr;
mod filter;
pub mod format;
mod hash;
mod index;
mod key;
mod table;

pub use build::{BuildError, IndexBuilder, MAX_INDICATORS, WriteError};
pub use format::{FORMAT_VERSION, LoadError, MAGIC};
pub use index::{Index, IndexStats, IndexView, indicator_id_string, parse_indicator_id};
pub use key::{HashAlg, Key, KeyError, MAX_DOMAIN_LEN, MAX_KEY_LEN};

/// What the index keeps about an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndicatorMeta {
    /// The UUID of `indicator--<uuid>`, as 16 bytes.
    pub id: [u8; 16],
    /// When the indicator stops being valid (unix seconds), if ever.
    pub valid_until: Option<i64>,
    /// Revoked indicators never match.
    pub revoked: bool,
}

impl IndicatorMeta {
    /// Not revoked and `now_unix < valid_until` (or no `valid_until`).
    #[inline]
    pub fn is_live(&self, now_unix: i64) -> bool {
        !self.revoked && self.valid_until.is_none_or(|v| now_unix < v)
    }
}
