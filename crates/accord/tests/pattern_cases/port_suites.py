#!/usr/bin/env python3
"""Ports the test suites of the OASIS Python tools to JSONL data.

    python port_suites.py [--matcher-repo DIR] [--patterns-repo DIR]

writes, next to this script:

- matcher_v21.jsonl, matcher_v20.jsonl: every match() call of stix2-matcher
  3.0.0's tests (stix2matcher/test/v21 and v20), one line per (pattern,
  observation set):
      {"source": "test_basic_ops.py::test_basic_ops_int_match[0]",
       "pattern": "...", "observed": [...], "stix_version": "2.1",
       "expect": true|false|"error", "peer": ...}
  "observed" is in the form `accord pattern match --batch` reads: in 2.1 the
  flat list of the objects of the test's bundles (observed-data and the
  SCOs they reference), in 2.0 the list of observed-data with embedded
  "objects".  "expect" is what the upstream test asserts ("error": the call
  is inside pytest.raises), "peer" what stix2-matcher returns.  Where the
  test asserts something the STIX specification contradicts, "expect" is
  the specification's answer, "peer" the upstream one, and "deviation"
  names the spec patch of pattern_diff.py that gives it (ids of DEVIATIONS
  in pattern_differential.rs).
- patterns_valid.jsonl, patterns_invalid.jsonl: every pattern string of
  stix2-patterns 2.1.2's tests/v21 (test_validator.py, test_inspector.py,
  spec_examples.txt) that must parse / must be rejected:
      {"source": "test_validator.py::test_fail_patterns[3]", "pattern": "...",
       "stix_version": "2.1", "kind": "syntax"|"hash"|"qualifier"|"brackets",
       "peer_message": "..."}
  ("kind" says why it is rejected: a syntax error, a malformed hash for a
  known hash algorithm, a duplicated qualifier, missing square brackets, or
  "timestamp": a t'' literal that is not a real date, which stix2-patterns
  accepts - those carry "deviation": "timestamp-calendar").

The test modules are executed (not imported from the installed package):
their source is read from the mirrored upstream git repositories (`git show
HEAD:path`, default /work/.mirror/...; the installed package's copy is the
fallback), with a minimal stand-in for pytest (parametrize and raises), and
match() replaced by a recorder.  Tests of private helpers
(test_overlap, test_intervals_within_*) make no match() call and are listed
as skipped.  Run with the workspace's .venv python (stix2-matcher 3.0.0,
stix2-patterns 2.1.2).  The generated files are committed; the Rust tests
read only them.
"""

import argparse
import contextlib
import copy
import json
import os
import subprocess
import sys
import types

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # for pattern_diff

import pattern_diff  # noqa: E402
import stix2matcher  # noqa: E402
import stix2patterns  # noqa: E402
from stix2patterns.validator import validate  # noqa: E402

MATCHER_REPO = "/work/.mirror/oasis-open+cti-pattern-matcher/repo"
PATTERNS_REPO = "/work/.mirror/oasis-open+cti-pattern-validator/repo"


# -- a stand-in for pytest ----------------------------------------------------

class _Raises:
    depth = 0

    def __init__(self, exc):
        self.exc = exc

    def __enter__(self):
        _Raises.depth += 1
        return self

    def __exit__(self, et, ev, tb):
        _Raises.depth -= 1
        if et is None:
            raise AssertionError("DID NOT RAISE %s" % self.exc)
        return issubclass(et, self.exc)


def _parametrize(names, values):
    names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)

    def deco(fn):
        fn.__params__ = (names, list(values))
        return fn
    return deco


def fake_pytest():
    m = types.ModuleType("pytest")
    m.mark = types.SimpleNamespace(parametrize=_parametrize)
    m.raises = _Raises
    return m


# -- reading the upstream sources ----------------------------------------------

