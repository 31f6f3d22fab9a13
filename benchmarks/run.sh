#!/usr/bin/env bash
# The benchmark suite in one command: runs every item, writes DIR/<item>.json and .csv, then DIR/REPORT.md with
# tables, ratios against the targets and PNG plots (benchmarks/report.py).
#
#   benchmarks/run.sh [--quick|--full] [--out DIR] [--build DIR]
#
#   --quick  checks that every harness works: tiny sizes, one repetition, no speed assertions (CI; < 2 minutes)
#   --full   the figures (the default; about 30 minutes on 2 cores). With the default --out, the report is also
#            written to benchmarks/REPORT.md (its plots and data stay in benchmarks/report/).
#   --out    results folder (default benchmarks/report for --full, build/benchmark-quick for --quick)
#   --build  lamina's build folder (default build)
#
# Items: kernels.py, train_step.py, time_to_accuracy.py, checkpoint.py, and allreduce.sh, scaling.sh and
# cost_model.py when they are there; each is called as `ITEM --quick|--full --out DIR --build DIR` under a time
# limit, and one that fails or runs out of time is reported and the others still run. Every item sets its thread
# counts (OMP_NUM_THREADS = OPENBLAS_NUM_THREADS) per run; OPENBLAS_CORETYPE is Haswell unless set, on both sides.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=full out="" build=build
while (($#)); do
  case $1 in
    --quick) mode=quick ;;
    --full) mode=full ;;
    --out) out=$2; shift ;;
    --build) build=$2; shift ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
  esac
  shift
done
default_out=$([[ $mode == full ]] && echo "$here/report" || echo "$build/benchmark-quick")
out=${out:-$default_out}
mkdir -p "$out"
out=$(cd "$out" && pwd) build=$(cd "$build" && pwd)
rm -f "$out"/*.json "$out"/*.csv "$out"/*.png "$out"/REPORT.md
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
# Per-item limit, against hangs (--quick takes ~1 minute in all on a quiet machine; ctest runs it among other tests).
limit=$([[ $mode == quick ]] && echo 150 || echo 2400)
start=$(date +%s)
echo "benchmarks/run.sh --$mode: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, load average $(cut -d' ' -f1-3 /proc/loadavg), results in $out"

/usr/bin/python3 - "$out" "$mode" "$0 --$mode --out $out --build $build" "$here" <<'PY'
import datetime, json, os, platform, subprocess, sys
out, mode, command, here = sys.argv[1:]
info = dict(l.split(":", 1) for l in open("/proc/cpuinfo").read().split("\n\n")[0].splitlines() if ":" in l)
info = {k.strip(): v.strip() for k, v in info.items()}
avx512 = ", AVX-512" if "avx512f" in info.get("flags", "") else ""
cpu = f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}{avx512})"
mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
os_name = next((l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME")), "?")
torch = subprocess.run(["/usr/bin/python3", "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout.strip()
commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
json.dump({"mode": mode, "out": out, "command": f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} {command}",
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "commit": commit or "?",
           "cpu": f"{cpu}, {platform.machine()}", "cores": os.cpu_count(), "memory": f"{mem_kb / 2**20:.1f} GiB",
           "os": f"{os_name}, Linux {platform.release()}", "openblas_coretype": os.environ["OPENBLAS_CORETYPE"],
           "torch": f"{torch} (/usr/bin/python3)", "load_start": " ".join(open("/proc/loadavg").read().split()[:3])},
          open(f"{out}/machine.json", "w"), indent=1)
PY

failed=()
items=()
for item in kernels.py train_step.py time_to_accuracy.py checkpoint.py allreduce.sh scaling.sh cost_model.py; do
  if [[ ! -f $here/$item ]]; then
    echo "note: benchmarks/$item is not there (yet): skipped"
    items+=("${item%.*}=missing")
    continue
  fi
  interpreter=$([[ $item == *.py ]] && echo /usr/bin/python3 || echo bash)
  t0=$(date +%s)
  echo "== $item --$mode (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  timeout --kill-after=10 "$limit" "$interpreter" "$here/$item" "--$mode" --out "$out" --build "$build"
  status=$?
  seconds=$(($(date +%s) - t0))
  if ((status != 0)); then
    failed+=("$item")
    items+=("${item%.*}=FAILED(exit $status after ${seconds}s)")
    echo "== $item FAILED (exit $status after ${seconds} s)"
  else
    items+=("${item%.*}=${seconds}s")
  fi
done

/usr/bin/python3 - "$out" "${items[@]}" <<'PY'
import json, sys
path = f"{sys.argv[1]}/machine.json"
m = json.load(open(path))
m["load_end"] = " ".join(open("/proc/loadavg").read().split()[:3])
m["items"] = dict(i.split("=", 1) for i in sys.argv[2:])
json.dump(m, open(path, "w"), indent=1)
PY
report_args=(--out "$out")
[[ $mode == full && $out == "$here/report" ]] && report_args+=(--report "$here/REPORT.md")
/usr/bin/python3 "$here/report.py" "${report_args[@]}" || failed+=(report.py)
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - start)) s in all; report: ${report_args[-1]}"
((${#failed[@]} == 0)) || { echo "failed: ${failed[*]}" >&2; exit 1; }
