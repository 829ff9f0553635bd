"""Object by object: `accord validate` beside stix2-validator on real STIX 2.1.

    python bench/real_content.py ACCORD_BINARY OUT_DIR FILE_OR_DIR...

Reads every JSON file given (directories: their `*.json`, recursively). A
file is a bundle, a top-level JSON array of objects, or one object; files
with no object whose `spec_version` is `2.1` are skipped and named. Each
object is written as one line of a JSON-lines file per input file (so a
line number is an object), `accord validate --no-warnings` reads them all
in one run, and the OASIS stix2-validator's `validate_instance` (version
2.1, default options) checks each object alone. Verdicts are cached by the
SHA-256 of the object's text under OUT_DIR, so a second run costs only
Accord's.

Prints the totals, then every disagreement grouped by class: for objects
only Accord rejects, the rules and JSON paths of its errors (list indices
and dictionary keys of typed dictionaries folded to `*`); for objects only
stix2-validator rejects, its first message with quoted values and ids
folded. One example object (file and index) per class.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict


def documents(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in sorted(os.walk(p)):
                for f in sorted(files):
                    if f.endswith(".json"):
                        yield os.path.join(root, f)
        else:
            yield p


def objects_of(doc):
    if isinstance(doc, list):
        return [o for o in doc if isinstance(o, dict)]
    if isinstance(doc, dict) and isinstance(doc.get("objects"), list):
        return [o for o in doc["objects"] if isinstance(o, dict)]
    if isinstance(doc, dict) and "type" in doc:
        return [doc]
    return []


def stix2_verdicts(texts, cache_path):
    cache = {}
    if os.path.exists(cache_path):
        with open(cache_path, encoding="utf-8") as f:
            cache = json.load(f)
    todo = [t for t in texts if hashlib.sha256(t.encode()).hexdigest() not in cache]
    if todo:
        out = sys.stdout
        sys.stdout = sys.stderr  # the validator prints
        from stix2validator import ValidationOptions, validate_instance

        options = ValidationOptions(version="2.1")
        start = time.perf_counter()
        for i, t in enumerate(todo):
            try:
                r = validate_instance(json.loads(t), options)
                v = [bool(r.is_valid), [str(e) for e in r.errors]]
            except Exception as e:  # the validator raises on some input
                v = [False, ["exception: %s: %s" % (type(e).__name__, e)]]
            cache[hashlib.sha256(t.encode()).hexdigest()] = v
            if i % 2000 == 1999:
                print("stix2-validator: %d of %d" % (i + 1, len(todo)), file=sys.stderr)
                with open(cache_path, "w", encoding="utf-8") as f:
                    json.dump(cache, f)
        took = time.perf_counter() - start
        sys.stdout = out
        print("stix2-validator: %d objects in %.1f s" % (len(todo), took))
        with open(cache_path, "w", encoding="utf-8") as f:
            json.dump(cache, f)
    return [cache[hashlib.sha256(t.encode()).hexdigest()] for t in texts]


LINE = re.compile(r"^(.*\.jsonl):(\d+):\d+: (error|warning)\[([a-z-]+)\] (\S+) (\$\S*): (.*)$")


def accord_errors(accord, files):
    """{(jsonl, line): [(rule, path, message)]} for every error Accord prints."""
    t0 = time.perf_counter()
    p = subprocess.run([accord, "validate", "--no-warnings", *files], capture_output=True, text=True)
    took = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        sys.exit("accord validate failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    errors = defaultdict(list)
    for line in p.stderr.splitlines():
        m = LINE.match(line)
        if m and m.group(3) == "error":
            errors[(m.group(1), int(m.group(2)))].append((m.group(4), m.group(6), m.group(7)))
    return errors, took


def fold_path(path):
    path = re.sub(r"\[\d+\]", "[*]", path)
    # keys of dictionaries: extension-definition ids, hashes, headers
    path = re.sub(r"extension-definition--[0-9a-f-]{36}", "extension-definition--*", path)
    return path


def fold_message(msg):
    msg = re.sub(r"[a-z0-9-]+--[0-9a-fA-F-]{36}", "ID", msg)
    msg = re.sub(r"'[^']*'", "'…'", msg)
    msg = re.sub(r'"[^"]*"', '"…"', msg)
    return msg[:160]


def main():
    accord, out_dir, *paths = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    flat = os.path.join(out_dir, "objects")
    os.makedirs(flat, exist_ok=True)
    index = []  # (source, position, jsonl, line, text)
    skipped = []
    jsonls = []
    for n, path in enumerate(documents(paths)):
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            skipped.append("%s (not JSON: %s)" % (path, e))
            continue
        objs = objects_of(doc)
        if not any(o.get("spec_version") == "2.1" for o in objs):
            skipped.append("%s (no STIX 2.1 object)" % path)
            continue
        jl = os.path.join(flat, "%04d-%s.jsonl" % (n, os.path.basename(path)[:-5]))
        with open(jl, "w", encoding="utf-8") as f:
            for i, o in enumerate(objs):
                t = json.dumps(o, ensure_ascii=False, separators=(",", ":"))
                f.write(t + "\n")
                index.append((path, i, jl, i + 1, t))
        jsonls.append(jl)
    for s in skipped:
        print("skipped: " + s)
    errors, took = accord_errors(accord, jsonls)
    theirs = stix2_verdicts([t for *_, t in index], os.path.join(out_dir, "stix2validator-cache.json"))
    both_ok = both_bad = 0
    only_accord = defaultdict(list)  # class -> [(source, i, id)]
    only_theirs = defaultdict(list)
    for (src, i, jl, line, t), (py_ok, py_errs) in zip(index, theirs):
        errs = errors.get((jl, line), [])
        ours_ok = not errs
        oid = json.loads(t).get("id", "?")
        if ours_ok and py_ok:
            both_ok += 1
        elif not ours_ok and not py_ok:
            both_bad += 1
        elif not ours_ok:
            cls = "; ".join(sorted({"%s %s" % (r, fold_path(p)) for r, p, _ in errs}))
            only_accord[cls].append((src, i, oid, errs[0][2]))
        else:
            only_theirs[fold_message(py_errs[0] if py_errs else "?")].append((src, i, oid, py_errs[0] if py_errs else ""))
    total = len(index)
    print("objects: %d in %d files; accord validate (whole command, JSON lines): %.2f s" % (total, len(jsonls), took))
    print("both valid: %d, both invalid: %d, only Accord rejects: %d, only stix2-validator rejects: %d" % (
        both_ok, both_bad, sum(map(len, only_accord.values())), sum(map(len, only_theirs.values()))))
    for title, classes in (("only Accord rejects", only_accord), ("only stix2-validator rejects", only_theirs)):
        print("\n## %s: %d classes" % (title, len(classes)))
        for cls, objs in sorted(classes.items(), key=lambda kv: -len(kv[1])):
            src, i, oid, msg = objs[0]
            print("%6d  %s\n        e.g. %s objects[%d] %s: %s" % (len(objs), cls, src, i, oid, msg[:300]))


if __name__ == "__main__":
    main()
