#!/usr/bin/env python3
"""Differential case generator for Accord's STIX patterning (crates/pattern).

    python pattern_diff.py --seed S --cases N --out CASES.jsonl

writes N random cases, one JSON object a line, in the format that
`accord pattern match --batch` reads:

    {"id": 7, "pattern": "...", "observed": [...], "stix_version": "2.1",
     "peer": true|false|"error", ...}

and runs the OASIS reference matcher (stix2-matcher 3.0.0) on each one,
storing its outcome as "peer" ("peer_error" holds its message).

Each case is also run through stix2-matcher with *spec patches* applied
(`SPEC_PATCHES` below: small replacements of the places where stix2-matcher
contradicts the STIX 2.1 specification, section 9).  When the patched run
disagrees with the plain one, the line also carries "spec" (the outcome the
specification asks for) and "deviations" (the ids of the patches that change
the outcome).  The Rust test (pattern_differential.rs) accepts a difference
between Accord and the peer only when Accord gives the "spec" outcome of a
case that carries a documented deviation.

Generation is seeded and deterministic (same seed and N -> same lines; the
matcher's outcome does not depend on timing).  Speed: ~3,000 cases in well
under a minute on one core.  The long run (>= 100,000 cases) is

    ACCORD_PATTERN_DIFF_CASES=100000 \\
        cargo test -p accord --test pattern_differential -- --nocapture

or by hand: python pattern_diff.py --seed 1 --cases 100000 --out /tmp/c.jsonl
(10-20 minutes on one core).  `--no-peer` skips the matcher (generation only).

This module is also imported by pattern_cases/port_suites.py for the spec
patches.
"""

import argparse
import base64
import binascii
import contextlib
import datetime
import ipaddress
import json
import random
import re
import sys
import unicodedata
from decimal import Decimal

import stix2matcher.matcher as M
from stix2matcher.matcher import Pattern

# ---------------------------------------------------------------------------
# Running the peer, plain and with the spec patches
# ---------------------------------------------------------------------------


def peer_input(case):
    """The observed list in the form stix2-matcher's match() wants."""
    if case.get("stix_version", "2.1") == "2.1":
        return [{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
                 "objects": case["observed"]}]
    return case["observed"]


V20_START_STOP = re.compile(r"START '([0-9T:.Z-]+)' STOP '([0-9T:.Z-]+)'")


EMPTY_BINARY = re.compile(r"(?<![A-Za-z0-9_'\\])b''")


def run_peer(case, v20_startstop=False, empty_binary=False):
    """(outcome, error message or None); outcome is True, False or "error"."""
    version = case.get("stix_version", "2.1")
    pattern = case["pattern"]
    if v20_startstop and version == "2.0":
        pattern = V20_START_STOP.sub(r"START t'\1' STOP t'\2'", pattern)
    if empty_binary:
        # b'' is the base64 form of the empty octet string, the same
        # constant as h''; stix2-patterns' grammar rejects it.
        pattern = EMPTY_BINARY.sub("h''", pattern)
    try:
        res = Pattern(pattern, version).match(peer_input(case))
        return bool(res), None
    except Exception as e:  # parse errors, MatcherException, and any other raise
        return "error", "%s: %s" % (type(e).__name__, str(e)[:200])


class _Within:
    """A WITHIN duration kept exactly (a Decimal number of seconds)."""

    def __init__(self, seconds):
        self.seconds = seconds


def _spec_within_qualifier(self, ctx):
    tok = ctx.FloatPosLiteral() or ctx.IntPosLiteral()
    value = Decimal(tok.getText())
    if value <= 0:
        raise M.MatcherException("Invalid WITHIN value (must be positive): %s" % value)
    self._MatchListener__push(_Within(value))


def _spec_intervals_within(intervals, duration):
    # STIX 2.1 9.5.1: the most recent observation timestamp MUST NOT be equal
    # to or later than the earliest plus the window, i.e. spread < window.
    if not isinstance(duration, _Within):
        return _ORIG["_timestamp_intervals_within"](intervals, duration)
    latest_first = max(i[0] for i in intervals)
    earliest_last = min(i[1] for i in intervals)
    spread = latest_first - earliest_last
    if spread < datetime.timedelta(0):
        spread = datetime.timedelta(0)
    us = (spread.days * 86400 + spread.seconds) * 10**6 + spread.microseconds
    return Decimal(us) < duration.seconds * 10**6


def _parse_net(s):
    try:
        return ipaddress.ip_network(s, strict=False)
    except ValueError:
        return None


