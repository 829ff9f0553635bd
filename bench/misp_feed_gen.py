"""Writes a MISP feed (manifest.json, <uuid>.json, hashes.csv) of generated
events for bench/misp_import.sh:

    python3 bench/misp_feed_gen.py DIR ATTRIBUTES [PER_EVENT] [SEED]

Deterministic for a seed. Attribute types are mixed as in real feeds (IPs,
domains, URLs, hashes, composite filename|sha256, ip-dst|port, domain|ip,
e-mail addresses, free text), 60% IDS-flagged; each event has a TLP tag
and one file object per 100 attributes. hashes.csv is PyMISP's
(`MISPAttribute.hash_values('md5')`: one md5 per value part)."""
import hashlib
import json
import os
import random
import sys
import uuid


def main():
    out, total = sys.argv[1], int(sys.argv[2])
    per = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
    os.makedirs(out, exist_ok=True)
    u = lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))
    hx = lambda n: "%0*x" % (n, rng.getrandbits(4 * n))
    ip = lambda: "%d.%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    dom = lambda: "%s.%s" % (hx(10), rng.choice(["com", "net", "org", "example", "info"]))
    kinds = [
        ("ip-dst", ip), ("ip-src", ip), ("domain", dom), ("hostname", lambda: "www." + dom()),
        ("url", lambda: "http://%s/%s" % (dom(), hx(8))), ("md5", lambda: hx(32)), ("sha1", lambda: hx(40)),
        ("sha256", lambda: hx(64)), ("filename|sha256", lambda: "%s.exe|%s" % (hx(6), hx(64))),
        ("ip-dst|port", lambda: "%s|%d" % (ip(), rng.randint(1, 65535))), ("domain|ip", lambda: "%s|%s" % (dom(), ip())),
        ("email-src", lambda: "%s@%s" % (hx(6), dom())), ("text", lambda: "note " + hx(16)),
    ]
    manifest, hashes = {}, []
    done, ts0 = 0, 1_600_000_000
    while done < total:
        n = min(per, total - done)
        eu = u()
        ts = ts0 + done
        attrs = []
        for i in range(n - n // 100 * 2):
            ty, gen = rng.choice(kinds)
            attrs.append({"uuid": u(), "type": ty, "category": "Network activity", "value": gen(),
                          "to_ids": rng.random() < 0.6, "timestamp": str(ts)})
        objs = []
        for _ in range(n // 100):
            objs.append({"uuid": u(), "name": "file", "meta-category": "file", "timestamp": str(ts), "Attribute": [
                {"uuid": u(), "object_relation": "filename", "type": "filename", "value": hx(6) + ".dll", "to_ids": True, "timestamp": str(ts)},
                {"uuid": u(), "object_relation": "sha256", "type": "sha256", "value": hx(64), "to_ids": True, "timestamp": str(ts)}]})
        tlp = rng.choice(["tlp:clear", "tlp:green", "tlp:amber", "tlp:white"])
        ev = {"uuid": eu, "info": "generated event %d" % len(manifest), "date": "2020-09-13", "timestamp": str(ts),
              "publish_timestamp": str(ts), "published": True, "analysis": "2", "threat_level_id": "2",
              "Orgc": {"uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f", "name": "BENCH"},
              "Tag": [{"name": tlp}, {"name": "type:OSINT"}], "Attribute": attrs, "Object": objs}
        for a in attrs + [a for o in objs for a in o["Attribute"]]:
            for part in a["value"].split("|") if "|" in a["type"] else [a["value"]]:
                hashes.append("%s,%s" % (hashlib.md5(part.encode()).hexdigest(), eu))
        with open(os.path.join(out, eu + ".json"), "w") as f:
            json.dump({"Event": ev}, f)
        manifest[eu] = {"info": ev["info"], "timestamp": ev["timestamp"], "Orgc": ev["Orgc"], "Tag": ev["Tag"]}
        done += n
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    with open(os.path.join(out, "hashes.csv"), "w") as f:
        f.write("\n".join(hashes) + "\n")
    print("%d events, %d attributes in %s" % (len(manifest), done, out), file=sys.stderr)


main()
