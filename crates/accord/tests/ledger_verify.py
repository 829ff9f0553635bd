#!/usr/bin/env python3
"""Independent verifier of an Accord node's transparency log.

Knows only the published formats (RFC 9162 hashing, C2SP tlog-checkpoint,
signed-note, tlog-tiles, RFC 8785 records), not Accord's code. Uses hashlib
and `cryptography` (Ed25519) only.

usage: ledger_verify.py BASE_URL USER PASSWORD VERIFIER_KEY ENTRIES_JSONL

Checks: the served checkpoint's signature under VERIFIER_KEY; the root
recomputed from the entries (`accord ledger entries --json`, whose records
re-encoded as JCS are the leaves); inclusion proofs of several leaves and
consistency proofs of several sizes from the node's endpoints; entry
bundles served at /ledger/tile/entries/. Prints OK or exits 1.
"""
import base64, hashlib, json, sys, urllib.request
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.exceptions import InvalidSignature
except ImportError:
    sys.exit("ledger_verify.py needs the Python package `cryptography`: "
             "`pip install cryptography`, or run it with .venv/bin/python "
             "(./test.sh installs it there)")

def fail(msg):
    print("FAIL:", msg); sys.exit(1)

def sha(b): return hashlib.sha256(b).digest()
def leaf_hash(b): return sha(b"\x00" + b)
def node_hash(l, r): return sha(b"\x01" + l + r)

def mth(leaves):  # RFC 9162 2.1.1, over leaf hashes
    n = len(leaves)
    if n == 0: return sha(b"")
    if n == 1: return leaves[0]
    k = 1
    while k * 2 < n: k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))

def verify_inclusion(index, size, lh, path, root):  # RFC 9162 2.1.3.2
    if index >= size: return False
    fn, sn, r = index, size - 1, lh
    for p in path:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1; sn >>= 1
    return sn == 0 and r == root

def verify_consistency(first, second, r1, r2, path):  # RFC 9162 2.1.4.2
    if first == second: return not path and r1 == r2
    if first == 0: return not path
    if not path: return False
    if first & (first - 1) == 0: path = [r1] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1; sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr); sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1; sn >>= 1
    return fr == r1 and sr == r2 and sn == 0

def jcs(v):  # RFC 8785 for the record's value space (strings, objects, arrays)
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

def get(base, path, user, pw):
    req = urllib.request.Request(base.rstrip("/") + path)
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode())
    with urllib.request.urlopen(req) as r: return r.read()

def check_note(note, vkey):
    """C2SP signed-note + tlog-checkpoint: returns (origin, size, root)."""
    name, kid, key = vkey.split("+", 2)
    key = base64.b64decode(key)
    if key[0] != 1: fail("verifier key is not Ed25519")
    if sha(name.encode() + b"\n" + key)[:4] != bytes.fromhex(kid): fail("key id does not match")
    text, sep, sigs = note.partition("\n\n")
    if not sep: fail("note has no signature block")
    text = text + "\n"
    ok = False
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "): fail(f"bad signature line {line!r}")
        n, s = line[2:].split(" ", 1)
        s = base64.b64decode(s)
        if n == name and s[:4] == bytes.fromhex(kid):
            try:
                Ed25519PublicKey.from_public_bytes(key[1:]).verify(s[4:], text.encode()); ok = True
            except InvalidSignature: fail("checkpoint signature does not verify")
    if not ok: fail("no signature by the node's key")
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    if origin != name: fail(f"origin {origin} is not the key's name {name}")
    return origin, size, root

def main():
    base, user, pw, vkey, entries_file = sys.argv[1:6]
    note = get(base, "/ledger/checkpoint", user, pw).decode()
    origin, size, root = check_note(note, vkey)
    entries = [json.loads(l) for l in open(entries_file) if l.strip()]
    if [e["index"] for e in entries] != list(range(len(entries))): fail("entries are not 0..n")
    if len(entries) < size: fail(f"{len(entries)} entries for a checkpoint of size {size}")
    leaves = [jcs(e["record"]) for e in entries[:size]]
    lh = [leaf_hash(l) for l in leaves]
    if mth(lh) != root: fail("root recomputed from the entries differs from the checkpoint")
    b64 = lambda xs: [base64.b64decode(x) for x in xs]
    for i in sorted({0, 1, size // 3, size // 2, size - 1}):
        p = json.loads(get(base, f"/ledger/proof/inclusion?index={i}&size={size}", user, pw))
        if base64.b64decode(p["leaf_hash"]) != lh[i]: fail(f"leaf hash {i}")
        if not verify_inclusion(i, size, lh[i], b64(p["audit_path"]), root): fail(f"inclusion {i}")
        bad = bytearray(lh[i]); bad[0] ^= 1
        if verify_inclusion(i, size, bytes(bad), b64(p["audit_path"]), root): fail("flipped leaf verified")
    for first in sorted({1, 2, 7, size // 2, size - 1, size} - {0}):
        if first > size: continue
        p = json.loads(get(base, f"/ledger/proof/consistency?first={first}&second={size}", user, pw))
        if not verify_consistency(first, size, mth(lh[:first]), root, b64(p["consistency_path"])):
            fail(f"consistency {first}->{size}")
    # C2SP tlog-tiles entry bundles: the first bundle, full or partial.
    w = min(size, 256)
    path = "/ledger/tile/entries/000" + ("" if w == 256 else f".p/{w}")
    b, got = get(base, path, user, pw), []
    while b:
        n = int.from_bytes(b[:2], "big"); got.append(b[2:2 + n]); b = b[2 + n:]
    if got != leaves[:w]: fail("entry bundle differs from the entries")
    print(f"OK {origin} size {size}: signature, root, inclusion, consistency, entry bundle")

if __name__ == "__main__":
    main()
