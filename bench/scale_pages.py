#!/usr/bin/env python3
"""Page latency of a TAXII collection: first page, a deep page, a filtered page.

    python bench/scale_pages.py COLLECTION_URL USER PASSWORD REQUESTS DEEP_SEQ

Each case is REQUESTS sequential GETs (limit 100) on one keep-alive
connection; prints the median and p99 in milliseconds as JSON. The deep page
starts half-way through the collection with a cursor made the way the server
makes them (base64 of the query and a store sequence number), the position a
client reaches after paging through half of it.
"""
import base64
import json
import sys
import time

import requests

url, user, pw = sys.argv[1].rstrip("/") + "/", sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 200
s = requests.Session()
s.auth = (user, pw)
s.headers["Accept"] = "application/taxii+json;version=2.1"
coll_id = url.rstrip("/").split("/")[-1]


def timed(params):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = s.get(url + "objects/", params=params)
        r.raise_for_status()
        body = r.json()
        out.append((time.perf_counter() - t) * 1000)
        assert len(body.get("objects", [])) == 100, len(body.get("objects", []))
    out.sort()
    return {"median_ms": round(out[len(out) // 2], 3), "p99_ms": round(out[min(len(out) - 1, int(len(out) * 0.99))], 3)}


deep_seq = int(sys.argv[5])
res = {"first_page": timed({"limit": 100})}
if deep_seq:
    cur = {"collection": coll_id, "endpoint": "objects", "filters": {}, "after_seq": deep_seq}
    nxt = base64.urlsafe_b64encode(json.dumps(cur, separators=(",", ":")).encode()).decode().rstrip("=")
    res["deep_page"] = timed({"limit": 100, "next": nxt})
res["type_filter_page"] = timed({"limit": 100, "match[type]": "indicator"})
res["added_after_page"] = timed({"limit": 100, "added_after": "2000-01-01T00:00:00Z"})
print(json.dumps(res))