def read_source(repo, path, fallback_pkg):
    if os.path.isdir(repo):
        try:
            return subprocess.run(["git", "-C", repo, "show", "HEAD:" + path], check=True,
                                  capture_output=True).stdout.decode("utf-8")
        except subprocess.CalledProcessError:
            pass
    base = os.path.dirname(os.path.dirname(fallback_pkg.__file__))
    with open(os.path.join(base, path), encoding="utf-8") as f:
        return f.read()


def list_tests(repo, prefix, fallback_pkg):
    if os.path.isdir(repo):
        out = subprocess.run(["git", "-C", repo, "ls-tree", "--name-only", "HEAD", prefix + "/"],
                             check=True, capture_output=True).stdout.decode().split()
    else:
        base = os.path.dirname(os.path.dirname(fallback_pkg.__file__))
        out = [prefix + "/" + f for f in os.listdir(os.path.join(base, prefix))]
    return sorted(p for p in out if os.path.basename(p).startswith("test_") and p.endswith(".py"))


def exec_module(source, name):
    mod = types.ModuleType(name)
    mod.__file__ = name
    code = compile(source, name, "exec")
    exec(code, mod.__dict__)
    return mod


# -- stix2-matcher suites ---------------------------------------------------------

def flatten_21(observed):
    """The 2.1 bundles a test passes, as the flat object list of our format."""
    out = []
    for b in observed:
        out.extend(b.get("objects", []))
    return out


def port_matcher(repo, version_dir):
    cases, skipped, upstream_failures = [], [], []
    for path in list_tests(repo, "stix2matcher/test/" + version_dir, stix2matcher):
        fname = os.path.basename(path)
        mod = exec_module(read_source(repo, path, stix2matcher), fname)
        real_match = mod.__dict__.get("match")
        tests = [(k, v) for k, v in mod.__dict__.items() if k.startswith("test_") and callable(v)]
        for tname, fn in tests:
            names, values = getattr(fn, "__params__", ([], [()]))
            for i, vals in enumerate(values):
                args = vals if len(names) > 1 else (vals,) if names else ()
                calls = []

                def recorder(pattern, observed, verbose=False, stix_version="2.0"):
                    snapshot = copy.deepcopy(observed)
                    rec = {"pattern": pattern, "observed": snapshot, "stix_version": stix_version,
                           "in_raises": _Raises.depth > 0}
                    calls.append(rec)
                    try:
                        res = real_match(pattern, observed, verbose, stix_version)
                    except Exception as e:
                        rec["peer"] = "error"
                        rec["peer_error"] = "%s: %s" % (type(e).__name__, str(e)[:200])
                        raise
                    rec["peer"] = bool(res)
                    return res

                mod.match = recorder
                source = "%s::%s[%d]" % (fname, tname, i) if names else "%s::%s" % (fname, tname)
                try:
                    fn(*args)
                    passed = True
                except Exception as e:
                    passed = False
                    upstream_failures.append("%s: %s: %s" % (source, type(e).__name__, str(e)[:120]))
                finally:
                    mod.match = real_match
                if not calls:
                    skipped.append(source)
                    continue
                for rec in calls:
                    if rec["in_raises"]:
                        expect = "error"
                    elif passed:
                        expect = rec["peer"]
                    else:
                        # The upstream test fails with stix2-matcher 3.0.0:
                        # it asserts what its name says (..._match or
                        # ..._nomatch), not what match() gave.
                        expect = "nomatch" not in tname
                    observed = rec["observed"]
                    if rec["stix_version"] == "2.1":
                        observed = flatten_21(observed)
                    case = {"source": source, "pattern": rec["pattern"], "observed": observed,
                            "stix_version": rec["stix_version"], "expect": expect, "peer": rec["peer"]}
                    if "peer_error" in rec:
                        case["peer_error"] = rec["peer_error"]
                    if not passed:
                        case["upstream_fails"] = True
                    spec, _ = pattern_diff.run_spec(case)
                    if spec != expect:
                        case["expect"] = spec
                    if case["expect"] != case["peer"]:
                        devs = pattern_diff.attribute(case, case["peer"], spec)
                        case["deviation"] = devs[0] if len(devs) == 1 else "+".join(devs)
                    cases.append(case)
    return cases, skipped, upstream_failures


