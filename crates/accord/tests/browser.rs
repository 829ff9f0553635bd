//! The dashboard in a real browser (headless Chromium, driven by Playwright
//! from `tests/browser/dashboard.py`) on the three-nodes stage: sign in
//! (a wrong password first), the overview's total against the store, every
//! page, a search and an object, then a hotline case opened on cn's page,
//! carried by one round of sync, acknowledged and answered on us's page,
//! and seen acknowledged on cn's. A screenshot of each page is saved under
//! `target/browser-screenshots/` (or `$ACCORD_SCREENSHOTS`).
//!
//! Needs Debian's `chromium` (`./test.sh` installs it when run as root);
//! without it the test prints one `skip:` line.

mod common;

use accord_store::ObjectRead;
use common::{StageDown, p, stage_base_port, stage_script, text};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("ACCORD_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    p.is_file().then_some(p)
}

fn shots() -> PathBuf {
    std::env::var_os("ACCORD_SCREENSHOTS").map_or_else(
        || accord_testkit::repo_root().join("target/browser-screenshots"),
        PathBuf::from,
    )
}

/// Runs one phase of the browser script; its JSON answer.
fn phase(dir: &Path, name: &str, args: &Value) -> Value {
    let py = accord_testkit::python("playwright.sync_api");
    let file = dir.join(format!("browser-{name}.json"));
    std::fs::write(&file, args.to_string()).unwrap();
    let script = accord_testkit::repo("crates/accord/tests/browser/dashboard.py");
    let o = Command::new(py)
        .arg(script)
        .arg(name)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "browser phase {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

/// What the store of `node` holds in the collections its TAXII serves:
/// the total, and one indicator (a quoted value of its pattern, its id).
fn held(node: &Value) -> (u64, String, String) {
    let config = accord_app::config::load(Path::new(node["config"].as_str().unwrap())).unwrap();
    let store = accord_store::SqliteStore::open(&config.data_dir).unwrap();
    let names: BTreeSet<String> = config
        .api_roots
        .iter()
        .flat_map(|r| r.collections.iter().map(|c| c.store_name().to_owned()))
        .collect();
    let mut total = 0;
    let mut found = None;
    for n in &names {
        total += ObjectRead::count(&store, Some(n)).unwrap();
        for o in ObjectRead::newest(&store, n, &["indicator".into()], i64::MAX, 50).unwrap() {
            let v: Value = serde_json::from_str(&o.raw).unwrap();
            let pattern = v["pattern"].as_str().unwrap_or("");
            if let Some(value) = pattern.split('\'').nth(1)
                && value.len() > 6
                && found.is_none()
            {
                found = Some((value.to_owned(), o.id.clone()));
            }
        }
    }
    let (value, id) = found.expect("an indicator with a quoted value on the stage");
    (total, value, id)
}

#[test]
fn the_dashboard_in_chromium_between_two_nodes() {
    let Some(chromium) = chromium() else {
        println!(
            "skip: no Chromium at /usr/bin/chromium (apt-get install chromium, or set ACCORD_CHROMIUM)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = stage_base_port();
    let up = stage_script("up.sh", dir, base);
    assert!(up.status.success(), "{}", text(&up));
    let _down = StageDown(dir, base);
    let sync = || {
        let o = stage_script("sync.sh", dir, base);
        assert!(o.status.success(), "{}", text(&o));
    };
    sync();
    let nodes: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("nodes.json")).unwrap()).unwrap();
    let args = |node: &str, extra: Value| {
        let n = &nodes[node];
        let mut a = json!({
            "url": n["url"],
            "user": n["admin"]["user"],
            "password": n["admin"]["password"],
            "chromium": p(&chromium),
            "shots": p(&shots().join(node)),
        });
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    };

    // Something to look at: generated indicators in cn's shared collection.
    let cn_config =
        accord_app::config::load(Path::new(nodes["cn"]["config"].as_str().unwrap())).unwrap();
    let share = cn_config
        .api_roots
        .iter()
        .flat_map(|r| &r.collections)
        .find(|c| c.id == nodes["cn"]["share_collection"].as_str().unwrap())
        .unwrap()
        .store_name()
        .to_owned();
    common::ingest(dir, &cn_config.data_dir, "77", "300", &share);
    let (total, value, id) = held(&nodes["cn"]);
    assert!(total >= 300, "{total}");
    phase(
        dir,
        "tour",
        &args(
            "cn",
            json!({"expect_total": accord_node::ui::fmt::thousands(total), "search": value, "search_id": id}),
        ),
    );

    let title = "Scans of the clearing house (from the browser)";
    let opened = phase(
        dir,
        "open-case",
        &args("cn", json!({"partner": "us", "title": title})),
    );
    let case = opened["case"].as_str().unwrap().to_owned();
    sync();
    let acked = phase(dir, "acknowledge", &args("us", json!({"case": case})));
    assert!(acked["state"].as_str().unwrap().starts_with("acknowledged"));
    sync();
    let seen = phase(dir, "state", &args("cn", json!({"case": case})));
    assert!(
        seen["state"].as_str().unwrap().starts_with("acknowledged"),
        "{seen}"
    );
    assert!(
        seen["thread"].as_str().unwrap().contains("Blocking now."),
        "{seen}"
    );
    // The CLI agrees with the pages.
    let o = common::accord(&[
        "hotline",
        "list",
        "--json",
        "--config",
        nodes["cn"]["config"].as_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    let c: Value = line
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|c| c["id"] == case.as_str())
        .unwrap();
    assert_eq!(c["state"], "acknowledged");
    assert_eq!(c["title"], title);
    for shot in [
        "overview",
        "partners",
        "objects",
        "sightings",
        "hotline",
        "log",
        "search",
        "object",
    ] {
        assert!(
            shots().join("cn").join(format!("{shot}.png")).is_file(),
            "{shot}"
        );
    }
}