def _spec_in_subnet(containee, container):
    """STIX 2.1 9.6.1 ISSUBSET/ISSUPERSET over IPv4 and IPv6, addresses or
    CIDR blocks (an address is its /32 or /128); not an address: false."""
    a, b = _parse_net(containee), _parse_net(container)
    if a is None or b is None or a.version != b.version:
        return False
    return a.subnet_of(b)


def _ip_patch(categories):
    def fn(containee, container):
        if any(applies(containee, container) for applies in categories):
            return _spec_in_subnet(containee, container)
        return _ORIG["_ip_or_cidr_in_subnet"](containee, container)
    return fn


def _is_v6(a, b):
    return ":" in a or ":" in b


def _zero_prefix(a, b):
    return not _is_v6(a, b) and (a.strip().endswith("/0") or b.strip().endswith("/0"))


def _plain_container(a, b):
    return not _is_v6(a, b) and not _zero_prefix(a, b) and "/" not in b


def _not_an_address(a, b):
    return (not _is_v6(a, b) and not _zero_prefix(a, b) and "/" in b
            and (_parse_net(a) is None or _parse_net(b) is None))


def _spec_exists(self, ctx):
    obs_values = self._MatchListener__pop()
    with_path = {obs: set(objs) for obs, objs in obs_values.items() if objs}
    if not ctx.NOT():
        self._MatchListener__push(with_path)
        return
    # NOT EXISTS: objects of the type that lack the path.
    type_tok = ctx.objectPath().objectType()
    type_ = (type_tok.IdentifierWithoutHyphen() or type_tok.IdentifierWithHyphen()).getText()
    version = self._MatchListener__stix_version
    result = {}
    if not (version == "2.1" and type_ in M.TYPES_V21):
        for idx, obs in enumerate(self._MatchListener__observations):
            if "objects" not in obs:
                continue
            ids = set()
            for obj_id, obj in self._MatchListener__cyber_obs_obj_iterator(obs["objects"]):
                if obj.get("type") == type_ and obj_id not in with_path.get(idx, ()):
                    ids.add(obj_id)
            if ids:
                result[idx] = ids
    self._MatchListener__push(result)


def _spec_like_to_regex(like):
    # STIX 2.1 9.6.1 LIKE: '%' is 0 or more characters, '_' is any one
    # character (newlines included), the whole value must match.
    rx = _ORIG["_like_to_regex"](like)
    return "(?s)" + rx[:-1] + r"\Z"


class _DotallRe:
    def __getattr__(self, name):
        return getattr(re, name)

    @staticmethod
    def compile(p, flags=0):
        return re.compile(p, flags | re.DOTALL)


def _spec_regex(self, ctx):
    # STIX 2.1 9.6.1 MATCHES: "The DOTALL option MUST be specified."
    M.re = _DotallRe()
    try:
        return _ORIG["exitPropTestRegex"](self, ctx)
    finally:
        M.re = re


def _spec_startstop_qualifier(self, ctx):
    # STIX 2.0 START/STOP (string literals in the 2.0 grammar; run_peer
    # rewrites them to t'' since stix2-patterns' 2.0 grammar wants those)
    # read as timestamps, as in 2.1.
    start = M._literal_terminal_to_python_val(ctx.TimestampLiteral(0))
    stop = M._literal_terminal_to_python_val(ctx.TimestampLiteral(1))
    self._MatchListener__push((start, stop))


_ORIG = {
    "_timestamp_intervals_within": M._timestamp_intervals_within,
    "exitWithinQualifier": M.MatchListener.exitWithinQualifier,
    "_ip_or_cidr_in_subnet": M._ip_or_cidr_in_subnet,
    "exitPropTestExists": getattr(M.MatchListener, "exitPropTestExists"),
    "_like_to_regex": M._like_to_regex,
    "exitPropTestRegex": M.MatchListener.exitPropTestRegex,
}

_IP_CATEGORIES = {
    "ip-ipv6": _is_v6,
    "ip-prefix-zero": _zero_prefix,
    "ip-plain-address": _plain_container,
    "ip-not-an-address": _not_an_address,
}

# id -> list of (owner, attribute, replacement).  Ids match DEVIATIONS in
# pattern_differential.rs.
SPEC_PATCHES = {
    "within-strict": [(M.MatchListener, "exitWithinQualifier", _spec_within_qualifier),
                      (M, "_timestamp_intervals_within", _spec_intervals_within)],
    "ip-ipv6": [],  # the ip-* ids share one replacement (see spec_patches)
    "ip-prefix-zero": [],
    "ip-plain-address": [],
    "ip-not-an-address": [],
    "exists": [(M.MatchListener, "exitPropTestExists", _spec_exists)],
    "like-newline": [(M, "_like_to_regex", _spec_like_to_regex)],
    "matches-dotall": [(M.MatchListener, "exitPropTestRegex", _spec_regex)],
    "v20-startstop": [(M.MatchListener, "exitStartStopQualifier", _spec_startstop_qualifier)],
    "empty-binary": [],  # a rewrite of the pattern (run_peer), no code patch
}


