"""1,000 new indicator versions for bench/match.sh's warm load: 800 new
indicators, 100 revocations and 100 new patterns of stored indicators."""
import json, sqlite3, sys, uuid

db = sqlite3.connect(sys.argv[1])
old = [json.loads(r[0]) for r in db.execute("select raw from objects where type='indicator' limit 200")]
t = "2026-06-01T00:00:00.000Z"
for i in range(800):
    u = uuid.UUID(int=(0x4B1D << 112) + i)
    print(json.dumps({"type": "indicator", "spec_version": "2.1",
                      "id": "indicator--%s" % uuid.UUID(int=u.int, version=4),
                      "created": t, "modified": t,
                      "pattern": "[ipv4-addr:value = '198.18.%d.%d']" % (i // 256, i % 256),
                      "pattern_type": "stix", "valid_from": t}))
for i, o in enumerate(old):
    o["modified"] = t
    if i < 100:
        o["revoked"] = True
    else:
        o["pattern"] = "[domain-name:value = 'changed-%d.example']" % i
    print(json.dumps(o))
