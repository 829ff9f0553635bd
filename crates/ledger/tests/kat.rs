//! Known-answer tests: RFC 6962/9162 Merkle tree vectors (the 8-leaf tree
//! of transparency-dev/merkle and certificate-transparency-go), a real CT
//! log's proofs (argon2020, as in Go's sumdb/tlog ct_test.go), the Go `note`
//! package's PeterNeumann key and signature, and the C2SP examples.

use accord_ledger::{
    EMPTY_ROOT, Error, Hash, LogSigner, LogVerifier, MemoryLog, consistency_proof, inclusion_proof,
    leaf_hash, stored_hash_index, tree_root, verify_consistency, verify_inclusion,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

fn hx(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

fn hexbytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// transparency-dev/merkle testonly.LeafInputs().
fn leaf_inputs() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| hexbytes(s))
    .collect()
}

/// testonly.NodeHashes(): [level][index].
fn node_hashes() -> Vec<Vec<Hash>> {
    vec![
        vec![
            hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            hx("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
            hx("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
            hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            hx("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
            hx("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            hx("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
        ],
        vec![
            hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
            hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        ],
        vec![
            hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
        vec![hx(
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        )],
    ]
}

/// testonly.RootHashes(), by tree size 0..=8.
fn roots() -> Vec<Hash> {
    vec![
        hx("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        hx("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
        hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        hx("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
        hx("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
        hx("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
        hx("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ]
}

/// proof/verify_test.go inclusionProofs: (leaf index, size, proof).
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![hx(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// proof/verify_test.go consistencyProofs: (size1, size2, proof).
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                hx("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

fn log8() -> MemoryLog {
    let mut log = MemoryLog::new();
    log.append(&leaf_inputs()).unwrap();
    log
}

#[test]
fn rfc6962_leaf_node_and_root_hashes() {
    let nodes = node_hashes();
    for (i, leaf) in leaf_inputs().iter().enumerate() {
        assert_eq!(leaf_hash(leaf), nodes[0][i], "leaf {i}");
    }
    let log = log8();
    // Every complete subtree's hash is stored at its stored index.
    for (level, row) in nodes.iter().enumerate() {
        for (n, h) in row.iter().enumerate() {
            let idx = stored_hash_index(level as u8, n as u64);
            assert_eq!(log.stored_hashes()[idx as usize], *h, "level {level} n {n}");
        }
    }
    for (size, root) in roots().iter().enumerate() {
        assert_eq!(tree_root(&log, size as u64).unwrap(), *root, "size {size}");
    }
    assert_eq!(roots()[0], EMPTY_ROOT);
}

#[test]
fn rfc6962_inclusion_proofs() {
    let log = log8();
    let roots = roots();
    let leaves = leaf_inputs();
    for (index, size, want) in inclusion_vectors() {
        let got = inclusion_proof(&log, index, size).unwrap();
        assert_eq!(got, want, "inclusion {index} in {size}");
        let leaf = leaf_hash(&leaves[index as usize]);
        let root = roots[size as usize];
        verify_inclusion(&leaf, index, size, &want, &root).unwrap();

        // The corruption probes of transparency-dev/merkle verify_test.go.
        let some = hx("abacaba000000000000000000000000000000000000000000060061e00123456");
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (index.wrapping_sub(1), size, leaf, root, want.clone()),
            (index + 1, size, leaf, root, want.clone()),
            (index ^ 2, size, leaf, root, want.clone()),
            (index, size * 2, leaf, root, want.clone()),
            (index, size / 2, leaf, root, want.clone()),
            (index, size, leaf_hash(b"WrongLeaf"), root, want.clone()),
            (index, size, leaf, EMPTY_ROOT, want.clone()),
            (index, size, leaf, some, want.clone()),
            (
                index,
                size,
                leaf,
                root,
                [want.clone(), vec![Hash::default()]].concat(),
            ),
            (index, size, leaf, root, [want.clone(), vec![root]].concat()),
            (
                index,
                size,
                leaf,
                root,
                [vec![Hash::default()], want.clone()].concat(),
            ),
            (index, size, leaf, root, [vec![root], want.clone()].concat()),
        ];
        for i in 0..want.len() {
            let mut p = want.clone();
            p[i].0[0] ^= 8;
            probes.push((index, size, leaf, root, p));
        }
        if !want.is_empty() {
            probes.push((index, size, leaf, root, want[..want.len() - 1].to_vec()));
        }
        if want.len() > 1 {
            let p = [vec![some, want[0]], want[1..].to_vec()].concat();
            probes.push((index, size, leaf, root, p));
        }
        for (i, s, l, r, p) in probes {
            if (i, s, l, r, &p) == (index, size, leaf, root, &want) {
                continue; // e.g. index ^ 2 == index + 1 for some index
            }
            assert!(
                verify_inclusion(&l, i, s, &p, &r).is_err(),
                "probe ({i}, {s}) of {index} in {size} verified"
            );
        }
    }
}

#[test]
fn rfc6962_consistency_proofs() {
    let log = log8();
    let roots = roots();
    for (s1, s2, want) in consistency_vectors() {
        let got = consistency_proof(&log, s1, s2).unwrap();
        assert_eq!(got, want, "consistency {s1}..{s2}");
        let (r1, r2) = (roots[s1 as usize], roots[s2 as usize]);
        verify_consistency(s1, s2, &r1, &r2, &want).unwrap();
        if want.is_empty() {
            continue;
        }
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (s1 - 1, s2, r1, r2, want.clone()),
            (s1 + 1, s2, r1, r2, want.clone()),
            (s1 ^ 2, s2, r1, r2, want.clone()),
            (s1, s2 * 2, r1, r2, want.clone()),
            (s1, s2 / 2, r1, r2, want.clone()),
            (s1, s2, leaf_hash(b"WrongRoot"), r2, want.clone()),
            (s1, s2, r1, leaf_hash(b"WrongRoot"), want.clone()),
            (s1, s2, r2, r1, want.clone()),
            (s1, s2, r1, r2, vec![]),
            (
                s1,
                s2,
                r1,
                r2,
                [want.clone(), vec![Hash::default()]].concat(),
            ),
            (s1, s2, r1, r2, [want.clone(), vec![r1]].concat()),
            (s1, s2, r1, r2, [want.clone(), vec![r2]].concat()),
            (
                s1,
                s2,
                r1,
                r2,
                [vec![Hash::default()], want.clone()].concat(),
            ),
            (s1, s2, r1, r2, [vec![r1], want.clone()].concat()),
            (s1, s2, r1, r2, [vec![r2], want.clone()].concat()),
            (s1, s2, r1, r2, [vec![want[0]], want.clone()].concat()),
            (s1, s2, r1, r2, want[..want.len() - 1].to_vec()),
        ];
        for i in 0..want.len() {
            let mut p = want.clone();
            p[i].0[0] ^= 16;
            probes.push((s1, s2, r1, r2, p));
        }
        for (a, b, x, y, p) in probes {
            if (a, b, x, y, &p) == (s1, s2, r1, r2, &want) {
                continue;
            }
            assert!(
                verify_consistency(a, b, &x, &y, &p).is_err(),
                "probe ({a}, {b}) of {s1}..{s2} verified"
            );
        }
    }
}

#[test]
fn rfc6962_consistency_edge_cases() {
    // verify_test.go TestVerifyConsistency: sizes that are always
    // consistent, time travel, empty proofs, non-empty proofs for trivial
    // cases.
    let r1 = leaf_hash(b"don't care 1");
    let r2 = leaf_hash(b"don't care 2");
    let e = EMPTY_ROOT;
    assert!(verify_consistency(0, 0, &r1, &r1, &[]).is_ok());
    assert!(verify_consistency(0, 1, &r1, &r2, &[]).is_ok());
    assert!(verify_consistency(1, 1, &r2, &r2, &[]).is_ok());
    assert!(verify_consistency(1, 1, &r1, &r2, &[]).is_err());
    assert!(matches!(
        verify_consistency(1, 0, &r1, &r2, &[]),
        Err(Error::SizeOrder { .. })
    ));
    assert!(verify_consistency(2, 1, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(1, 2, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(1, 1, &e, &r2, &[]).is_err());
    assert!(verify_consistency(0, 1, &e, &e, &[e]).is_err());
    assert!(verify_consistency(1, 1, &e, &e, &[e]).is_err());
    // Inclusion: TestVerifyInclusion's probes on empty proofs.
    for (i, s) in [(0u64, 0u64), (0, 1), (1, 0), (2, 1)] {
        let some = hx("abacaba000000000000000000000000000000000000000000060061e00123456");
        assert!(verify_inclusion(&some, i, s, &[], &EMPTY_ROOT).is_err());
    }
    // Single entry: root == leaf hash, empty proof.
    let h = leaf_hash(b"data");
    verify_inclusion(&h, 0, 1, &[], &h).unwrap();
    assert!(verify_inclusion(&h, 0, 1, &[], &e).is_err());
}

#[derive(serde::Deserialize)]
struct Ct {
    tree_size: u64,
    root: String,
    leaf_index: u64,
    leaf_input: String,
    audit_path: Vec<String>,
    old_size: u64,
    old_root: String,
    consistency: Vec<String>,
}

#[test]
fn certificate_transparency_argon2020() {
    let ct: Ct = serde_json::from_str(include_str!("data/ct_argon2020.json")).unwrap();
    let b64 =
        |v: &[String]| -> Vec<Hash> { v.iter().map(|s| Hash::from_base64(s).unwrap()).collect() };
    let root = Hash::from_base64(&ct.root).unwrap();
    let leaf = leaf_hash(&B64.decode(&ct.leaf_input).unwrap());
    assert_eq!(
        leaf.to_base64(),
        "nCs3mfIydh9x4CKyQ+u2xtmpxmFggA5MLymHwNQSlLg="
    );
    let path = b64(&ct.audit_path);
    verify_inclusion(&leaf, ct.leaf_index, ct.tree_size, &path, &root).unwrap();
    assert!(verify_inclusion(&leaf, ct.leaf_index + 1, ct.tree_size, &path, &root).is_err());
    let old_root = Hash::from_base64(&ct.old_root).unwrap();
    let cons = b64(&ct.consistency);
    verify_consistency(ct.old_size, ct.tree_size, &old_root, &root, &cons).unwrap();
    assert!(verify_consistency(ct.old_size + 1, ct.tree_size, &old_root, &root, &cons).is_err());
}

#[test]
fn go_tlog_record_hash_and_checkpoint() {
    // golang.org/x/mod/sumdb/tlog note_test.go: the tree hash is
    // RecordHash("hello world").
    let h = leaf_hash(b"hello world");
    assert_eq!(
        h.to_base64(),
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="
    );
    let c = accord_ledger::Checkpoint::parse_body(
        b"go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
    )
    .unwrap();
    assert_eq!(c.origin, "go.sum database tree");
    assert_eq!(c.size, 123_456_789_012);
    assert_eq!(c.root, h);
}

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_note_peter_neumann() {
    let s = LogSigner::from_signer_key(PETER_SKEY).unwrap();
    assert_eq!(s.name(), "PeterNeumann");
    assert_eq!(s.key_id(), 0xc74f20a3);
    assert_eq!(s.verifier_key(), PETER_VKEY);
    assert_eq!(s.signer_key(), PETER_SKEY);
    // Ed25519 is deterministic: the same signature as Go's note.Sign.
    assert_eq!(s.sign_text(PETER_TEXT).unwrap(), PETER_NOTE.as_bytes());
    let v = LogVerifier::from_verifier_key(PETER_VKEY).unwrap();
    assert_eq!(v.verify_note(PETER_NOTE.as_bytes()).unwrap(), PETER_TEXT);
    // A changed text or signature fails.
    let changed = PETER_NOTE.replace("cryptography", "Cryptography");
    assert!(v.verify_note(changed.as_bytes()).is_err());
    let changed = PETER_NOTE.replace("x08go", "x08gp");
    assert!(v.verify_note(changed.as_bytes()).is_err());
}

#[test]
fn c2sp_cosignature_example_line() {
    // tlog-cosignature.md: the witness line of the example checkpoint, whose
    // signed message starts "cosignature/v1\ntime 1679315147\n".
    let line = "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let raw = B64.decode(line).unwrap();
    assert_eq!(raw.len(), 4 + 8 + 64);
    assert_eq!(
        u64::from_be_bytes(raw[4..12].try_into().unwrap()),
        1_679_315_147
    );
    assert_eq!(
        accord_ledger::cosignature_message(b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", 1_679_315_147),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}
