#!/usr/bin/env python3
"""stix2-matcher over a file of pattern cases, one process (bench/pattern_fresh.sh).

    python pattern_fresh.py CASES.jsonl > OUTCOMES.jsonl

Reads the cases `accord pattern match --batch` reads (`pattern`, `observed`,
optional `stix_version`; written by crates/accord/tests/pattern_diff.py) and
evaluates each with stix2-matcher 3.0.0 as the differential does: a fresh
`Pattern(text, version)` and `.match()` over the observations (a 2.1 case's
objects wrapped in a bundle). Prints one line per case, `{"match": ...}` or
`{"error": ...}`, like Accord's batch mode.
"""

import json
import sys

from stix2matcher.matcher import Pattern


def peer_input(case):
    if case.get("stix_version", "2.1") == "2.1":
        return [{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
                 "objects": case["observed"]}]
    return case["observed"]


def main():
    sys.setrecursionlimit(10000)
    out = sys.stdout
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            case = json.loads(line)
            try:
                res = bool(Pattern(case["pattern"], case.get("stix_version", "2.1"))
                           .match(peer_input(case)))
                out.write('{"match":%s}\n' % ("true" if res else "false"))
            except Exception as e:  # parse errors, MatcherException, any raise
                out.write(json.dumps({"error": "%s: %s" % (type(e).__name__, str(e)[:200])}) + "\n")


if __name__ == "__main__":
    main()
