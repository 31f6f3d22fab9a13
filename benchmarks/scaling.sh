#!/usr/bin/env bash
# Data-parallel scaling, lamina DDP (MPI) against PyTorch DDP (gloo), side by side: weak scaling (per-rank batch 256)
# and strong scaling (global batch 256) at 1, 2 and 4 ranks, MLP and d2l's sigmoid LeNet, 1 thread per rank, one
# fixed random batch per rank (data loading is not part of a step). 4 ranks on this 2-core machine are
# oversubscribed (2 processes per core): their efficiency is at most ~0.5 by construction.
#
#   benchmarks/scaling.sh [--quick|--full] [--out DIR] [--build DIR] [--priority]
#
# --quick (CI, < 60 s): one repetition, 1 and 2 ranks, a few steps — it checks the harness, its figures mean little.
# Also, as the ceiling on this machine as it is (other jobs included): N independent lamina processes, each
# training alone at batch 256 (no DDP, no communication), at the same time — scaling "independent".
# --full: 5 repetitions; in each, every configuration runs once per framework, the two frameworks alternating
#   which goes first. A run's figure is the median step time over its steps (the slowest rank's); a configuration's
#   is the median over the repetitions, and its efficiency the median over the repetitions of that repetition's
#   1-rank time over its N-rank time (weak: T1/TN; strong: T1/(N·TN)), so that slow drifts of the machine's load
#   cancel out.
# Writes DIR/scaling.json (flat records: impl lamina|pytorch, model, scaling weak|strong, ranks, per_rank_batch,
# ms_median, samples_per_s, efficiency, and lamina's breakdown of a step) and DIR/scaling.csv; prints markdown tables.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/benchmark_args.sh"
program="$build/benchmarks/scaling_benchmark"
[[ -x $program ]] || { echo "scaling.sh: $program not built" >&2; exit 1; }
if [[ $mode == quick ]]; then reps=1 ranks_list="1 2" mlp_steps="20 3" lenet_steps="4 2"
else reps=5 ranks_list="1 2 4" mlp_steps="200 20" lenet_steps="40 5"; fi

lines="$out/scaling.jsonl"
: >"$lines"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$reps"); do
  for model in mlp lenet; do
    steps=$mlp_steps; [[ $model == lenet ]] && steps=$lenet_steps
    for ranks in $ranks_list; do
      for scaling in weak strong independent; do
        ((ranks == 1)) && [[ $scaling != weak ]] && continue  # the same run as weak at 1 rank
        batch=256; [[ $scaling == strong ]] && batch=$((256 / ranks))
        if (( (rep + ranks) % 2 )); then order="lamina pytorch"; else order="pytorch lamina"; fi
        [[ $scaling == independent ]] && order=lamina
        for impl in $order; do
          if [[ $impl == lamina ]]; then
            mode_arg=ddp; [[ $scaling == independent ]] && mode_arg=independent
            line=$(mpirun -n "$ranks" --oversubscribe "$program" "$model" "$batch" $steps $mode_arg)
          else
            line=$(/usr/bin/python3 "$here/scaling_pytorch.py" "$model" "$ranks" "$batch" $steps)
          fi
          echo "{\"rep\": $rep, \"scaling\": \"$scaling\", \"load1\": $(cut -d' ' -f1 /proc/loadavg), ${line#\{}" >>"$lines"
          echo "rep $rep/$reps $impl $model $scaling ${ranks} rank(s): $line" >&2
        done
      done
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$out" "$mode" "$load_before" "$load_after" <<'PY'
import csv, json, os, statistics, sys
out, mode, load_before, load_after = sys.argv[1:]
priority = os.environ.get("LAMINA_BENCHMARK_PRIORITY") == "1"
runs = [json.loads(l) for l in open(f"{out}/scaling.jsonl")]
median = statistics.median
records = []
for key in dict.fromkeys((r["impl"], r["model"], r["scaling"], r["ranks"]) for r in runs):
    impl, model, scaling, n = key
    mine = [r for r in runs if (r["impl"], r["model"], r["scaling"], r["ranks"]) == key]
    ones = {r["rep"]: r for r in runs if (r["impl"], r["model"], r["ranks"]) == (impl, model, 1)}
    # Each repetition's 1-rank run over its N-rank run (strong: over N times it).
    per_rep = [ones[r["rep"]]["ms_median"] / r["ms_median"] / (n if scaling == "strong" else 1) for r in mine]
    rec = {"benchmark": "scaling", "impl": impl, "model": model, "scaling": scaling, "ranks": n,
           "oversubscribed": n > 2, "per_rank_batch": mine[0]["per_rank_batch"],
           "global_batch": mine[0]["per_rank_batch"] * n, "reps": len(mine),
           "ms_median": median(r["ms_median"] for r in mine),
           "samples_per_s": median(r["samples_per_s"] for r in mine), "efficiency": median(per_rep),
           "efficiency_min": min(per_rep), "efficiency_max": max(per_rep)}
    for k in ("ms_mean", "compute_ms", "exposed_comm_ms", "optimizer_ms", "hidden_fraction", "buckets", "gradient_bytes",
              "page_faults_per_step"):
        if k in mine[0]:
            rec[k] = median(r[k] for r in mine)
    rec.update(mode=mode, priority=priority, load_before=load_before, load_after=load_after,
               load1_median=median(r["load1"] for r in mine))
    records.append(rec)
