"""Validate STIX documents with the OASIS stix2-validator, one per line.

Reads a JSON-lines file (argv[1]) of full STIX documents (bundles) and prints
one JSON line per document, in order:

    {"valid": true|false, "errors": ["...", ...]}

Runs in one Python process so the validator's schemas are loaded once. Used
by crates/stix/tests/differential.rs; validation options are the validator's
defaults for STIX 2.1 (SHOULD checks are warnings and do not make a document
invalid).
"""

import json
import sys

from stix2validator import ValidationOptions, validate_instance


def main():
    out = sys.stdout
    # The validator may print; keep our stdout for the JSON lines only.
    sys.stdout = sys.stderr
    options = ValidationOptions(version="2.1")
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            doc = json.loads(line)
            try:
                result = validate_instance(doc, options)
                verdict = {
                    "valid": bool(result.is_valid),
                    "errors": [str(e) for e in result.errors],
                }
            except Exception as e:  # the validator raises on some malformed input
                verdict = {"valid": False, "errors": ["exception: %s: %s" % (type(e).__name__, e)]}
            out.write(json.dumps(verdict) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
