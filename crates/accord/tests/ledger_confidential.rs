//! The log stays verifiable and confidential, with real node processes:
//! node `a` exchanges with partners `b` and `c`. Reading `a`'s entry
//! bundles as `c` shows nothing of the a↔b exchanges (no object id,
//! content hash or partner name: only redacted entries with their leaf
//! hashes) and its own records in full; the audits both ways still pass,
//! `c`'s too; `a`'s log still verifies, and the independent Python
//! verifier, reading as `c`, checks the redacted bundles against the
//! signed checkpoint.

mod common;
use common::{accord, accord_pw, add_partner, ingest, init, keys, p, serve, text};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

/// Adds account `name` with the password of the first account.
fn add_account(config: &Path, name: &str) {
    let t = std::fs::read_to_string(config).unwrap();
    let hash = t
        .lines()
        .find(|l| l.starts_with("password_hash = "))
        .unwrap()
        .to_owned();
    std::fs::write(
        config,
        format!("{t}\n[[accounts]]\nname = \"{name}\"\n{hash}\nread = [\"*\"]\nwrite = [\"*\"]\n"),
    )
    .unwrap();
}

fn get(url: &str, user: &str, password: &str) -> Vec<u8> {
    let o = Command::new("curl")
        .args(["-sf", "-u", &format!("{user}:{password}"), url])
        .output()
        .unwrap();
    assert!(o.status.success(), "GET {url} as {user}: {}", text(&o));
    o.stdout
}

