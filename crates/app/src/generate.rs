//! Deterministic generated STIX content, for benchmarks and demo data.
//!
//! A seeded splitmix64 stream rather than the `rand` crate: the output must
//! stay byte-identical across dependency upgrades, since benchmarks quote it.

use std::io::Write;

/// The identity that "produced" generated content.
pub const IDENTITY_ID: &str = "identity--7d5b2c9a-3f1e-4b8a-9c6d-2e4f8a1b3c5d";
/// TLP:GREEN (TLP 2.0), as STIX 2.1 §7.2.1.4 defines it.
pub const TLP_GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";

/// A small deterministic random stream.
pub struct Rng(u64);

impl Rng {
    /// A stream from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A random (version 4) UUID.
    pub fn uuid(&mut self) -> uuid::Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid()
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "ri", "mo", "tel", "sun", "var", "lin", "po", "dex", "na", "zor", "qui", "bel", "tra",
    "om", "sek", "ul", "fin", "gar", "vex", "lo", "mi", "pra", "sto",
];
const TLDS: &[&str] = &[
    "com", "net", "org", "info", "io", "xyz", "top", "biz", "online", "site",
];

fn word(rng: &mut Rng) -> String {
    let n = 2 + rng.below(3);
    (0..n)
        .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
        .collect()
}

fn domain(rng: &mut Rng) -> String {
    format!(
        "{}.{}",
        word(rng),
        TLDS[rng.below(TLDS.len() as u64) as usize]
    )
}

fn ipv4(rng: &mut Rng) -> String {
    let a = loop {
        let a = 1 + rng.below(223);
        if ![10, 127, 100, 169, 172, 192, 198, 203].contains(&a) {
            break a;
        }
    };
    format!(
        "{a}.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

/// A STIX pattern and a name for a random indicator value.
fn pattern(rng: &mut Rng) -> (String, String) {
    match rng.below(10) {
        0..=2 => {
            let ip = ipv4(rng);
            (
                format!("[ipv4-addr:value = '{ip}']"),
                format!("Malicious IP {ip}"),
            )
        }
        3..=5 => {
            let d = domain(rng);
            (
                format!("[domain-name:value = '{d}']"),
                format!("Malicious domain {d}"),
            )
        }
        6 | 7 => {
            let u = format!("http://{}/{}/{}.php", domain(rng), word(rng), word(rng));
            (format!("[url:value = '{u}']"), format!("Malicious URL {u}"))
        }
        _ => {
            let h = format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64()
            );
            (
                format!("[file:hashes.'SHA-256' = '{h}']"),
                format!("Malware sample {}", &h[..12]),
            )
        }
    }
}

/// Writes `count` indicators as JSON lines: valid STIX 2.1, about 600 bytes
/// each, created in 2026 one second apart.
pub fn indicators(
    count: u64,
    seed: u64,
    out: &mut dyn Write,
    mut tick: impl FnMut(u64),
) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    let base = accord_stix::Timestamp::parse("2026-01-01T00:00:00Z").map_or(0, |t| t.unix_seconds);
    for i in 0..count {
        let id = rng.uuid();
        let t = accord_stix::Timestamp::from_unix(
            base + i as i64,
            (rng.below(1000) * 1_000_000) as u32,
        );
        let ts = t.to_millis_string();
        let (pat, name) = pattern(&mut rng);
        let confidence = 50 + rng.below(50);
        let pattern_json = serde_json::Value::String(pat);
        writeln!(
            out,
            concat!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{id}","created":"{ts}","modified":"{ts}","#,
                r#""created_by_ref":"{ident}","name":"{name}","description":"Generated indicator {i} for Accord benchmarks and demos.","#,
                r#""indicator_types":["malicious-activity"],"pattern":{pattern},"pattern_type":"stix","valid_from":"{ts}","#,
                r#""labels":["generated"],"confidence":{confidence},"object_marking_refs":["{tlp}"]}}"#
            ),
            id = id,
            ts = ts,
            ident = IDENTITY_ID,
            name = name,
            i = i,
            pattern = pattern_json,
            confidence = confidence,
            tlp = TLP_GREEN,
        )?;
        tick(i);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_indicators_are_valid_and_deterministic() {
        let mut a = Vec::new();
        indicators(200, 7, &mut a, |_| ()).unwrap();
        let mut b = Vec::new();
        indicators(200, 7, &mut b, |_| ()).unwrap();
        assert_eq!(a, b);
        for line in String::from_utf8(a).unwrap().lines() {
            let obj = accord_stix::Object::parse(line).unwrap();
            let issues = accord_stix::validate_object(&obj);
            assert!(accord_stix::is_valid(&issues), "{issues:?}\n{line}");
        }
    }
}
