#!/usr/bin/env bash
# Runs the figures recorded in benchmarks/README.md: 1 and 2 threads, 5 repetitions in random order, medians,
# and the ratios to the targets. Both sides of each comparison run in the same process, under the same
# OPENBLAS_CORETYPE (Haswell unless set, as in the other benchmarks).   Usage: benchmarks/run.sh [build dir]
set -euo pipefail
build=${1:-build}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-Haswell}
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(mktemp -d)
for threads in 1 2; do
  for program in matmul elementwise; do
    OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$build/benchmarks/${program}_benchmark" \
      --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
      --benchmark_out="$out/$program-$threads.json" --benchmark_out_format=json >/dev/null
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
def medians(path, counter):
    runs = json.load(open(path))["benchmarks"]
    return {r["run_name"]: r[counter] / 1e9 for r in runs if r.get("aggregate_name") == "median"}
print("| threads | shape | lamina GFLOP/s | OpenBLAS sgemm GFLOP/s | ratio (target >= 0.9) |\n|---|---|---|---|---|")
for t in (1, 2):
    m = medians(f"{sys.argv[1]}/matmul-{t}.json", "FLOP/s")
    for shape in ("256/784/256", "1024/1024/1024"):
        ours, blas = m[f"BM_LaminaMatmul/{shape}/real_time"], m[f"BM_OpenBlasSgemm/{shape}/real_time"]
        print(f"| {t} | {shape.replace('/', '·', 1).replace('/', '×')} | {ours:.1f} | {blas:.1f} | {ours / blas:.2f} |")
print("\n| threads | op | GB/s | memcpy GB/s | ratio (target >= 0.7) |\n|---|---|---|---|---|")
for t in (1, 2):
    e = medians(f"{sys.argv[1]}/elementwise-{t}.json", "bandwidth")
    copy = max(e["BM_Memcpy/real_time"], e["BM_MemcpyParallel/real_time"])
    for op in ("Add", "Mul", "Relu"):
        ours = e[f"BM_{op}/real_time"]
        print(f"| {t} | {op.lower()} | {ours:.1f} | {copy:.1f} | {ours / copy:.2f} |")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$out"
