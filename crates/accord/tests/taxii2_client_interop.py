"""Drives a running Accord node with the OASIS taxii2-client, as a TAXII 2.1
user would, and checks every answer; validates what comes back with the OASIS
stix2-validator. Exits non-zero on the first failed check.

    python taxii2_client_interop.py BASE_URL EXPECTED_OBJECTS
"""
import json
import sys

import requests
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

BASE, EXPECTED = sys.argv[1].rstrip("/"), int(sys.argv[2])
AUTH = dict(user="demo", password="demo")
TAXII = "application/taxii+json;version=2.1"
checks = []


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)
    checks.append(what)


def valid(obj):
    r = validate_instance(obj, ValidationOptions(version="2.1"))
    if not r.is_valid:
        print(json.dumps(obj)[:300], [str(e) for e in r.errors][:3], file=sys.stderr)
    return r.is_valid


# Discovery, API root, collections.
server = Server(BASE + "/taxii2/", **AUTH)
check(server.title == "Accord demo node", "discovery title")
check(len(server.api_roots) == 1, "one api root")
root = server.default
check(root.versions == [TAXII], "api root versions")
check(root.max_content_length > 0, "max_content_length")
colls = root.collections
check(len(colls) == 1 and colls[0].can_read and colls[0].can_write, "collection rights")
coll = colls[0]

# Every object, page by page (limit 100), each exactly once.
seen = []
pages = 0
for env in as_pages(coll.get_objects, per_request=100):
    pages += 1
    seen.extend(env.get("objects", []))
ids = [(o["id"], o.get("modified", o.get("created", ""))) for o in seen]
check(len(ids) == EXPECTED, "read %d objects, expected %d" % (len(ids), EXPECTED))
check(len(set(ids)) == len(ids), "no object repeated across %d pages" % pages)

# What comes back is valid STIX 2.1 (all the real data, a sample of the generated).
real = [o for o in seen if "generated" not in o.get("labels", [])]
generated = [o for o in seen if "generated" in o.get("labels", [])][:200]
known = {  # free-form `extensions` keys in the OASIS incident example: see crates/stix/tests/differential.rs
    "impact--0c9511ac-e14b-4f48-9d49-54bfc93c9b34",
    "impact--dde347a5-e695-4b58-bc7e-00712abdc9a6",
    "impact--5cbcf7ba-b278-4fb3-aa86-99a73743db82",
}
bad = [o["id"] for o in real + generated if o["id"] not in known and not valid(o)]
check(not bad, "stix2-validator accepts everything served (%d checked): %s" % (len(real) + len(generated), bad[:5]))

# Filters, alone and together.
malware = [o for env in as_pages(coll.get_objects, per_request=50, type="malware") for o in env.get("objects", [])]
check(malware and all(o["type"] == "malware" for o in malware), "match[type]=malware")
check(len(malware) == sum(1 for o in seen if o["type"] == "malware"), "match[type] count")
one_id = malware[0]["id"]
got = coll.get_objects(id=one_id)["objects"]
check([o["id"] for o in got] == [one_id], "match[id]")
two = coll.get_objects(type=["malware", "tool"], limit=1000).get("objects", [])
check({o["type"] for o in two} == {"malware", "tool"}, "match[type] with two values")
check(coll.get_objects(spec_version="2.0").get("objects") is None, "match[spec_version]=2.0 finds nothing")

# Add objects: two valid, one invalid; the status says which and why.
new = [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--c1f2a3b4-0000-4000-8000-00000000000%d" % i,
     "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
     "name": "interop %d" % i, "pattern": "[ipv4-addr:value = '203.0.113.%d']" % i,
     "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z"}
    for i in (1, 2)
]
broken = dict(new[0], id="indicator--not-a-uuid")
status = coll.add_objects({"objects": new + [broken]}, wait_for_completion=True)
check(status.status == "complete", "status complete")
check(status.success_count == 2 and status.failure_count == 1, "2 successes, 1 failure")
check("identifier" in status.failures[0]["message"], "failure names the rule: %s" % status.failures[0])
again = root.get_status(status.id)
check(again.status == "complete" and again.success_count == 2, "GET status/{id} gives the same status")

# A new version of one of them, then versions, manifest, one object.
v2 = dict(new[0], modified="2026-11-02T00:00:00.000Z", name="interop 1 v2")
coll.add_objects({"objects": [v2]}, wait_for_completion=True)
versions = coll.object_versions(new[0]["id"])["versions"]
check(versions == ["2026-11-01T00:00:00.000Z", "2026-11-02T00:00:00.000Z"], "versions: %s" % versions)
last = coll.get_object(new[0]["id"])["objects"]
check(len(last) == 1 and last[0]["name"] == "interop 1 v2", "get_object gives the last version")
every = coll.get_object(new[0]["id"], version="all")["objects"]
check(len(every) == 2, "match[version]=all")
first = coll.get_object(new[0]["id"], version="first")["objects"]
check(first[0]["name"] == "interop 1", "match[version]=first")
man = coll.get_manifest(limit=10)
check(len(man["objects"]) == 10 and man["more"], "manifest page")
check(all(r["media_type"] == "application/stix+json;version=2.1" for r in man["objects"]), "manifest media types")

# Delete one object; it is gone.
coll.delete_object(new[1]["id"])
try:
    coll.get_object(new[1]["id"])
    check(False, "deleted object is gone")
except requests.exceptions.HTTPError as e:
    check(e.response.status_code == 404, "deleted object gives 404")

# Paging that drops its filters on page 2 still gets the query it started
# (the cursor carries the query), and pages never overlap.
url = coll.url + "objects/"
h = {"Accept": TAXII}
p1 = requests.get(url, params={"match[type]": "attack-pattern", "limit": 7}, headers=h, auth=("demo", "demo")).json()
p2 = requests.get(url, params={"next": p1["next"]}, headers=h, auth=("demo", "demo")).json()
check(all(o["type"] == "attack-pattern" for o in p2["objects"]), "page 2 keeps match[type] without repeating it")
check(not {o["id"] for o in p1["objects"]} & {o["id"] for o in p2["objects"]}, "pages do not overlap")

# Errors clients meet.
r = requests.get(BASE + "/taxii2/", headers=h, auth=("demo", "wrong"))
check(r.status_code == 401 and "WWW-Authenticate" in r.headers, "wrong password: 401 with WWW-Authenticate")
r = requests.get(url, headers={"Accept": "text/html"}, auth=("demo", "demo"))
check(r.status_code == 406, "406 on a media type the server does not speak")
r = requests.post(url, data="{}", headers={"Accept": TAXII, "Content-Type": "application/json"}, auth=("demo", "demo"))
check(r.status_code == 415, "415 on a POST that is not TAXII JSON")
r = requests.post(url, data='{"objects": [ {"type": ', headers={"Accept": TAXII, "Content-Type": TAXII}, auth=("demo", "demo"))
check(r.status_code == 400 and "line 1 column" in r.json()["description"], "400 names line and column: %s" % r.text)
r = requests.get(coll.url.replace(coll.id, "00000000-0000-4000-8000-000000000000") + "objects/", headers=h, auth=("demo", "demo"))
check(r.status_code == 404 and r.json()["title"], "404 for an unknown collection, as a TAXII error")

print(json.dumps({"checks": len(checks), "objects_read": len(ids), "pages": pages}))