/// Every entry bundle of the log at `base` as `user` reads it, with the
/// size of the checkpoint served.
fn bundles(base: &str, user: &str, password: &str) -> (u64, Vec<u8>, Vec<Vec<u8>>) {
    let note = get(&format!("{base}/ledger/checkpoint"), user, password);
    let size: u64 = String::from_utf8_lossy(&note)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut all = Vec::new();
    let mut entries = Vec::new();
    for k in 0..size.div_ceil(256) {
        let w = (size - 256 * k).min(256);
        let path = if w == 256 {
            format!("tile/entries/{k:03}")
        } else {
            format!("tile/entries/{k:03}.p/{w}")
        };
        let b = get(&format!("{base}/ledger/{path}"), user, password);
        all.extend_from_slice(&b);
        let mut rest = &b[..];
        while !rest.is_empty() {
            let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            entries.push(rest[2..2 + n].to_vec());
            rest = &rest[2 + n..];
        }
    }
    assert_eq!(entries.len() as u64, size);
    (size, all, entries)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_partner_sees_its_own_records_and_only_hashes_of_the_others() {
    let python = accord_testkit::python("cryptography");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // a has accounts `b` and `c` (one password); b and c each an account `a`.
    let (a_toml, a_pw, a_port) = init(d, "a", "b");
    add_account(&a_toml, "c");
    let (b_toml, b_pw, b_port) = init(d, "b", "a");
    let (c_toml, c_pw, c_port) = init(d, "c", "a");
    let (ka, kb, kc) = (keys(&a_toml), keys(&b_toml), keys(&c_toml));
    add_partner(&a_toml, "b", b_port, &kb, "a");
    add_partner(&a_toml, "c", c_port, &kc, "a");
    add_partner(&b_toml, "a", a_port, &ka, "b");
    add_partner(&c_toml, "a", a_port, &ka, "c");
    ingest(d, &d.join("a"), "1", "300", "default");
    ingest(d, &d.join("b"), "2", "200", "default");
    ingest(d, &d.join("c"), "3", "100", "default");
    let _a = serve(&a_toml);
    let _b = serve(&b_toml);
    let _c = serve(&c_toml);

    let sync = |config: &Path, port: u16, user: &str, into: &str, password: &str| {
        let from = format!("http://127.0.0.1:{port}/api1/collections/default/");
        let o = accord_pw(
            &[
                "sync",
                "--config",
                p(config),
                "--from",
                &from,
                "--user",
                user,
                "--into",
                into,
            ],
            password,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(text(&o).contains("accepted, cosigned"), "{}", text(&o));
    };
    // a ↔ b both ways; a pulls from c.
    sync(&b_toml, a_port, "b", "from-a", &a_pw);
    sync(&a_toml, b_port, "a", "from-b", &b_pw);
    sync(&a_toml, c_port, "a", "from-c", &c_pw);

    // What a's log holds about b, as a itself reads it.
    let o = accord(&["ledger", "entries", "--json", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    let mine: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record"].clone())
        .collect();
    let about = |who: &str| -> Vec<&serde_json::Value> {
        mine.iter().filter(|r| r["partner"] == who).collect()
    };
    // 300 sent to b, 200 received from b, 100 received from c.
    assert_eq!(about("b").len(), 500);
    assert_eq!(about("c").len(), 100);
    assert!(mine.iter().all(|r| r["salt"].as_str().unwrap().len() == 32));
    // The a↔b exchanges and a's local records (the objects b received).
    let secret: HashSet<String> = mine
        .iter()
        .filter(|r| r["partner"] == "b" || r["direction"] == "local")
        .flat_map(|r| {
            [
                r["object_id"].as_str().unwrap().to_owned(),
                r["sha256"].as_str().unwrap().to_owned(),
                r["salt"].as_str().unwrap().to_owned(),
            ]
        })
        .collect();
    // 500 objects (a's 300, sent to b, and b's 200), their 500 contents,
    // 800 salts (300 local, 300 out, 200 in records); and the local records
    // of a's agreements (one per partner: id, hash, salt).
    let agreements = mine
        .iter()
        .filter(|r| r["collection"] == "accord:agreements")
        .count();
    assert_eq!(agreements, 2);
    assert_eq!(secret.len(), 500 + 500 + 800 + 3 * agreements);

    // c reads a's entry bundles: its 100 records in full, every other
    // entry redacted.
    let base = format!("http://127.0.0.1:{a_port}");
    let (size, raw, entries) = bundles(&base, "c", &a_pw);
    assert_eq!(size as usize, mine.len());
    for s in &secret {
        assert!(!contains(&raw, s), "c's view of a's log holds {s}");
    }
    assert!(!contains(&raw, "\"b\""), "c's view names b");
    assert!(!contains(&raw, "\"local\""), "c's view holds local records");
    let shown: Vec<&Vec<u8>> = entries
        .iter()
        .filter(|e| !e.starts_with(b"{\"redacted\":\""))
        .collect();
    assert_eq!(shown.len(), 100);
    assert!(shown.iter().all(|e| contains(e, "\"partner\":\"c\"")));
    // A redacted entry is its leaf hash: the one a computes from its leaf.
    for (e, r) in entries.iter().zip(&mine) {
        if e.starts_with(b"{\"redacted\":\"") {
            assert_eq!(e.len(), 79);
            assert_ne!(r["partner"], "c");
        } else {
            assert_eq!(r["partner"], "c");
        }
    }
    // b, likewise, sees nothing of c; a's own account sees everything.
    let (_, raw_b, entries_b) = bundles(&base, "b", &a_pw);
    assert!(!contains(&raw_b, "\"partner\":\"c\""));
    assert_eq!(
        entries_b
            .iter()
            .filter(|e| !e.starts_with(b"{\"redacted\":\""))
            .count(),
        500
    );

    // The audits pass both ways, and say how much was redacted.
    let audit = |config: &Path, partner: &str, password: &str| {
        let o = accord_pw(
            &[
                "ledger",
                "audit",
                "--config",
                p(config),
                "--partner",
                partner,
                "--json",
            ],
            password,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let r = audit(&b_toml, "a", &a_pw);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["checked"], 500, "{r}");
    assert_eq!(r["redacted"], size - 500, "{r}");
    let r = audit(&a_toml, "b", &b_pw);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["checked"], 500, "{r}");
    let r = audit(&c_toml, "a", &a_pw);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["checked"], 100, "{r}");
    assert_eq!(r["redacted"], size - 100, "{r}");
    let o = accord_pw(
        &["ledger", "audit", "--config", p(&c_toml), "--partner", "a"],
        &a_pw,
    );
    assert!(
        text(&o).contains(&format!(
            "note: {} of the {size} entries of `a`'s log were served redacted",
            size - 100
        )),
        "{}",
        text(&o)
    );

    // a's log verifies, on its store and, read as c, by the independent
    // verifier.
    let o = accord(&["ledger", "verify", "--config", p(&a_toml)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let vkey = ka["verifier_key"].as_str().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ledger_verify.py");
    let o = Command::new(&python)
        .arg(&script)
        .args([&base, "c", &a_pw, vkey, "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{} redacted", size - 100)),
        "{}",
        text(&o)
    );
}
