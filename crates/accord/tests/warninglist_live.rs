//! The node's warninglists where objects cross a running node: a pull
//! (`accord sync`) counts the warninglisted indicators it stored, and a
//! running `accord serve` applies lists replaced by `accord warninglist
//! update` to what it releases to a partner, without a restart.

mod common;

use common::{accord, accord_pw, add_partner, init, keys, p, serve, text};
use std::path::{Path, PathBuf};

const DNS: &str = "8.8.8.8";
const PRIVATE: &str = "10.1.2.3";
const OTHER: &str = "198.51.100.7";

fn id(n: u8) -> String {
    format!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3ce{n:02x}")
}

fn indicators(dir: &Path, name: &str, first: u8, ips: &[&str]) -> PathBuf {
    let objects: Vec<serde_json::Value> = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            serde_json::json!({
                "type": "indicator", "spec_version": "2.1", "id": id(first + i as u8),
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z",
            })
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(
        &path,
        objects
            .iter()
            .map(|o| o.to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    path
}

fn lists(dir: &Path, with_doc_range: bool) -> PathBuf {
    let lists = dir.join(if with_doc_range { "lists2" } else { "lists1" });
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("public-dns-v4.json"),
        r#"{"name":"List of known IPv4 public DNS resolvers","description":"t","version":1,"type":"cidr","list":["8.8.8.8","8.8.4.4"],"matching_attributes":["ip-src","ip-dst"]}"#,
    )
    .unwrap();
    std::fs::write(
        lists.join("rfc1918.json"),
        r#"{"name":"List of RFC 1918 CIDR blocks","description":"t","version":1,"type":"cidr","list":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"],"matching_attributes":["ip-src","ip-dst"]}"#,
    )
    .unwrap();
    if with_doc_range {
        std::fs::write(
            lists.join("test-net-2.json"),
            r#"{"name":"TEST-NET-2","description":"t","version":1,"type":"cidr","list":["198.51.100.0/24"],"matching_attributes":["ip-src","ip-dst"]}"#,
        )
        .unwrap();
    }
    lists
}

#[test]
fn pulls_count_warninglisted_and_a_running_node_applies_new_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // a serves; b pulls (account `b` at a).
    let (a_toml, a_pw, a_port) = init(d, "a", "b");
    let (b_toml, _, b_port) = init(d, "b", "a");
    let (ka, kb) = (keys(&a_toml), keys(&b_toml));
    add_partner(&a_toml, "b", b_port, &kb, "a");
    add_partner(&b_toml, "a", a_port, &ka, "b");
    let (a_data, b_data) = (d.join("a"), d.join("b"));
    let o = accord(&[
        "ingest",
        "--data",
        p(&a_data),
        p(&indicators(d, "first.jsonl", 0, &[DNS, PRIVATE, OTHER])),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // b has lists; a has none yet: a sends all three, b counts two.
    let o = accord(&[
        "warninglist",
        "update",
        "--data",
        p(&b_data),
        p(&lists(d, false)),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let _a = serve(&a_toml);
    let from = format!("http://127.0.0.1:{a_port}/api1/collections/default/");
    let sync = || {
        let o = accord_pw(
            &[
                "sync",
                "--config",
                p(&b_toml),
                "--from",
                &from,
                "--user",
                "b",
                "--into",
                "from-a",
            ],
            &a_pw,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        text(&o)
    };
    let out = sync();
    assert!(out.contains(": 3 stored,"), "{out}");
    assert!(
        out.contains("2 indicators flagged as warninglisted (public-dns-v4 1, rfc1918 1)"),
        "{out}"
    );

    // a's lists replaced while it serves (TEST-NET-2 now listed): the next
    // indicator in that range is withheld from b without a restart.
    let o = accord(&[
        "warninglist",
        "update",
        "--data",
        p(&a_data),
        p(&lists(d, true)),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = accord(&[
        "ingest",
        "--data",
        p(&a_data),
        p(&indicators(
            d,
            "second.jsonl",
            3,
            &["198.51.100.9", "203.0.113.9"],
        )),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = sync();
    assert!(out.contains(": 1 stored,"), "{out}");
    assert!(!out.contains("warninglisted"), "{out}");
    let o = accord(&["export", "--data", p(&b_data), "--collection", "from-a"]);
    assert!(o.status.success(), "{}", text(&o));
    let held = String::from_utf8_lossy(&o.stdout);
    assert!(held.contains(&id(4)) && !held.contains(&id(3)), "{held}");
    let o = accord(&["ledger", "entries", "--json", "--config", p(&a_toml)]);
    assert!(o.status.success(), "{}", text(&o));
    let withheld = common::json_lines(&String::from_utf8_lossy(&o.stdout))
        .into_iter()
        .map(|e| e["record"].clone())
        .find(|r| r["direction"] == "out" && r["object_id"] == id(3).as_str())
        .unwrap_or_else(|| panic!("no out record for {}", id(3)));
    assert_eq!(withheld["decision"]["action"], "withheld", "{withheld}");
    assert!(
        withheld["decision"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("warninglist:test-net-2"),
        "{withheld}"
    );
}