json.dump(records, open(f"{out}/scaling.json", "w"), indent=1)
with open(f"{out}/scaling.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in records for k in r)))
    w.writeheader()
    w.writerows(records)

def get(impl, model, scaling, n):
    return next((r for r in records if (r["impl"], r["model"], r["scaling"], r["ranks"]) == (impl, model, scaling, n)), None)

print(f"data-parallel scaling, 1 thread per rank, OPENBLAS_CORETYPE=Haswell, {mode} mode, "
      f"{records[0]['reps']} repetition(s); load average {load_before} before, {load_after} after"
      + ("; run at --priority" if priority else ""))
for scaling, what in (("weak", "per-rank batch 256"), ("strong", "global batch 256")):
    print(f"\n{scaling} scaling ({what}); efficiency = median over repetitions (min–max)"
          + ("; the last column: N independent processes without communication, the machine's ceiling" if scaling == "weak" else "") + "\n")
    print("| model | ranks | lamina ms/step | lamina samples/s | lamina efficiency | PyTorch ms/step | "
          "PyTorch samples/s | PyTorch efficiency |" + (" independent processes efficiency |" if scaling == "weak" else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|" if scaling == "weak" else ""))
    for model in ("mlp", "lenet"):
        for n in sorted({r["ranks"] for r in records}):
            row = [get(impl, model, "weak" if n == 1 else scaling, n) for impl in ("lamina", "pytorch")]
            if None in row:
                continue
            cells = [f"{r['ms_median']:.2f} | {r['samples_per_s']:.0f} | {r['efficiency']:.3f} "
                     f"({r['efficiency_min']:.2f}–{r['efficiency_max']:.2f})" for r in row]
            label = f"{n} (oversubscribed)" if n > 2 else str(n)
            if scaling == "weak":
                ceiling = get("lamina", model, "independent", n) if n > 1 else row[0]
                cells.append(f"{ceiling['efficiency']:.3f} ({ceiling['efficiency_min']:.2f}–{ceiling['efficiency_max']:.2f})"
                             if ceiling else "")
            print(f"| {model} | {label} | " + " | ".join(cells) + " |")
print("\nlamina, where a step's time goes (ms, means over steps and ranks, medians over repetitions): forward + "
      "backward computation, all-reduce wait exposed after backward, optimizer; share of all-reduce time hidden behind "
      "backward\n")
print("| model | scaling | ranks | mean step | compute | exposed all-reduce | optimizer | hidden | buckets |")
print("|---|---|---|---|---|---|---|---|---|")
for r in records:
    if r["impl"] == "lamina" and r["ranks"] > 1 and r["scaling"] != "independent":
        print(f"| {r['model']} | {r['scaling']} | {r['ranks']} | {r['ms_mean']:.3f} | {r['compute_ms']:.3f} | "
              f"{r['exposed_comm_ms']:.3f} | {r['optimizer_ms']:.3f} | {r['hidden_fraction']:.2f} | {r['buckets']:.0f} |")
print(f"\n(JSON and CSV in {out})")
PY
