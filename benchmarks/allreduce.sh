#!/usr/bin/env bash
# All-reduce, side by side: lamina's MpiProcessGroup against raw MPI_Allreduce of the same bytes (interleaved in one
# MPI job: allreduce_benchmark) and torch.distributed over gloo (allreduce_gloo.py, right after), float32 sum in
# place, 4 KiB to 64 MiB, at 2 and 4 ranks. 4 ranks on this 2-core machine are oversubscribed (2 processes per core,
# Open MPI then binds none): those figures measure time slicing as much as communication.
#
#   benchmarks/allreduce.sh [--quick|--full] [--out DIR] [--build DIR] [--priority]
#
# --quick (CI, < 60 s): 2 ranks, up to 1 MiB, few repetitions — it checks the harness, its figures mean little.
# --full: 2 and 4 ranks, up to 64 MiB, medians of 60 repetitions up to 1 MiB and 15 above.
# Writes DIR/allreduce.json (flat records: impl mpi|lamina|gloo, ranks, bytes, latency_us, algbw_GBps, busbw_GBps)
# and DIR/allreduce.csv, and prints a markdown table. Bus bandwidth = 2(n-1)/n · bytes / time (what each rank's link
# carries in a ring all-reduce), algorithm bandwidth = bytes / time. Default malloc settings (no GLIBC_TUNABLES).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/benchmark_args.sh"
program="$build/benchmarks/allreduce_benchmark"
[[ -x $program ]] || { echo "allreduce.sh: $program not built" >&2; exit 1; }
if [[ $mode == quick ]]; then ranks_list="2" reps=3 max_bytes=$((1 << 20))
else ranks_list="2 4" reps=15 max_bytes=$((64 << 20)); fi

lines="$out/allreduce.jsonl"
: >"$lines"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ranks in $ranks_list; do
  mpirun -n "$ranks" --oversubscribe "$program" "$reps" "$max_bytes" >>"$lines"
  /usr/bin/python3 "$here/allreduce_gloo.py" "$ranks" "$reps" "$max_bytes" >>"$lines"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$out" "$mode" "$load_before" "$load_after" <<'PY'
import csv, json, os, sys
out, mode, load_before, load_after = sys.argv[1:]
priority = os.environ.get("LAMINA_BENCHMARK_PRIORITY") == "1"
records = []
for line in open(f"{out}/allreduce.jsonl"):
    r = json.loads(line)
    n, b, s = r["ranks"], r["bytes"], r["seconds"]
    records.append({"benchmark": "allreduce", "impl": r["impl"], "variant": r.get("variant", "dist.all_reduce"),
                    "ranks": n, "oversubscribed": n > 2, "bytes": b, "reps": r["reps"], "latency_us": s * 1e6,
                    "algbw_GBps": b / s / 1e9, "busbw_GBps": 2 * (n - 1) / n * b / s / 1e9,
                    "faults_per_call": r.get("faults_per_call"), "mode": mode, "priority": priority,
                    "load_before": load_before, "load_after": load_after})
json.dump(records, open(f"{out}/allreduce.json", "w"), indent=1)
with open(f"{out}/allreduce.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(records[0]))
    w.writeheader()
    w.writerows(records)

def find(impl, variant, n, b):
    return next((r for r in records if r["impl"] == impl and r["variant"].startswith(variant) and r["ranks"] == n
                 and r["bytes"] == b), None)

def busbw(r):
    return f"{r['busbw_GBps']:.2f}" if r else "—"

def size(b):
    return f"{b >> 20} MiB" if b >= 1 << 20 else f"{b >> 10} KiB"

print(f"all-reduce, float32 sum, OPENBLAS_CORETYPE=Haswell, 1 thread per rank, default malloc; {mode} mode; "
      f"load average {load_before} before, {load_after} after" + ("; run at --priority" if priority else ""))
print("| ranks | size | MPI µs | lamina µs | gloo µs | MPI busbw GB/s | lamina busbw GB/s | lamina no-check busbw | "
      "lamina MPI-only busbw | lamina symmetric busbw | gloo busbw GB/s | lamina / MPI speed | lamina algbw GB/s | "
      "page faults per call: MPI / lamina |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for n in sorted({r["ranks"] for r in records}):
    for b in sorted({r["bytes"] for r in records if r["ranks"] == n}):
        m, l, u, o, g = find("mpi", "MPI", n, b), find("lamina", "MpiProcessGroup", n, b), \
            find("lamina", "MpiProcessGroup, no", n, b), find("lamina", "MpiProcessGroup, MPI only", n, b), \
            find("gloo", "", n, b)
        s = find("lamina", "MpiProcessGroup, symmetric", n, b)
        label = f"{n} (oversubscribed)" if n > 2 else str(n)
        print(f"| {label} | {size(b)} | {m['latency_us']:.0f} | {l['latency_us']:.0f} | {g['latency_us']:.0f} "
              f"| {m['busbw_GBps']:.2f} | {l['busbw_GBps']:.2f} | {u['busbw_GBps']:.2f} | {o['busbw_GBps']:.2f} | {busbw(s)} "
              f"| {g['busbw_GBps']:.2f} "
              f"| {m['latency_us'] / l['latency_us']:.3f} | {l['algbw_GBps']:.2f} "
              f"| {m['faults_per_call']:.0f} / {l['faults_per_call']:.0f} |")
print(f"\n(JSON and CSV in {out})")
PY
