#!/usr/bin/env python3
"""medallion's side of `filters_differential.rs`.

Usage: python filters_medallion.py CONFIG.json < cases.jsonl > results.jsonl

CONFIG.json is a medallion configuration (memory backend, its data file).
Each input line is one case: {"path": "/api1/collections/<id>/objects/",
"query": [[name, value], ...], "limit": n or null}. The request runs in
process through medallion's own Flask application (its test client: the
same views, filters and paging as over a socket, without one), and every
`next` is followed to the end with the same parameters (medallion requires
`limit` and unchanged filters on each page). Each output line is
{"status": s, "items": [[id, version], ...], "pages": n, "error": text}.

`string_to_datetime` is memoized: medallion calls it on every pair of
objects and manifest entries (see PEERS.md), and a cache of a pure function
of its string changes no answer.
"""

import base64
import functools
import json
import os
import sys

sys.dont_write_bytecode = True

import medallion  # noqa: E402
import medallion.common  # noqa: E402
import medallion.filters.basic_filter as basic_filter  # noqa: E402

_to_dt = functools.lru_cache(maxsize=None)(medallion.common.string_to_datetime)
medallion.common.string_to_datetime = _to_dt
basic_filter.string_to_datetime = _to_dt

ACCEPT = "application/taxii+json;version=2.1"


def items_of(path, body):
    """(id, version) of each thing a page lists."""
    if path.endswith("/versions/"):
        oid = path.rstrip("/").split("/")[-2]
        return [[oid, v] for v in body.get("versions", [])]
    out = []
    for o in body.get("objects", []):
        v = o.get("version") or o.get("modified") or o.get("created")
        out.append([o["id"], v])
    return out


def run(client, auth, case):
    params = [tuple(p) for p in case["query"]]
    if case["limit"] is not None:
        params.append(("limit", str(case["limit"])))
    items, pages = [], 0
    nxt = None
    while True:
        q = list(params) + ([("next", nxt)] if nxt else [])
        r = client.get(case["path"], query_string=q,
                       headers={"Accept": ACCEPT, "Authorization": auth})
        pages += 1
        body = r.get_json(silent=True) or {}
        if r.status_code != 200:
            return {"status": r.status_code, "items": items, "pages": pages,
                    "error": body.get("description", r.get_data(as_text=True)[:200])}
        items.extend(items_of(case["path"], body))
        nxt = body.get("next")
        if not body.get("more") or not nxt or pages > 10_000:
            return {"status": 200, "items": items, "pages": pages, "error": None}


def main():
    app = medallion.load_app(sys.argv[1])
    app.testing = True
    client = app.test_client()
    user, pw = next(iter(app.users_backend.items()))
    auth = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    out = sys.stdout
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(run(client, auth, json.loads(line))) + "\n")
    out.flush()
    # medallion's session sweeper is a thread of its own: leave without it.
    os._exit(0)


if __name__ == "__main__":
    main()
