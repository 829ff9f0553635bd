"""misp-stix's side of tests/misp_import.rs: converts one MISP event file
with MISPtoSTIX21Parser and prints, as JSON, the indicators and the
observables per MISP type (from misp-stix's `misp:type` / `misp:name`
labels) and every indicator pattern. On a conversion error it prints
{"error": "..."}."""
import json
import sys
from collections import Counter

from misp_stix_converter import MISPtoSTIX21Parser


def label_type(o):
    for l in o.get("labels", []):
        for k in ("misp:type=", "misp:name="):
            if l.startswith(k):
                return l[len(k):].strip('"')
    return o.get("x_misp_type", "?")


def main():
    with open(sys.argv[1]) as f:
        event = json.load(f)
    try:
        p = MISPtoSTIX21Parser()
        p.parse_misp_event(event)
        bundle = json.loads(p.bundle.serialize())
    except Exception as e:  # the peer's own failure is a result to compare
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return
    ind, obs, other = Counter(), Counter(), Counter()
    patterns = []
    for o in bundle["objects"]:
        t = o["type"]
        if t == "indicator":
            ind[label_type(o)] += 1
            patterns.append(o["pattern"])
        elif t == "observed-data":
            obs[label_type(o)] += 1
        elif t == "x-misp-attribute":
            other[label_type(o)] += 1
    print(json.dumps({"indicators": ind, "observables": obs, "custom": other, "patterns": patterns}))


main()
