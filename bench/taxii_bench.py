#!/usr/bin/env python3
"""TAXII 2.1 through the OASIS taxii2-client: Accord vs medallion, same run.

    .venv/bin/python bench/taxii_bench.py [--runs-post 3] [--runs-get-medallion 1]

Both servers are driven by the same code from ../shared/peers/bench_medallion.py
(its Server class starts medallion 3.0.0 on gunicorn, memory backend; its
post_all and paged_get are the timed loops), with the same generated data
(../shared/peers/stixgen.py). Accord runs as `accord serve` (release build) on
a fresh data directory with durable writes. Workloads:
  post : 5,000 indicators in envelopes of 1,000, Collection.add_objects with
         wait_for_completion, into an empty collection; Accord and medallion
         runs interleaved.
  get  : a 5,000-object collection (4,000 indicators, 500 malware, 500
         relationships) read with as_pages, limit 100.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "..", "shared", "peers")
sys.path.insert(0, PEERS)
sys.dont_write_bytecode = True

import bench_medallion as bm  # noqa: E402
import stixgen  # noqa: E402
from taxii2client.v21 import Collection  # noqa: E402

ACCORD = os.path.join(ROOT, "target", "release", "accord")


class AccordServer:
    """`accord serve` on a free port with the same API root, collection id and account as medallion's bench."""

    def __init__(self, workdir, max_page_size):
        self.port = bm.free_port()
        data = tempfile.mkdtemp(dir=workdir)
        cfg = os.path.join(data, "accord.toml")
        with open(cfg, "w") as f:
            f.write(f"""
listen = "127.0.0.1:{self.port}"
data_dir = "{data}/store"
[limits]
max_page_size = {max_page_size}
default_page_size = {max_page_size}
[[api_roots]]
name = "{bm.API_ROOT}"
title = "Bench API root"
[[api_roots.collections]]
id = "{bm.COLLECTION_ID}"
title = "Bench collection"
[[accounts]]
name = "{bm.USER}"
token_sha256 = []
password_hash = "{hash_password(bm.PASSWORD)}"
read = ["*"]
write = ["*"]
""")
        self.log = open(os.path.join(data, "server.log"), "w")
        self.proc = subprocess.Popen([ACCORD, "serve", "--config", cfg], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, RUST_LOG="warn"))
        self.base = "http://127.0.0.1:%d" % self.port
        bm.Server._wait_ready(self)

    def collection(self):
        c = Collection("%s/%s/collections/%s/" % (self.base, bm.API_ROOT, bm.COLLECTION_ID), user=bm.USER, password=bm.PASSWORD)
        c.refresh()
        return c

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def hash_password(pw):
    # argon2id PHC string, made by Accord itself so the bench needs no Python argon2.
    out = subprocess.run([ACCORD, "hash-password"], input=pw, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def bench_post(make, runs, objs):
    rates = []
    for _ in range(runs):
        srv = make(100)
        try:
            secs, _, _ = bm.post_all(srv.collection(), bm.envelopes(objs, 1000))
            rates.append(len(objs) / secs)
        finally:
            srv.stop()
    return rates


def bench_get(make, runs, objs):
    srv = make(100)
    try:
        coll = srv.collection()
        bm.populate(coll, objs)
        rates, firsts = [], []
        for _ in range(runs):
            secs, first, got, pages, _ = bm.paged_get(coll, 100)
            assert len({o["id"] for o in got}) == len(objs) == len(got), (len(got), len(objs))
            rates.append(len(got) / secs)
            firsts.append(first)
        return rates, firsts
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs-post", type=int, default=5)
    ap.add_argument("--runs-get", type=int, default=3)
    ap.add_argument("--runs-get-medallion", type=int, default=1, help="each run takes ~100 s")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="accord-taxii-bench-")
    res = {}
    try:
        post_objs = stixgen.indicators(5000, seed=7)
        get_objs = stixgen.mixed_collection(4000, 500, 500, seed=11)
        med = lambda mps: bm.Server("gunicorn", work, mps)  # noqa: E731
        acc = lambda mps: AccordServer(work, mps)  # noqa: E731
        # Interleaved, one run of each in turn: this machine's speed drifts
        # over minutes, and a ratio of two runs minutes apart would carry it.
        res["post_accord"], res["post_medallion"] = [], []
        for _ in range(args.runs_post):
            res["post_accord"] += bench_post(acc, 1, post_objs)
            res["post_medallion"] += bench_post(med, 1, post_objs)
        res["get_accord"], res["get_accord_first_page_s"] = bench_get(acc, args.runs_get, get_objs)
        res["get_medallion"], res["get_medallion_first_page_s"] = bench_get(med, args.runs_get_medallion, get_objs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        "post_env1000_objects_per_s": {"accord": median(res["post_accord"]), "medallion": median(res["post_medallion"]),
                                        "ratio": median(res["post_accord"]) / median(res["post_medallion"])},
        "get_5000_limit100_objects_per_s": {"accord": median(res["get_accord"]), "medallion": median(res["get_medallion"]),
                                             "ratio": median(res["get_accord"]) / median(res["get_medallion"])},
        "raw": res,
    }
    text = json.dumps(summary, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