@contextlib.contextmanager
def spec_patches(ids):
    """Apply the given spec patches (all of them: ids=None)."""
    if ids is None:
        ids = list(SPEC_PATCHES)
    items = [p for k in ids for p in SPEC_PATCHES[k]]
    ip = [_IP_CATEGORIES[k] for k in ids if k in _IP_CATEGORIES]
    if ip:
        items.append((M, "_ip_or_cidr_in_subnet", _ip_patch(ip)))
    missing = object()
    saved = [(owner, attr, owner.__dict__.get(attr, missing)) for owner, attr, _ in items]
    try:
        for owner, attr, repl in items:
            setattr(owner, attr, repl)
        yield
    finally:
        for owner, attr, old in reversed(saved):
            if old is missing:
                delattr(owner, attr)
            else:
                setattr(owner, attr, old)


def run_with(case, ids):
    with spec_patches(ids):
        return run_peer(case, v20_startstop=ids is None or "v20-startstop" in ids,
                        empty_binary=ids is None or "empty-binary" in ids)


def run_spec(case):
    return run_with(case, None)


def attribute(case, peer, spec):
    """The ids of the spec patches the spec outcome needs (those whose
    removal changes it); when none is needed alone, those that move the
    peer's outcome by themselves."""
    ids = [k for k in SPEC_PATCHES
           if run_with(case, [j for j in SPEC_PATCHES if j != k])[0] != spec]
    if not ids:
        ids = [k for k in SPEC_PATCHES if run_with(case, [k])[0] != peer]
    return ids or ["combined"]


def annotate(case):
    """Adds peer (and spec/deviations when they differ) to a case, in place."""
    peer, msg = run_peer(case)
    case["peer"] = peer
    if msg:
        case["peer_error"] = msg
    spec, smsg = run_spec(case)
    if spec != peer:
        case["spec"] = spec
        if smsg:
            case["spec_error"] = smsg
        case["deviations"] = attribute(case, peer, spec)
    return case


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

