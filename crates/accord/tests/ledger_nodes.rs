//! The transparency log end to end, with real node processes: the
//! independent Python verifier against a running demo node, tampering
//! named by `accord ledger verify`, two nodes witnessing each other, an
//! audit, and a split view caught by the witness.

mod common;
use common::{
    ACCORD, accord, accord_pw, add_partner, ingest, init, keys, p, serve, text, wait_listening,
};
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn independent_verifier_passes_and_tampering_is_named() {
    let python = accord_testkit::python("cryptography");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let child = Command::new(ACCORD)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--generated",
            "700",
            "--data",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (server, base) = wait_listening(child);
    // The key file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("ledger.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Objects sent are logged: read a page as a partner would.
    let before = accord(&["ledger", "entries", "--json", "--data", p(&data)]);
    let n_before = String::from_utf8_lossy(&before.stdout).lines().count();
    assert!(n_before > 700, "{}", text(&before));
    let page = Command::new("curl")
        .args([
            "-sf",
            "-u",
            "demo:demo",
            &format!("{base}/demo/collections/demo/objects/?limit=5"),
        ])
        .output()
        .unwrap();
    assert!(page.status.success());
    let key = accord(&["ledger", "key", "--data", p(&data)]);
    let vkey = String::from_utf8(key.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let entries = accord(&["ledger", "entries", "--json", "--data", p(&data)]);
    let lines: Vec<String> = String::from_utf8(entries.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), n_before + 5);
    assert!(lines.last().unwrap().contains(r#""direction":"out""#));
    assert!(lines.last().unwrap().contains(r#""partner":"demo""#));
    let file = dir.path().join("entries.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ledger_verify.py");
    let o = Command::new(&python)
        .arg(&script)
        .args([&base, "demo", "demo", &vkey])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with("OK accord.demo/log"), "{}", text(&o));
    // The served checkpoint is what `accord ledger checkpoint` prints.
    let served = Command::new("curl")
        .args([
            "-sf",
            "-u",
            "demo:demo",
            &format!("{base}/ledger/checkpoint"),
        ])
        .output()
        .unwrap();
    let cli = accord(&["ledger", "checkpoint", "--data", p(&data)]);
    assert_eq!(served.stdout, cli.stdout);
    drop(server);

    let ok = accord(&["ledger", "verify", "--data", p(&data)]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    // Edit one stored record behind the node's back.
    let o = Command::new(&python)
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             f,b,q=c.execute('SELECT first, leaves, seqs FROM ledger_chunks WHERE first <= 123 ORDER BY first DESC LIMIT 1').fetchone(); \
             p=bytes(b).split(b'\\n'); k=123-f; assert p[k]==b'#', p[k]; \
             seq=int.from_bytes(bytes(q)[8*k:8*k+8], 'little'); \
             c.execute('UPDATE objects SET raw = raw || \\' \\' WHERE seq = ?', (seq,)); c.commit()",
        ])
        .arg(data.join("accord.sqlite"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let bad = accord(&["ledger", "verify", "--data", p(&data)]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("first bad index 123"), "{}", text(&bad));
}

#[test]
fn two_nodes_witness_each_other_audit_and_catch_a_split_view() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Node a has an account `b` for node b, and the other way round.
    let (a_toml, a_pw, a_port) = init(d, "a", "b");
    let (b_toml, b_pw, b_port) = init(d, "b", "a");
    let (ka, kb) = (keys(&a_toml), keys(&b_toml));
    add_partner(&a_toml, "b", b_port, &kb, "a");
    add_partner(&b_toml, "a", a_port, &ka, "b");
    ingest(d, &d.join("a"), "1", "300", "default");
    ingest(d, &d.join("b"), "2", "200", "default");
    let a = serve(&a_toml);
    let b = serve(&b_toml);

    // b pulls from a and witnesses a's log.
    let from_a = format!("http://127.0.0.1:{a_port}/api1/collections/default/");
    let sync_b_from_a = || {
        accord_pw(
            &[
                "sync",
                "--config",
                p(&b_toml),
                "--from",
                &from_a,
                "--user",
                "b",
                "--into",
                "from-a",
            ],
            &a_pw,
        )
    };
    let o = sync_b_from_a();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        // 600 objects and the `local` record of a's agreement with b (`accord serve`).
        out.contains("witnessed a's log at size 601: accepted, cosigned"),
        "{out}"
    );
    // a now serves its checkpoint with b's cosignature.
    let cp = accord(&["ledger", "checkpoint", "--config", p(&a_toml)]);
    assert!(
        text(&cp).contains("\u{2014} accord.b/witness "),
        "{}",
        text(&cp)
    );

    // a pulls from b and witnesses b's log.
    let from_b = format!("http://127.0.0.1:{b_port}/api1/collections/default/");
    let o = accord_pw(
        &[
            "sync",
            "--config",
            p(&a_toml),
            "--from",
            &from_b,
            "--user",
            "a",
            "--into",
            "from-b",
        ],
        &b_pw,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("accepted, cosigned"), "{out}");
    let cp = accord(&["ledger", "checkpoint", "--config", p(&b_toml)]);
    assert!(
        text(&cp).contains("\u{2014} accord.a/witness "),
        "{}",
        text(&cp)
    );

    // Audits both ways find nothing amiss.
    let o = accord_pw(
        &["ledger", "audit", "--config", p(&b_toml), "--partner", "a"],
        &a_pw,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("audited 500 records"), "{}", text(&o));
    let o = accord_pw(
        &["ledger", "audit", "--config", p(&a_toml), "--partner", "b"],
        &b_pw,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = accord(&["ledger", "alerts", "--config", p(&b_toml)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Node a shows b another history: the same key over another data
    // directory, with 601 other leaves (600 objects and the agreement; b
    // witnessed size 601).
    drop(a);
    let a2 = d.join("a2");
    std::fs::create_dir_all(&a2).unwrap();
    std::fs::copy(d.join("a/ledger.key"), a2.join("ledger.key")).unwrap();
    ingest(d, &a2, "3", "600", "elsewhere");
    let a2_toml = d.join("a2.toml");
    std::fs::write(
        &a2_toml,
        std::fs::read_to_string(&a_toml)
            .unwrap()
            .replace(&format!("{}\"", p(&d.join("a"))), &format!("{}\"", p(&a2))),
    )
    .unwrap();
    let _a2 = serve(&a2_toml);
    let o = sync_b_from_a();
    let out = text(&o);
    // An alert is a finding: exit 1, with `ALERT` said.
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("split-view"), "{out}");
    assert!(out.contains("ALERT"), "{out}");
    let o = accord(&["ledger", "alerts", "--json", "--config", p(&b_toml)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let alert: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(alert["kind"], "split-view");
    assert_eq!(alert["partner"], "a");
    // Both signed notes are kept: same origin and size, different roots.
    let (n1, n2) = (
        alert["first"].as_str().unwrap(),
        alert["second"].as_str().unwrap(),
    );
    assert_eq!(
        n1.lines().take(2).collect::<Vec<_>>(),
        ["accord.a/log", "601"]
    );
    assert_eq!(
        n2.lines().take(2).collect::<Vec<_>>(),
        ["accord.a/log", "601"]
    );
    assert_ne!(n1.lines().nth(2), n2.lines().nth(2));
    drop(b);
}
