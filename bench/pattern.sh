#!/usr/bin/env bash
# Pattern evaluation and parsing: Accord against stix2-matcher 3.0.0 (the
# peer's own workloads, ../shared/peers/bench_matcher.py), in one run.
#
#   bash bench/pattern.sh            # about 3 minutes
#
# Prints both sides' figures and the ratios; keeps the raw output in
# bench/runs/<date>-<host>/pattern.txt.
source "$(dirname "$0")/common.sh"
PY="$(peer_python)"
"$PY" -c 'import stix2matcher' 2>/dev/null || "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements-test.txt" >&2
(cd "$ROOT" && cargo build --release --locked -p accord-pattern --example pattern_bench >&2)
OUT="$(run_file pattern)"
PEER_JSON="$DATA/matcher-peer.json"
{
  echo "# $(date -u +%FT%TZ) $(machine); load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "## stix2-matcher (bench_matcher.py --runs 3 --n 1000)"
  "$PY" "$SHARED/peers/bench_matcher.py" --runs 3 --count 5000 --n 1000 --json "$PEER_JSON" 2>&1 | tail -1
  echo "## accord-pattern (pattern_bench)"
  "$ROOT/target/release/examples/pattern_bench" | tee "$DATA/pattern-accord.jsonl"
  echo "## ratios (Accord / stix2-matcher, per evaluation)"
  "$PY" - "$PEER_JSON" "$DATA/pattern-accord.jsonl" <<'PYEOF'
import json, sys
peer = json.load(open(sys.argv[1]))
ours = {j["name"]: j for j in map(json.loads, open(sys.argv[2]))}
def p(name):
    return peer[name]["evaluations_per_s"]["median"]
rows = [
    ("single comparison, compiled, match (observation read each time)", "single_compiled_match", "single_compiled_match"),
    ("single comparison, compiled, match (observation read once)", "single_compiled_match", "single_match_prepared_observations"),
    ("single comparison, compiled, no match", "single_compiled_nomatch", "single_compiled_nomatch"),
    ("single comparison, parse + match each time", "single_parse_and_match", "single_parse_and_match"),
    ("(A OR B ISSUBSET cidr) AND C WITHIN 300 SECONDS", "compound_and_or_within", "compound_and_or_within"),
    ("A REPEATS 2 TIMES WITHIN 300 SECONDS", "compound_repeats_within", "compound_repeats_within"),
]
for label, pk, ok in rows:
    print(f"{label}: accord {ours[ok]['per_s']:,.0f}/s, stix2-matcher {p(pk):,.0f}/s, ratio {ours[ok]['per_s']/p(pk):,.0f}x")
n = peer["n_1000"]["seconds_per_observation"]["median"]
for k in ("compiled_index_n_1000", "compiled_index_n_1000000", "evaluator_loop_n_1000"):
    s = ours[k]["seconds_per_observation"]
    print(f"one observation vs {k}: accord {s*1e6:.3f} us, stix2-matcher N=1000 {n*1e3:.1f} ms, ratio {n/s:,.0f}x")
i1k, i1m = ours["compiled_index_n_1000"], ours["compiled_index_n_1000000"]
print(f"index lookup cost 1,000,000 vs 1,000 indicators: {i1k['per_s']/i1m['per_s']:.2f}x the time")
print(f"parse JSON lines: {ours['parse_jsonl']['per_s']:,.0f} patterns/s ({ours['parse_jsonl']['patterns']:,} patterns)")
PYEOF
} 2>&1 | tee "$OUT"
