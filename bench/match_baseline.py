#!/usr/bin/env python3
"""Python json+set baseline for `accord match` (same work, same semantics).

    python3 bench/match_baseline.py --iocs DIR/iocs.tsv --counts OUT.tsv LOG...

Loads iocs.tsv ("kind<TAB>value<TAB>indicator id", from `accord generate-logs`)
into one dict per kind (value -> ids) and, for CIDRs, one dict per prefix
length (network number -> ids). Reads each log: EVE JSON lines with
json.loads, Zeek TSV by splitting on tabs under its #fields header. Looks up
the fields `accord match` reads in these logs: EVE src_ip, dest_ip,
dns.rrname, dns.answers[].rrname/rdata, tls.sni, the CN of tls.subject,
http.hostname, the URL http://hostname+url, fileinfo.sha256; Zeek id.orig_h,
id.resp_h, query, answers. Domains match at every label boundary
(a.evil.bad finds evil.bad). Counts one hit per (line, field value,
indicator) and writes "id<TAB>count" lines sorted by id, so they can be
compared with `accord match --hits`. Prints lines/s per log on stderr and a
JSON summary on stdout.
"""

import argparse
import json
import socket
import sys
import time
from collections import Counter

sys.dont_write_bytecode = True


def load(path):
    exact = {k: {} for k in ("ipv4", "ipv6", "domain", "url", "sha256")}
    v4, v6 = {}, {}
    n = 0
    with open(path) as f:
        for line in f:
            kind, value, ident = line.rstrip("\n").split("\t")
            n += 1
            if kind in ("cidr4", "cidr6"):
                addr, plen = value.split("/")
                plen = int(plen)
                if kind == "cidr4":
                    net = int.from_bytes(socket.inet_aton(addr), "big") >> (32 - plen)
                    v4.setdefault(plen, {}).setdefault(net, []).append(ident)
                else:
                    net = int.from_bytes(socket.inet_pton(socket.AF_INET6, addr), "big") >> (128 - plen)
                    v6.setdefault(plen, {}).setdefault(net, []).append(ident)
            else:
                if kind == "ipv6":
                    value = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))
                exact[kind].setdefault(value.lower() if kind != "url" else value, []).append(ident)
    return exact, sorted(v4.items()), sorted(v6.items()), n


class Matcher:
    def __init__(self, exact, v4, v6):
        self.ips4, self.ips6 = exact["ipv4"], exact["ipv6"]
        self.doms, self.urls, self.hashes = exact["domain"], exact["url"], exact["sha256"]
        self.v4, self.v6 = v4, v6
        self.counts = Counter()

    def ip(self, s):
        c = self.counts
        if ":" in s:
            try:
                b = socket.inet_pton(socket.AF_INET6, s)
            except OSError:
                return
            for i in self.ips6.get(socket.inet_ntop(socket.AF_INET6, b), ()):
                c[i] += 1
            n = int.from_bytes(b, "big")
            for plen, nets in self.v6:
                for i in nets.get(n >> (128 - plen), ()):
                    c[i] += 1
            return
        for i in self.ips4.get(s, ()):
            c[i] += 1
        try:
            n = int.from_bytes(socket.inet_aton(s), "big")
        except OSError:
            return
        for plen, nets in self.v4:
            for i in nets.get(n >> (32 - plen), ()):
                c[i] += 1

    def domain(self, s):
        s = s.lower().rstrip(".")
        doms, c = self.doms, self.counts
        while True:
            for i in doms.get(s, ()):
                c[i] += 1
            p = s.find(".")
            if p < 0:
                return
            s = s[p + 1:]

    def name_or_ip(self, s):
        if s and (s[0].isdigit() or ":" in s) and (s.replace(".", "").isdigit() or ":" in s):
            self.ip(s)
        else:
            self.domain(s)

    def url(self, s):
        for i in self.urls.get(s, ()):
            self.counts[i] += 1

    def hash(self, s):
        for i in self.hashes.get(s.lower(), ()):
            self.counts[i] += 1

    def eve(self, path):
        loads = json.loads
        n = 0
        with open(path, "rb") as f:
            for line in f:
                ev = loads(line)
                n += 1
                for k in ("src_ip", "dest_ip"):
                    v = ev.get(k)
                    if v:
                        self.ip(v)
                d = ev.get("dns")
                if d is not None:
                    if "rrname" in d:
                        self.domain(d["rrname"])
                    for a in d.get("answers", ()):
                        if "rrname" in a:
                            self.domain(a["rrname"])
                        if "rdata" in a:
                            self.name_or_ip(a["rdata"])
                d = ev.get("tls")
                if d is not None:
                    if "sni" in d:
                        self.domain(d["sni"])
                    for part in d.get("subject", "").split(", "):
                        if part.startswith("CN="):
                            self.domain(part[3:])
                d = ev.get("http")
                if d is not None:
                    host = d.get("hostname")
                    if host:
                        self.name_or_ip(host)
                        self.url("http://" + host + d.get("url", ""))
                d = ev.get("fileinfo")
                if d is not None and "sha256" in d:
                    self.hash(d["sha256"])
        return n

    def zeek(self, path):
        n = 0
        cols = {}
        with open(path) as f:
            for line in f:
                n += 1
                if line.startswith("#"):
                    if line.startswith("#fields\t"):
                        names = line.rstrip("\n").split("\t")[1:]
                        cols = {k: names.index(k) for k in ("id.orig_h", "id.resp_h", "query", "answers") if k in names}
                    continue
                row = line.rstrip("\n").split("\t")
                for k in ("id.orig_h", "id.resp_h"):
                    if k in cols and row[cols[k]] != "-":
                        self.ip(row[cols[k]])
                if "query" in cols and row[cols["query"]] not in ("-", "(empty)"):
                    self.domain(row[cols["query"]])
                if "answers" in cols and row[cols["answers"]] not in ("-", "(empty)"):
                    for a in row[cols["answers"]].split(","):
                        self.name_or_ip(a)
        return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iocs", required=True)
    ap.add_argument("--counts", required=True, help="write id<TAB>count here")
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()
    t = time.perf_counter()
    exact, v4, v6, n_iocs = load(a.iocs)
    load_s = time.perf_counter() - t
    m = Matcher(exact, v4, v6)
    res = {"indicators": n_iocs, "load_s": load_s, "logs": {}}
    for path in a.logs:
        t = time.perf_counter()
        with open(path, "rb") as f:
            zeek = f.read(1) == b"#"
        lines = m.zeek(path) if zeek else m.eve(path)
        s = time.perf_counter() - t
        res["logs"][path] = {"lines": lines, "seconds": s, "lines_per_s": lines / s}
        print("%s: %d lines in %.2f s = %.0f lines/s" % (path, lines, s, lines / s), file=sys.stderr)
    with open(a.counts, "w") as f:
        for ident in sorted(m.counts):
            f.write("%s\t%d\n" % (ident, m.counts[ident]))
    res["hits"] = sum(m.counts.values())
    res["indicators_hit"] = len(m.counts)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