UNICODE = [
    "caf\u00e9", "cafe\u0301",                # NFC / NFD
    "\u1e0d\u0307", "d\u0323\u0307", "\u1e0b\u0323",
    "\u00c5ngstr\u00f6m", "A\u030angstro\u0308m", "\u212bngstr\u00f6m",
    "\ud55c\uad6d", "\u1112\u1161\u11ab\u1100\u116e\u11a8",
    "\u65e5\u672c", "\u0645\u0631\u062d\u0628\u0627", "\U0001f600 smile",
    "\u0103lice", "stra\u00dfe", "\u00ff\u00fe", "Z\u00fcrich",
]
STRINGS = [
    "alice", "bob", "carol", "", "a", "hello world", "it's", "back\\slash",
    "both\\'mixed", "100%", "under_score", "a.b*c+d?", "(x)[y]{z}", "$^|",
    "line1\nline2", "trailing\n", "tab\there", "C:\\Windows\\System32",
    "evil.example.com", "http://a.example/p?q=1", "MiXeD", "mixed",
]
HASHES = ["d41d8cd98f00b204e9800998ecf8427e", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
IPV4 = ["198.51.100.7", "198.51.100.0/24", "198.51.100.128/25", "203.0.113.33", "10.0.0.0/8",
        "10.1.2.3", "0.0.0.0", "255.255.255.255", "192.168.0.1/32", "11.22.33.44/20", "127.0.0.1"]
IPV6 = ["2001:db8::1", "2001:db8::/32", "2001:0db8:dead:beef::/64", "::1", "fe80::1",
        "2001:db8:dead:beef::42", "::ffff:198.51.100.7", "::"]
CIDR_LITERALS = ["198.51.100.0/24", "198.51.100.0/25", "198.51.0.0/16", "0.0.0.0/0", "10.0.0.0/8",
                 "198.51.100.7/32", "198.51.100.7", "203.0.113.0/24", "11.22.41.123/20",
                 "2001:db8::/32", "2001:db8::1", "::/0", "2001:db8:dead:beef::/64", "not-an-ip",
                 "198.51.100.0/33"]
CIDR_OK = ["198.51.100.0/24", "198.51.100.0/25", "198.51.0.0/16", "10.0.0.0/8", "198.51.100.7/32",
           "203.0.113.0/24", "11.22.41.123/20", "0.0.0.0/1", "128.0.0.0/1"]
INTS = [0, 1, -1, 2, 5, 80, 443, 1024, 65535, -42, 2**31, 2**53 - 1, 2**53, 2**53 + 1,
        2**63 - 1, -(2**63), 10**15]
FLOATS = ["0.5", "1.0", "12.658", "-3.25", "0.0", "1.5", "7.0", "2.5", "0.1", "0.30000000000000004",
          "123456789.125", "-0.5"]


def b64(data):
    return base64.b64encode(data).decode()


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.n = 0

    # -- helpers ----------------------------------------------------------
    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    def uid(self, type_):
        self.n += 1
        return "%s--%08x-0000-4000-8000-%012x" % (type_, self.r.getrandbits(32), self.n)

    def string(self):
        k = self.r.random()
        if k < 0.35:
            return self.pick(UNICODE)
        if k < 0.85:
            return self.pick(STRINGS)
        return "".join(self.pick("ab_%'\\\n.xyz\u00e9") for _ in range(self.r.randint(0, 6)))

    def timestamp(self, base=None, offset=None):
        if base is None:
            base = datetime.datetime(2020, 1, 1) + datetime.timedelta(
                seconds=self.r.randint(0, 5 * 86400))
        if offset:
            base = base + datetime.timedelta(seconds=offset)
        return fmt_ts(base, self.r.randint(0, 9) if self.chance(0.6) else 0, self.r)

    # -- SCOs ---------------------------------------------------------------
    def sco_pool(self, t0):
        """A small set of SCOs with references among them."""
        objs = []
        ipv4 = [{"type": "ipv4-addr", "id": self.uid("ipv4-addr"), "value": self.pick(IPV4)}
                for _ in range(self.r.randint(1, 2))]
        objs += ipv4
        if self.chance(0.25):
            objs.append({"type": "ipv6-addr", "id": self.uid("ipv6-addr"), "value": self.pick(IPV6)})
        kind = self.r.random()
        if kind < 0.25:
            nt = {"type": "network-traffic", "id": self.uid("network-traffic"),
                  "src_ref": ipv4[0]["id"], "dst_ref": ipv4[-1]["id"],
                  "src_port": self.pick(INTS[:10]), "dst_port": self.pick([80, 443, 8443, 53]),
                  "protocols": self.r.sample(["tcp", "udp", "ipv4", "http", "ssl"], self.r.randint(1, 3)),
                  "is_active": self.chance(0.5)}
            if self.chance(0.5):
                nt["start"] = self.timestamp(t0, self.r.randint(-5, 5))
            if self.chance(0.3):
                nt["extensions"] = {"http-request-ext": {"request_method": self.pick(["get", "POST"]),
                                                         "request_value": "/" + self.string(),
                                                         "request_header": {"Host": "a.example",
                                                                            "User-Agent": self.string()}}}
            objs.append(nt)
        elif kind < 0.45:
            f = {"type": "file", "id": self.uid("file"), "name": self.pick(["foo.dll", "a.exe", "r\u00e9sum\u00e9.pdf", "x y.txt", self.string()]),
                 "size": self.pick(INTS), "hashes": {}}
            for h in self.r.sample(["MD5", "SHA-256", "SHA-1", "x_custom"], self.r.randint(1, 3)):
                f["hashes"][h] = self.pick(HASHES)
            if self.chance(0.4):
                f["magic_number_hex"] = self.pick(["ffd8", "4D5A", "", "00ff", "616c696365"])
            if self.chance(0.3):
                f["ctime"] = self.timestamp(t0, self.r.randint(-10, 10))
            if self.chance(0.3):
                f["extensions"] = {"windows-pebinary-ext": {"pe_type": "exe", "sections": [
                    {"name": ".text", "entropy": float(self.pick(FLOATS[:8]))},
                    {"name": ".data", "entropy": self.pick([7, 7.5, 0.1])}]}}
            objs.append(f)
        elif kind < 0.6:
            addrs = [{"type": "email-addr", "id": self.uid("email-addr"),
                      "value": self.pick(["jdoe@example.com", "a@b.example", "MiXeD@Example.com", self.string() + "@x.example"])}
                     for _ in range(self.r.randint(1, 3))]
            if self.chance(0.3):
                addrs[0]["display_name"] = self.string()
            em = {"type": "email-message", "id": self.uid("email-message"), "is_multipart": self.chance(0.5),
                  "from_ref": addrs[0]["id"], "to_refs": [a["id"] for a in addrs], "subject": self.string()}
            objs += addrs + [em]
        elif kind < 0.7:
            data = self.pick([b"this is a test", b"\x00\x01\x02\xff", b"alice", b"", "caf\u00e9".encode()])
            objs.append({"type": "artifact", "id": self.uid("artifact"), "payload_bin": b64(data),
                         "mime_type": "application/octet-stream"})
        elif kind < 0.8:
            objs.append({"type": "domain-name", "id": self.uid("domain-name"),
                         "value": self.pick(["example.com", "evil.example.com", "xn--caf-dma.example", "EXAMPLE.com"]),
                         "resolves_to_refs": [a["id"] for a in ipv4]})
        else:
            objs.append(self.custom(t0))
        return objs

    def custom(self, t0):
        o = {"type": self.pick(["x-test", "x_custom", "test"]), "id": None}
        o["id"] = self.uid(o["type"])
        for _ in range(self.r.randint(2, 5)):
            key, val = self.custom_prop(t0)
            o[key] = val
        return o

    def custom_prop(self, t0):
        k = self.r.random()
        if k < 0.12:
            return "int", self.pick(INTS)
        if k < 0.22:
            return "float", float(self.pick(FLOATS))
        if k < 0.3:
            return "bool", self.chance(0.5)
        if k < 0.4:
            return "str", self.string()
        if k < 0.45:
            return "nothing", None
        if k < 0.55:
            return "list", [self.pick([self.pick(INTS), self.string(), self.chance(0.5), float(self.pick(FLOATS))])
                            for _ in range(self.r.randint(0, 3))]
        if k < 0.63:
            return "ts", self.timestamp(t0, self.r.randint(-3, 3))
        if k < 0.66:
            return "bad_ts", self.pick(["2020-01-01T00:00:00", "2020-01-01t00:00:00Z", "2020-13-01T00:00:00Z", "yesterday"])
        if k < 0.72:
            return "data_hex", self.pick(["616c696365", "00ff", "", "DEADbeef"])
        if k < 0.78:
            return "data_bin", b64(self.pick([b"alice", b"\x00\xff", b"", b"caf\xc3\xa9"]))
        if k < 0.86:
            return "dict", {"a": self.pick(INTS), "has-hyphen": self.string(), "has.dot": self.chance(0.5),
                            "nested": {"b": self.string()}}
        if k < 0.92:
            return "ip", self.pick(IPV4 + IPV6)
        return "num_str", self.pick(["1", "1.0", "true", "-0"])

    # -- observations ---------------------------------------------------------
    def observations(self):
        n_obs = self.r.choice([1, 1, 2, 2, 3, 4])
        base = datetime.datetime(2020, 1, 1) + datetime.timedelta(seconds=self.r.randint(0, 86400))
        objects, obs_list = [], []
        t = base
        for _ in range(n_obs):
            # Gaps between observations around whole and half seconds, so
            # WITHIN/START/STOP bounds fall on and next to them.
            t = t + datetime.timedelta(seconds=self.pick([0, 0.5, 1, 1, 2, 3, 5, 10]))
            first = t
            last = t + datetime.timedelta(seconds=self.pick([0, 0, 0, 0.25, 1, 2]))
            digits = self.r.randint(0, 9) if self.chance(0.5) else 0
            pool = self.sco_pool(first)
            od = {"type": "observed-data", "spec_version": "2.1", "id": self.uid("observed-data"),
                  "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
                  "first_observed": fmt_ts(first, digits, None), "last_observed": fmt_ts(last, digits, None),
                  "number_observed": self.pick([1, 1, 1, 1, 2, 3]),
                  "object_refs": [o["id"] for o in pool]}
            obs_list.append(od)
            objects.append(od)
            objects += pool
        return objects, obs_list

    # -- patterns --------------------------------------------------------------
    def case(self):
        version = "2.0" if self.chance(0.15) else "2.1"
        objects, obs_list = self.observations()
        scos = [o for o in objects if o["type"] != "observed-data"]
        # A pattern of 1-3 observation expressions.
        n = self.r.choice([1, 1, 1, 1, 2, 2, 3])
        exprs = [self.obs_expr(scos, obs_list, version) for _ in range(n)]
        pat = exprs[0]
        for e in exprs[1:]:
            op = self.pick(["AND", "OR", "OR", "FOLLOWEDBY"])
            if self.chance(0.4):
                pat = "(%s) %s %s" % (pat, op, e)
            else:
                pat = "%s %s %s" % (pat, op, e)
        if n > 1 and self.chance(0.35):
            pat = "(%s)" % pat + self.qualifier(obs_list, version)
        case = {"pattern": pat, "stix_version": version}
        case["observed"] = objects if version == "2.1" else to_v20(objects)
        if version == "2.1" and self.chance(0.5):
            del case["stix_version"]  # default is 2.1
        return case

    def obs_expr(self, scos, obs_list, version):
        target = self.pick(scos)
        n = self.r.choice([1, 1, 1, 1, 2, 2, 3])
        parts = [self.comparison(target if self.chance(0.85) else self.pick(scos), scos, version) for _ in range(n)]
        expr = parts[0]
        for p in parts[1:]:
            op = self.pick(["AND", "OR"])
            expr = ("(%s) %s %s" if self.chance(0.3) else "%s %s %s") % (expr, op, p)
        s = "[%s]" % expr
        if self.chance(0.3):
            s += self.qualifier(obs_list, version)
        return s

    def qualifier(self, obs_list, version):
        k = self.r.random()
        if k < 0.4:
            return " REPEATS %d TIMES" % self.pick([1, 2, 2, 3, 4])
        if k < 0.7:
            # Window on or next to the spread between two observations
            # (a later first_observed minus an earlier last_observed).
            a, b = self.pick(obs_list), self.pick(obs_list)
            gap = abs((parse_ts(b["first_observed"]) - parse_ts(a["last_observed"])).total_seconds())
            w = max(gap + self.pick([0, 0, 0, -1, 1, -0.5, 0.5, 0.25, 0.000001]), 0)
            if w <= 0 or self.chance(0.05):
                w = self.pick([1, 0.5, 0.0001, 3600])
            if w == int(w) and self.chance(0.7):
                text = str(int(w))
            else:
                text = ("%.6f" % w).rstrip("0")
                if text.endswith("."):
                    text += "0"
            return " WITHIN %s SECONDS" % text
        o = self.pick(obs_list)
        start = parse_ts(o["first_observed"]) + datetime.timedelta(seconds=self.pick([0, 0, -1, 1, -0.5, 0.000001]))
        stop = parse_ts(o["last_observed"]) + datetime.timedelta(seconds=self.pick([0, 0, 1, 1, 0.5, -1, 5]))
        s1, s2 = fmt_ts(start, self.r.randint(0, 9), None), fmt_ts(stop, self.r.randint(0, 9), None)
        if version == "2.0":
            return " START '%s' STOP '%s'" % (s1, s2)
        return " START t'%s' STOP t'%s'" % (s1, s2)

    def comparison(self, obj, scos, version):
        paths = list(leaf_paths(obj, scos, self.r))
        if not paths or self.chance(0.05):
            return "%s:%s = %s" % (obj["type"], self.pick(["nope", "value", "name"]), lit_str(self.string()))
        steps, value = self.pick(paths)
        path = render_path(obj["type"], steps)
        if version == "2.1" and self.chance(0.04):
            return ("NOT EXISTS %s" if self.chance(0.3) else "EXISTS %s") % path
        lit_value = value if self.chance(0.8) else self.random_value(value)
        return "%s %s" % (path, self.op_and_literal(steps, value, lit_value))

    def random_value(self, like):
        k = self.r.random()
        if isinstance(like, bool) or k < 0.1:
            return self.chance(0.5)
        if isinstance(like, (int, float)) and k < 0.7:
            return self.pick(INTS) if self.chance(0.6) else float(self.pick(FLOATS))
        if k < 0.8:
            return self.string()
        return self.pick(INTS)

    def op_and_literal(self, steps, value, lit):
        r = self.r
        last = steps[-1] if steps else ""
        binary = isinstance(last, str) and (last.endswith("_hex") or last.endswith("_bin"))
        neg = "NOT " if self.chance(0.15) else ""
        if binary and isinstance(value, str) and self.chance(0.7):
            try:
                raw = binascii.a2b_hex(value) if last.endswith("_hex") else base64.b64decode(value)
            except Exception:
                raw = b"\x00"
            if self.chance(0.3):
                raw = raw + b"!"
            form = self.pick(["h", "b", "s"])
            op = self.pick(["=", "=", "!=", "<", ">=", "MATCHES", "LIKE"])
            if op in ("MATCHES", "LIKE"):
                s = raw.decode("latin-1")
                return "%s%s %s" % (neg, op, lit_str(re.escape(s) if op == "MATCHES" else s))
            if form == "h":
                return "%s%s h'%s'" % (neg, op, raw.hex())
            if form == "b":
                return "%s%s b'%s'" % (neg, op, b64(raw))
            return "%s%s %s" % (neg, op, lit_str(raw.decode("latin-1")))
        if isinstance(lit, bool):
            op = self.pick(["=", "!=", "IN", "IN"])
            if op == "IN":
                return "%sIN (%s)" % (neg, self.pick(["true", "false", "1", "0", "1, 2", "true, false"]))
            return "%s%s %s" % (neg, op, "true" if lit else "false")
        if isinstance(lit, (int, float)):
            op = self.pick(["=", "!=", "<", "<=", ">", ">=", "IN", "=", "LIKE"])
            num = lit_num(lit, r)
            if op == "IN":
                others = [lit_num(self.pick(INTS), r), lit_num(float(self.pick(FLOATS)), r)]
                items = [num] + r.sample(others, r.randint(0, 2))
                r.shuffle(items)
                if self.chance(0.1):
                    items.append("true")  # nonhomogeneous set: an error
                return "%sIN (%s)" % (neg, ", ".join(items))
            if op == "LIKE":
                return "%sLIKE %s" % (neg, lit_str(str(lit)))
            return "%s%s %s" % (neg, op, num)
        if isinstance(lit, str):
            if looks_like_ts(value if isinstance(value, str) else ""):
                return self.ts_comparison(neg, value if lit == value else lit)
            if looks_like_ip(value if isinstance(value, str) else "") and self.chance(0.3):
                lits = CIDR_LITERALS if self.chance(0.3) else CIDR_OK
                return "%s%s %s" % (neg, self.pick(["ISSUBSET", "ISSUPERSET"]),
                                    lit_str(self.pick(lits + [value])))
            op = self.pick(["=", "=", "!=", "<", ">", "<=", ">=", "IN", "LIKE", "LIKE", "MATCHES", "MATCHES"])
            if op == "LIKE":
                return "%sLIKE %s" % (neg, lit_str(self.like_of(lit)))
            if op == "MATCHES":
                return "%sMATCHES %s" % (neg, lit_str(self.regex_of(lit)))
            if op == "IN":
                items = [lit_str(lit)] + [lit_str(self.string()) for _ in range(r.randint(0, 2))]
                if self.chance(0.1):
                    items = []
                r.shuffle(items)
                return "%sIN (%s)" % (neg, ", ".join(items))
            variant = lit
            if self.chance(0.25):
                variant = self.pick([unicodedata.normalize("NFC", lit), unicodedata.normalize("NFD", lit),
                                     lit.upper(), lit + "a", lit[:-1]])
            return "%s%s %s" % (neg, op, lit_str(variant))
        return "= 1"

    def ts_comparison(self, neg, value):
        try:
            t = parse_ts(value)
            t = t + datetime.timedelta(seconds=self.pick([0, 0, 0, 1, -1, 0.000001, -0.000001]))
            lit = "t'%s'" % fmt_ts(t, self.r.randint(0, 9), None)
        except Exception:
            lit = "t'2020-01-01T00:00:00Z'"
        op = self.pick(["=", "!=", "<", "<=", ">", ">=", "IN"])
        if op == "IN":
            return "%sIN (%s, t'1999-12-31T23:59:59.999Z')" % (neg, lit)
        if self.chance(0.1):
            return "%s%s %s" % (neg, op, lit_str(value))  # a plain string, not t''
        return "%s%s %s" % (neg, op, lit)

    def like_of(self, s):
        out = []
        for c in s:
            k = self.r.random()
            if c == "\n" and k < 0.6:
                out.append(self.pick("_%"))
            elif k < 0.15:
                out.append("_")
            elif k < 0.25:
                out.append("%")
            else:
                out.append(c)
        if self.chance(0.3):
            out.insert(self.r.randint(0, len(out)), "%")
        like = "".join(out)
        if self.chance(0.2):
            like = self.pick([unicodedata.normalize("NFD", like), unicodedata.normalize("NFC", like), like.upper()])
        return like

    def regex_of(self, s):
        k = self.r.random()
        if k < 0.3:
            return "^" + re.escape(s) + "$"
        if k < 0.5:
            return re.escape(s[: max(1, len(s) // 2)])
        if k < 0.6:
            return "^" + re.escape(unicodedata.normalize("NFD", s)) + "$"
        if k < 0.7:
            return re.escape(s[:1]) + ".*" + re.escape(s[-1:]) + "$"
        if k < 0.8 and "\n" in s:
            return self.pick(["^.+$", "^" + re.escape(s[:2]) + ".*$", ".\n?$", "e.l", "1.l"])
        return self.pick(["^a", "e$", "l+", "^$", ".", "[a-c]{2}", "\\d+", "^.+$", "\\.", "(?i)ALICE", "a.b", "\\n"])


def looks_like_ts(s):
    return bool(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", s))


def looks_like_ip(s):
    return bool(re.match(r"^[0-9a-fA-F:.]+(/\d+)?$", s)) and any(c in s for c in ".:")


def lit_str(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def lit_num(v, r):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    text = repr(v)
    if "e" in text or "inf" in text or "nan" in text:
        text = "%.3f" % v
    if r.random() < 0.2 and v == int(v) and abs(v) < 2**53:
        text = str(int(v))  # the int literal for an integral float value
    return text


def fmt_ts(dt, digits, r):
    """A STIX timestamp with `digits` fractional digits (0-9); digits past the
    microseconds are filled with zeros or, when r is given, random digits."""
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        frac = "%06d" % dt.microsecond
        if digits <= 6:
            frac = frac[:digits]
        else:
            extra = "".join(str(r.randint(0, 9)) for _ in range(digits - 6)) if r else "0" * (digits - 6)
            frac = frac + extra
        s += "." + frac
    return s + "Z"


def parse_ts(s):
    main, _, rest = s.rstrip("Z").partition(".")
    dt = datetime.datetime.strptime(main, "%Y-%m-%dT%H:%M:%S")
    if rest:
        dt = dt.replace(microsecond=int((rest + "000000")[:6]))
    return dt


def leaf_paths(obj, scos, r):
    """(steps, value) for each comparable value reachable from obj: dict
    keys, list indexes ([n] and [*]) and _ref/_refs dereferencing."""
    by_id = {o["id"]: o for o in scos}
    out = []

    def walk(steps, value, d):
        if d > 4:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if k in ("id", "spec_version") and d == 0:
                    continue
                if k.endswith("_ref") and isinstance(v, str):
                    if v in by_id:
                        walk(steps + [k], by_id[v], d + 1)
                    continue
                if k.endswith("_refs") and isinstance(v, list):
                    for i, ref in enumerate(v[:3]):
                        if ref in by_id:
                            walk(steps + [k, "*" if i and r.random() < 0.5 else i], by_id[ref], d + 1)
                    continue
                walk(steps + [k], v, d + 1)
        elif isinstance(value, list):
            for i, v in enumerate(value[:3]):
                walk(steps + [i], v, d + 1)
                walk(steps + ["*"], v, d + 1)
        else:
            out.append((steps, value))

    walk([], obj, 0)
    return out


def render_path(type_, steps):
    s = type_ + ":"
    first = True
    for st in steps:
        if isinstance(st, int):
            s += "[%d]" % st
        elif st == "*":
            s += "[*]"
        else:
            key = st if IDENT.match(st) else lit_str(st)
            s += key if first else "." + key
        first = False
    return s


def to_v20(objects):
    """The same observations in STIX 2.0 form: observed-data with embedded
    objects keyed "0", "1", ... and references rewritten to those keys."""
    by_id = {o["id"]: o for o in objects}
    out = []
    for od in objects:
        if od["type"] != "observed-data":
            continue
        keys = {ref: str(i) for i, ref in enumerate(od["object_refs"])}

        def rewrite(v):
            if isinstance(v, dict):
                return {k: (keys.get(x, x) if k.endswith("_ref") and isinstance(x, str)
                            else [keys.get(y, y) for y in x] if k.endswith("_refs") and isinstance(x, list)
                            else rewrite(x)) for k, x in v.items() if k not in ("id", "spec_version")}
            if isinstance(v, list):
                return [rewrite(x) for x in v]
            return v

        embedded = {keys[ref]: rewrite(by_id[ref]) for ref in od["object_refs"] if ref in by_id}
        new = {k: v for k, v in od.items() if k not in ("object_refs", "spec_version")}
        new["objects"] = embedded
        out.append(new)
    return out


def generate(seed, count, peer=True, out=sys.stdout):
    g = Gen(seed)
    stats = {"cases": 0, "match": 0, "nomatch": 0, "error": 0, "deviating": 0}
    for i in range(count):
        case = g.case()
        case = {"id": i, **case}
        if peer:
            annotate(case)
            key = {True: "match", False: "nomatch", "error": "error"}[case["peer"]]
            stats[key] += 1
            stats["deviating"] += "deviations" in case
        stats["cases"] += 1
        out.write(json.dumps(case, ensure_ascii=False, sort_keys=False) + "\n")
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--cases", type=int, required=True)
    ap.add_argument("--out", required=True, help="output JSONL path, - for stdout")
    ap.add_argument("--no-peer", action="store_true", help="generate only, do not run stix2-matcher")
    args = ap.parse_args()
    sys.setrecursionlimit(10000)
    if args.out == "-":
        stats = generate(args.seed, args.cases, not args.no_peer, sys.stdout)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            stats = generate(args.seed, args.cases, not args.no_peer, f)
    print(json.dumps(stats), file=sys.stderr)


if __name__ == "__main__":
    main()