# -- stix2-patterns suites -------------------------------------------------------

def rejection_kind(pattern, errors):
    first = errors[0] if errors else ""
    if "missing square brackets" in first:
        return "brackets"
    if "Duplicate qualifier" in first:
        return "qualifier"
    if "is not a valid" in first and "hash" in first:
        return "hash"
    return "syntax"


def real_timestamps(pattern):
    """False when a t'...' literal of the pattern is not a real date."""
    import datetime
    import re
    for lit in re.findall(r"(?<![A-Za-z0-9_'])t'(\d{4}-[^']*)'", pattern):
        try:
            datetime.datetime.strptime(lit[:19], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return False
    return True


def port_patterns(repo):
    valid, invalid = [], []
    seen = set()

    def add(source, pattern, must_pass):
        ok, errs = validate(pattern, stix_version="2.1", ret_errs=True)
        if ok != must_pass:
            raise SystemExit("stix2-patterns disagrees with its own test: %s %r" % (source, pattern))
        key = (pattern, must_pass)
        if key in seen:
            return
        seen.add(key)
        case = {"source": source, "pattern": pattern, "stix_version": "2.1"}
        if must_pass and not real_timestamps(pattern):
            # stix2-patterns checks timestamp syntax only; the specification
            # (2.16: RFC 3339 timestamps) has no February 30.
            case.update(kind="timestamp", deviation="timestamp-calendar",
                        peer_message="accepted by stix2-patterns (syntax only); not a real date")
            invalid.append(case)
            return
        if must_pass:
            valid.append(case)
        else:
            case["kind"] = rejection_kind(pattern, errs)
            case["peer_message"] = errs[0]
            invalid.append(case)

    prefix = "stix2patterns/test/v21"
    examples = read_source(repo, prefix + "/spec_examples.txt", stix2patterns)
    for i, line in enumerate(x.strip() for x in examples.splitlines()):
        if line:
            add("spec_examples.txt:%d" % (i + 1), line, True)
    for path in list_tests(repo, prefix, stix2patterns):
        fname = os.path.basename(path)
        source = read_source(repo, path, stix2patterns)
        # test_validator.py opens spec_examples.txt next to itself.
        source = source.replace("os.path.join(os.path.dirname(__file__), 'spec_examples.txt')", "None")
        source = source.replace("with open(TEST_CASE_FILE) as f:\n    SPEC_CASES = [x.strip() for x in f.readlines()]",
                                "SPEC_CASES = []")
        mod = exec_module(source, fname)
        for tname, fn in [(k, v) for k, v in mod.__dict__.items() if k.startswith("test_") and callable(v)]:
            names, values = getattr(fn, "__params__", ([], []))
            for i, vals in enumerate(values):
                pattern = vals[0] if len(names) > 1 else vals
                must_pass = "fail" not in tname
                add("%s::%s[%d]" % (fname, tname, i), pattern, must_pass)
    return valid, invalid


def write(name, rows):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--matcher-repo", default=MATCHER_REPO)
    ap.add_argument("--patterns-repo", default=PATTERNS_REPO)
    args = ap.parse_args()
    sys.modules["pytest"] = fake_pytest()
    for v in ("v21", "v20"):
        cases, skipped, failures = port_matcher(args.matcher_repo, v)
        write("matcher_%s.jsonl" % v, cases)
        devs = [c["source"] + " " + c["deviation"] for c in cases if "deviation" in c]
        print("matcher %s: %d cases, %d deviations, skipped (no match() call): %s"
              % (v, len(cases), len(devs), ", ".join(sorted(set(s.split("[")[0] for s in skipped)))))
        for d in devs:
            print("  deviation:", d)
        for f in failures:
            print("  upstream test fails with stix2-matcher 3.0.0:", f)
    valid, invalid = port_patterns(args.patterns_repo)
    write("patterns_valid.jsonl", valid)
    write("patterns_invalid.jsonl", invalid)
    print("patterns: %d valid, %d invalid" % (len(valid), len(invalid)))


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        main()
