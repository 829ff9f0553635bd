#!/usr/bin/env python3
"""Independent verifier of an Accord node's transparency log.

Knows only the published formats (RFC 9162 hashing, C2SP tlog-checkpoint,
signed-note, tlog-tiles, RFC 8785 records), not Accord's code. Uses hashlib
and `cryptography` (Ed25519) only.

usage: ledger_verify.py BASE_URL USER PASSWORD VERIFIER_KEY ENTRIES_JSONL|-

Checks: the served checkpoint's signature under VERIFIER_KEY; the root
recomputed from the entries (`accord ledger entries --json`, whose records
re-encoded as JCS are the leaves); inclusion proofs of several leaves and
consistency proofs of several sizes from the node's endpoints; entry
bundles served at /ledger/tile/entries/. Prints OK or exits 1.

With `-` for ENTRIES_JSONL the leaves are read from every entry bundle
USER is served, as a partner sees the log: an entry of an exchange USER is
not party to is served redacted, as `{"redacted":"<leaf hash hex>"}`, and
its leaf hash is taken as given (the root recomputed over all of them
must still be the signed one); every other entry must be a canonical
(JCS) record that names its partner.
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

def split_bundle(b):  # C2SP tlog-tiles entry bundle: u16 big-endian length prefixes
    got = []
    while b:
        if len(b) < 2: fail("truncated length prefix in an entry bundle")
        n = int.from_bytes(b[:2], "big")
        if len(b) < 2 + n: fail("truncated entry in an entry bundle")
        got.append(b[2:2 + n]); b = b[2 + n:]
    return got

def redacted_hash(e):  # the leaf hash of a redacted entry, or None
    pre, suf = b'{"redacted":"', b'"}'
    if len(e) == len(pre) + 64 + len(suf) and e.startswith(pre) and e.endswith(suf):
        h = e[len(pre):-len(suf)].decode("ascii", "replace")
        if all(c in "0123456789abcdef" for c in h): return bytes.fromhex(h)
    return None

def bundle_path(k, w):
    n, groups = k // 1000, []
    while n > 0:
        groups.insert(0, f"x{n % 1000:03d}"); n //= 1000
    return "/ledger/tile/entries/" + "/".join(groups + [f"{k % 1000:03d}"]) + ("" if w == 256 else f".p/{w}")

def served_leaves(base, user, pw, size):
    """Every entry bundle as USER is served it: (leaf or None, leaf hash)."""
    out = []
    for k in range((size + 255) // 256):
        w = min(256, size - 256 * k)
        got = split_bundle(get(base, bundle_path(k, w), user, pw))
        if len(got) != w: fail(f"entry bundle {k} holds {len(got)} entries, not {w}")
        for e in got:
            h = redacted_hash(e)
            if h is not None:
                out.append((None, h))
                continue
            try: rec = json.loads(e)
            except ValueError: fail(f"entry {len(out)} is neither a record nor redacted")
            if jcs(rec) != e: fail(f"entry {len(out)} is not canonical (RFC 8785)")
            if "partner" not in rec: fail(f"entry {len(out)} is a local record, served to a partner")
            out.append((e, leaf_hash(e)))
    return out

def main():
    base, user, pw, vkey, entries_file = sys.argv[1:6]
    note = get(base, "/ledger/checkpoint", user, pw).decode()
    origin, size, root = check_note(note, vkey)
    if entries_file == "-":
        served = served_leaves(base, user, pw, size)
        lh = [h for _, h in served]
        if mth(lh) != root: fail("root recomputed from the served bundles differs from the checkpoint")
        redacted = sum(1 for l, _ in served if l is None)
        shown = [l for l, _ in served if l is not None]
        if not shown: fail(f"{user} is shown no record of its own")
        partners = {json.loads(l)["partner"] for l in shown}
        if len(partners) != 1: fail(f"{user} is shown records of several partners: {sorted(partners)}")
        i = next(i for i, (l, _) in enumerate(served) if l is not None)
        p = json.loads(get(base, f"/ledger/proof/inclusion?index={i}&size={size}", user, pw))
        b64 = lambda xs: [base64.b64decode(x) for x in xs]
        if not verify_inclusion(i, size, lh[i], b64(p["audit_path"]), root): fail(f"inclusion {i}")
        print(f"OK {origin} size {size} as {user}: signature, root over {len(shown)} records "
              f"and {redacted} redacted, inclusion")
        return
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
    got = split_bundle(get(base, path, user, pw))
    if len(got) != w: fail(f"the first entry bundle holds {len(got)} entries, not {w}")
    for i, e in enumerate(got):  # a redacted entry carries the leaf hash
        h = redacted_hash(e)
        if (e != leaves[i]) if h is None else (h != lh[i]):
            fail(f"entry {i} of the bundle differs from the entries")
    print(f"OK {origin} size {size}: signature, root, inclusion, consistency, entry bundle")

if __name__ == "__main__":
    main()
