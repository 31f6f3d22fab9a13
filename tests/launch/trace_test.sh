#!/usr/bin/env bash
# lamina-train --trace at 2 ranks: the job writes a Chrome trace that parses as JSON and holds, for both ranks and
# every training step, a "forward + backward" span, each bucket's "ready" instant and "all-reduce" span (launched
# after ready, done after launched), and it prints the share of all-reduce time hidden behind backward.
#   trace_test.sh MPIRUN LAMINA_TRAIN WORK_DIR TRAIN_ARGS...     (TRAIN_ARGS must give --epochs 1)
set -uo pipefail
mpirun=$1 train=$2 dir=$3
shift 3
rm -rf "$dir" && mkdir -p "$dir"
"$mpirun" -n 2 --oversubscribe "$train" "$@" --trace "$dir/trace.json" --metrics "$dir/metrics.jsonl" >"$dir/out.txt" 2>&1
status=$?
tr '\r' '\n' <"$dir/out.txt" | grep -v '^epoch [0-9]*/[0-9]* \['
((status == 0)) || { echo "FAIL: lamina-train exited with $status"; exit 1; }
grep -qE 'all-reduce time hidden behind backward: [0-9.]+% \(mean over 2 ranks\)' "$dir/out.txt" ||
  { echo "FAIL: no 'hidden behind backward' line"; exit 1; }
/usr/bin/python3 - "$dir" <<'PY' || exit 1
import json, sys
d = sys.argv[1]
events = json.load(open(f"{d}/trace.json"))["traceEvents"]
steps = sum(1 for l in open(f"{d}/metrics.jsonl") if json.loads(l)["event"] == "step")
hidden = [json.loads(l) for l in open(f"{d}/metrics.jsonl") if json.loads(l)["event"] == "trace"]
def fail(why):
    sys.exit(f"FAIL: {why}")
if not hidden or not 0 <= hidden[0]["hidden_fraction"] <= 1: fail(f"no trace line with a fraction in the metrics: {hidden}")
for rank in (0, 1):
    mine = [e for e in events if e["pid"] == rank]
    spans = [e for e in mine if e["name"] == "forward + backward"]
    if len(spans) != steps: fail(f"rank {rank}: {len(spans)} forward + backward spans for {steps} steps")
    ready = {(e["tid"], round(e["ts"], 1)) for e in mine if e["name"].endswith(" ready")}
    reduces = [e for e in mine if e["name"].endswith(" all-reduce")]
    if not reduces or len(reduces) % steps: fail(f"rank {rank}: {len(reduces)} bucket all-reduces for {steps} steps")
    if len(ready) != len(reduces): fail(f"rank {rank}: {len(ready)} ready events, {len(reduces)} all-reduces")
    for e in reduces:
        if e["ph"] != "X" or e["dur"] < 0: fail(f"bad all-reduce event {e}")
        if not any(tid == e["tid"] and ts <= e["ts"] + 0.1 for tid, ts in ready): fail(f"launched before ready: {e}")
print(f"PASS trace: {len(events)} events, {steps} steps, hidden {hidden[0]['hidden_fraction']:.3f}")
PY
