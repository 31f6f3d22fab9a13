#!/usr/bin/env bash
# lamina's training step against PyTorch's, side by side: train_step_benchmark and train_step_pytorch.py run
# alternately (which one goes first alternates too) REPS times per model, under the same environment. Prints a
# table of medians over the repetitions with the ratios lamina / PyTorch, and writes every run and the table as
# JSON and CSV.
#
#   benchmarks/train_step.sh [-n REPS] [-m "mlp lenet"] [-t THREADS] [-b BATCH] [-s STEPS] [-w WARMUP]
#                            [-d fashion-mnist|synthetic] [-B BUILD_DIR] [-o OUT_DIR]
#
# Both sides get OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = THREADS and the same OPENBLAS_CORETYPE (Haswell unless
# set: see ../shared/ENVIRONMENT.md, "Timing"). A step's time is the median over its STEPS steps; the table shows
# the median of those over the repetitions, and the CPU time per step next to it (other jobs on a shared machine
# inflate the wall time). The load average is recorded before and after. For the MLP both programs also time the
# step's five GEMMs alone after every step; each side's step over that floor, and their ratio, is the comparison
# least disturbed by other jobs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
reps=7 models="mlp lenet" threads=1 batch=256 steps=200 warmup=20 data=fashion-mnist build=build out=""
while getopts "n:m:t:b:s:w:d:B:o:" opt; do
  case $opt in
    n) reps=$OPTARG ;; m) models=$OPTARG ;; t) threads=$OPTARG ;; b) batch=$OPTARG ;; s) steps=$OPTARG ;;
    w) warmup=$OPTARG ;; d) data=$OPTARG ;; B) build=$OPTARG ;; o) out=$OPTARG ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
  esac
done
out=${out:-$build/train_step}
mkdir -p "$out"
lamina="$build/benchmarks/train_step_benchmark"
[[ -x $lamina ]] || { echo "train_step.sh: $lamina not built" >&2; exit 1; }

export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
runs="$out/runs.jsonl"
: >"$runs"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
command="OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads $0 -n $reps -m \"$models\" -t $threads -b $batch -s $steps -w $warmup -d $data"
for rep in $(seq 1 "$reps"); do
  for model in $models; do
    args=("$model" "$batch" "$threads" "$steps" "$warmup" "$data")
    if (( rep % 2 )); then order="lamina pytorch"; else order="pytorch lamina"; fi
    for side in $order; do
      if [[ $side == lamina ]]; then line=$("$lamina" "${args[@]}")
      else line=$(/usr/bin/python3 "$here/train_step_pytorch.py" "${args[@]}"); fi
      echo "{\"rep\": $rep, \"load1\": $(cut -d' ' -f1 /proc/loadavg), ${line#\{}" >>"$runs"
      echo "rep $rep/$reps $side $model: $line" >&2
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$out" "$load_before" "$load_after" "$OPENBLAS_CORETYPE" "$command" <<'PY'
import csv, json, statistics, sys
out, load_before, load_after, coretype, command = sys.argv[1:]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl")]
median = statistics.median
rows = []
for model in dict.fromkeys(r["model"] for r in runs):
    side = {f: [r for r in runs if r["model"] == model and r["framework"] == f] for f in ("lamina", "pytorch")}
    m = {f: {k: median(r[k] for r in rs) for k in ("ms_median", "cpu_ms", "samples_per_s", "peak_rss_mb")}
         for f, rs in side.items()}
    # The ratio of each repetition's pair (run back to back), then the median of those.
    pair_ratio = median(a["ms_median"] / b["ms_median"] for a, b in zip(side["lamina"], side["pytorch"]))
    row = {"model": model, "batch": runs[0]["batch"], "threads": runs[0]["threads"], "reps": len(side["lamina"]),
           "lamina_ms": m["lamina"]["ms_median"], "pytorch_ms": m["pytorch"]["ms_median"],
           "ratio_ms": m["lamina"]["ms_median"] / m["pytorch"]["ms_median"], "ratio_ms_paired": pair_ratio,
           "lamina_cpu_ms": m["lamina"]["cpu_ms"], "pytorch_cpu_ms": m["pytorch"]["cpu_ms"],
           "ratio_cpu": m["lamina"]["cpu_ms"] / m["pytorch"]["cpu_ms"],
           "lamina_samples_per_s": m["lamina"]["samples_per_s"], "pytorch_samples_per_s": m["pytorch"]["samples_per_s"],
           "lamina_rss_mb": m["lamina"]["peak_rss_mb"], "pytorch_rss_mb": m["pytorch"]["peak_rss_mb"],
           "ratio_rss": m["lamina"]["peak_rss_mb"] / m["pytorch"]["peak_rss_mb"]}
    # Each side's step over its own GEMM floor, timed in the same process under the same load: the ratio of
    # those two is the comparison least disturbed by other jobs (the floors cancel the machine's speed).
    if all(r.get("gemm_floor_ms") for rs in side.values() for r in rs):
        over = {f: median(r["ms_median"] / r["gemm_floor_ms"] for r in rs) for f, rs in side.items()}
        row.update(lamina_gemm_floor_ms=median(r["gemm_floor_ms"] for r in side["lamina"]),
                   pytorch_gemm_floor_ms=median(r["gemm_floor_ms"] for r in side["pytorch"]),
                   lamina_over_floor=over["lamina"], pytorch_over_floor=over["pytorch"],
                   ratio_over_floor=over["lamina"] / over["pytorch"])
    rows.append(row)
summary = {"command": command, "openblas_coretype": coretype, "load_before": load_before, "load_after": load_after,
           "data": runs[0]["data"], "steps": runs[0]["steps"], "rows": rows}
json.dump(summary, open(f"{out}/train_step.json", "w"), indent=1)
with open(f"{out}/train_step.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
    w.writeheader()
    w.writerows(rows)
print(f"OPENBLAS_CORETYPE={coretype}, {rows[0]['threads']} thread(s), batch {rows[0]['batch']}, {summary['data']}, "
      f"{summary['steps']} steps per run, {rows[0]['reps']} alternating runs per side; load average {load_before} "
      f"before, {load_after} after")
print("| model | lamina ms/step (CPU) | PyTorch ms/step (CPU) | ratio (paired) | lamina samples/s | PyTorch samples/s "
      "| lamina peak RSS MB | PyTorch peak RSS MB | RSS ratio |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['model']} | {r['lamina_ms']:.2f} ({r['lamina_cpu_ms']:.2f}) | {r['pytorch_ms']:.2f} ({r['pytorch_cpu_ms']:.2f}) "
          f"| {r['ratio_ms']:.2f} ({r['ratio_ms_paired']:.2f}) | {r['lamina_samples_per_s']:.0f} | {r['pytorch_samples_per_s']:.0f} "
          f"| {r['lamina_rss_mb']:.0f} | {r['pytorch_rss_mb']:.0f} | {r['ratio_rss']:.2f} |")
for r in rows:
    if "ratio_over_floor" in r:
        print(f"\n{r['model']}: the step's five GEMMs alone (cblas_sgemm / torch.mm) took {r['lamina_gemm_floor_ms']:.2f} ms in "
              f"lamina's process and {r['pytorch_gemm_floor_ms']:.2f} ms in PyTorch's; step / floor: lamina "
              f"{r['lamina_over_floor']:.3f}, PyTorch {r['pytorch_over_floor']:.3f}, ratio {r['ratio_over_floor']:.2f}")
print(f"\n(JSON and CSV in {out})")
PY
