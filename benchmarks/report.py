#!/usr/bin/python3
"""Turns a folder of benchmark results (the lists of records DIR/<name>.json that run.sh's items write, and
DIR/machine.json) into REPORT.md: the machine and the exact command, one table per benchmark with every
comparison as a ratio next to its target (met / not met), and PNG plots drawn with gnuplot.

    /usr/bin/python3 benchmarks/report.py --out DIR [--report PATH (default DIR/REPORT.md)]

Benchmarks it does not know (a new script's DIR/<name>.json) still get a table of their records, and any other
PNG in DIR is shown under them.
"""
import argparse
import glob
import json
import os
import subprocess
from collections import defaultdict
from statistics import median

# Targets from issue 7 (training step, time to accuracy), issue 5 (checkpoints) and issue 2 (kernels).
MATMUL_TARGET, ELEMENTWISE_TARGET = 0.9, 0.7
STEP_TARGETS = {"mlp": 0.9, "lenet": 1.0}
RSS_TARGET = 0.5
CHECKPOINT_TARGET = 0.8
KNOWN = ("kernels", "train_step", "time_to_accuracy", "checkpoint")


def fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def verdict(ratio, target, at_most):
    if ratio is None:
        return "—"
    met = ratio <= target if at_most else ratio >= target
    return "met" if met else "**not met**"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def bar_plot(path, title, ylabel, labels, series, hline=None):
    """A clustered bar chart (gnuplot, pngcairo): one cluster per label, one bar per series (name -> values).
    Returns the PNG's name, or None when there is nothing to draw."""
    if all(v is None for values in series.values() for v in values):
        return None
    data = path[:-4] + ".dat"
    with open(data, "w") as f:
        f.write("label " + " ".join(f'"{name}"' for name in series) + "\n")
        for i, label in enumerate(labels):
            f.write(f'"{label}" ' + " ".join("NaN" if v[i] is None else f"{v[i]:.6g}" for v in series.values()) + "\n")
    plots = [f'"{data}" using {j + 2}:xtic(1) title columnheader({j + 2})' for j in range(len(series))]
    if hline is not None:
        plots.append(f"{hline} with lines dashtype 2 linecolor rgb 'black' title 'target {hline}'")
    script = f"""set terminal pngcairo size 1000,420 font ',9'
set output '{path}'
set title '{title}'
set ylabel '{ylabel}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
set yrange [0:*]
set xtics rotate by -20
plot {', '.join(plots)}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(data)
    return os.path.basename(path)


class Report:
    def __init__(self, out, report_path):
        self.out, self.report_path = out, report_path
        self.lines, self.targets, self.images = [], [], []

    def image(self, name):
        if name is None:
            return
        rel = os.path.relpath(os.path.join(self.out, name), os.path.dirname(os.path.abspath(self.report_path)))
        self.images.append(name)
        self.lines.append(f"![{name}]({rel})\n")

    def target(self, what, measured, target_text, ok):
        self.targets.append((what, measured, target_text, ok))

    # --- 1. kernels ---
    def kernels(self, recs):
        self.lines.append("## 1. Kernels: lamina against OpenBLAS sgemm and memcpy\n")
        self.lines.append("Google Benchmark, medians of the repetitions (random interleaving), wall time. matmul and "
                          "conv2d in GFLOP/s next to `cblas_sgemm` called directly (for conv2d: on the forward pass's "
                          "im2col GEMM, [out_channels, in·k·k]·[in·k·k, batch·out²]); add/mul/relu in GB/s (bytes "
                          "each must move) next to the faster of memcpy on one thread and memcpy split over the "
                          "threads.\n")
        rows, labels, ratios = [], [], defaultdict(dict)
        keyed = defaultdict(dict)
        for r in recs:
            keyed[(r["case"], r["threads"])][(r["kernel"], r["impl"])] = r
        order = ["matmul", "conv2d forward", "conv2d fwd+bwd", "add", "mul", "relu"]
        ours_first = sorted((r for r in recs if r["impl"] == "lamina"),
                            key=lambda r: (order.index(r["kernel"]) if r["kernel"] in order else 99, r["case"], r["threads"]))
        for r in ours_first:
            others = keyed[(r["case"], r["threads"])]
            if "gbps" in r:
                refs = [o for (k, impl), o in others.items() if impl.startswith("memcpy")]
                ref = max(refs, key=lambda o: o["gbps"]) if refs else None
                ours, theirs, unit, target = r["gbps"], ref and ref["gbps"], "GB/s", ELEMENTWISE_TARGET
                ref_name = ref and ref["impl"]
            else:
                ref = next((o for (k, impl), o in others.items() if impl == "openblas_sgemm"), None)
                ours, theirs, unit = r["gflops"], ref and ref["gflops"], "GFLOP/s"
                target = MATMUL_TARGET if r["kernel"] == "matmul" else None
                ref_name = "openblas_sgemm"
            ratio = ours / theirs if theirs else None
            target_text = f"≥ {target}" if target else "(none set)"
            rows.append([r["kernel"], r["case"], r["threads"], f"{ours:.1f} {unit}",
                         f"{theirs:.1f} ({ref_name})" if theirs else "—", ratio, target_text,
                         verdict(ratio, target, False) if target else "—", r["load_average"]])
            label = f"{r['kernel']} {r['case'].split(' ')[0] if 'LeNet' not in r['case'] else r['case'].split(' ')[1]}"
            if label not in labels:
                labels.append(label)
            ratios[r["threads"]][label] = ratio
            if target and r["threads"] == 1:
                self.target(f"kernel {r['kernel']} {r['case']}, 1 thread (vs {ref_name})", ratio, target_text,
                            ratio is not None and ratio >= target)
        self.lines.append(table(["kernel", "case", "threads", "lamina", "reference", "ratio", "target", "",
                                 "load average"], rows))
        self.image(bar_plot(os.path.join(self.out, "kernels.png"), "Kernels: lamina / reference (OpenBLAS sgemm, memcpy)",
                            "ratio (higher is better)", labels,
                            {f"{t} thread(s)": [v.get(label) for label in labels] for t, v in sorted(ratios.items())},
                            hline=MATMUL_TARGET))

    # --- 2. training step ---
    def train_step(self, recs):
        self.lines.append("## 2. Training step: lamina against PyTorch 1.13\n")
        r0 = recs[0]
        self.lines.append(f"zero_grad, forward, cross-entropy, backward, SGD step (d2l's models and initialization); "
                          f"data {r0['data']}; each side run {r0['reps']} times alternately, a run's figure the "
                          f"median of its steps, the table the median over the runs. Peak RSS: getrusage of separate "
                          f"processes that train on one synthetic batch and do nothing else (both sides). Ratios are "
                          f"lamina / PyTorch: lower is better.\n")
        by = defaultdict(dict)
        for r in recs:
            by[(r["model"], r["batch"], r["threads"])][r["impl"]] = r
        rows, labels, step_ratio, rss_ratio = [], [], defaultdict(list), defaultdict(list)
        for (model, batch, threads), sides in by.items():
            lam, pt = sides.get("lamina"), sides.get("pytorch")
            if not (lam and pt):
                continue
            ratio, rss = lam["ms_per_step"] / pt["ms_per_step"], lam["peak_rss_mb"] / pt["peak_rss_mb"]
            target = STEP_TARGETS.get(model)
            rows.append([model, batch, threads, lam["ms_per_step"], pt["ms_per_step"], ratio,
                         f"≤ {target}" if target else "—", verdict(ratio, target, True) if target else "—",
                         f"{lam['samples_per_s']:.0f}", f"{pt['samples_per_s']:.0f}", f"{lam['peak_rss_mb']:.0f}",
                         f"{pt['peak_rss_mb']:.0f}", rss, verdict(rss, RSS_TARGET, True), lam["load_average"]])
            if f"{model} b{batch}" not in labels:
                labels.append(f"{model} b{batch}")
            step_ratio[threads].append(ratio)
            rss_ratio[threads].append(rss)
            if threads == 1:
                if target:
                    self.target(f"training step {model} b{batch}, 1 thread: ms/step vs PyTorch", ratio, f"≤ {target}",
                                ratio <= target)
                self.target(f"peak RSS {model} b{batch}, 1 thread: vs PyTorch", rss, f"≤ {RSS_TARGET}", rss <= RSS_TARGET)
        self.lines.append(table(["model", "batch", "threads", "lamina ms/step", "PyTorch ms/step", "ratio", "target", "",
                                 "lamina samples/s", "PyTorch samples/s", "lamina RSS MB", "PyTorch RSS MB",
                                 "RSS ratio", "RSS ≤ 0.5", "load average"], rows))
        series = {f"ms/step, {t} thread(s)": v for t, v in sorted(step_ratio.items())}
        series.update({f"peak RSS, {t} thread(s)": v for t, v in sorted(rss_ratio.items())})
        self.image(bar_plot(os.path.join(self.out, "train_step.png"), "Training step: lamina / PyTorch",
                            "ratio (lower is better)", labels, series, hline=1.0))

    # --- 5. time to accuracy ---
    def time_to_accuracy(self, recs):
        self.lines.append("## 5. Time to accuracy: lamina against PyTorch 1.13 (DDP over gloo at 2 ranks)\n")
        self.lines.append("lamina-train's default recipe on both sides (SGD, Nesterov momentum 0.9, weight decay 5e-4, "
                          "lr 0.1, 100 warm-up steps then cosine over 10 epochs, global batch 256, standardized "
                          "inputs, partial last batch dropped; LeNet with ReLU, max pooling and BatchNorm), 1 thread per rank. Wall time from the "
                          "first step to the end of the evaluation (whole test set, after every epoch) that reaches "
                          "the target; start-up and data loading left out on both sides. Repetitions are seeds; the "
                          "figure is the median over them. Ratio lamina / PyTorch: lower is better.\n")
        by = defaultdict(lambda: defaultdict(list))
        for r in recs:
            by[(r["model"], r["ranks"], r["target"])][r["impl"]].append(r)
        rows, labels, series = [], [], defaultdict(list)
        for (model, ranks, target), sides in by.items():
            med = {}
            for side, rs in sides.items():
                reached = [r for r in rs if r["reached"]]
                med[side] = (median(r["seconds"] for r in reached) if len(reached) * 2 > len(rs) else None,
                             median(r["epochs"] for r in rs), f"{len(reached)}/{len(rs)}")
            lam, pt = med.get("lamina"), med.get("pytorch")
            ratio = lam[0] / pt[0] if lam and pt and lam[0] and pt[0] else None
            rows.append([model, ranks, target, lam and lam[0], pt and pt[0], ratio, "≤ 1.0",
                         verdict(ratio, 1.0, True), lam and lam[1], pt and pt[1], lam and lam[2], pt and pt[2],
                         sides["lamina"][0]["load_average"]])
            labels.append(f"{model} {ranks} rank(s)")
            series["lamina"].append(lam and lam[0])
            series["PyTorch"].append(pt and pt[0])
            if target:
                self.target(f"time to accuracy {model} ≥ {target}, {ranks} rank(s): vs PyTorch", ratio, "≤ 1.0",
                            ratio is not None and ratio <= 1.0)
        self.lines.append(table(["model", "ranks", "target accuracy", "lamina s", "PyTorch s", "ratio", "target", "",
                                 "lamina epochs", "PyTorch epochs", "lamina reached", "PyTorch reached",
                                 "load average"], rows))
        self.image(bar_plot(os.path.join(self.out, "time_to_accuracy.png"), "Time to accuracy (median over seeds)",
                            "seconds (lower is better)", labels, dict(series)))

    # --- 6. checkpoints ---
    def checkpoint(self, recs):
        self.lines.append("## 6. Checkpoints: save/load against a plain write + fsync / read of the same bytes\n")
        self.lines.append("checkpoint_benchmark, 1 thread, the same disk in the same run, medians over rounds that each "
                          "run every variant once. Save includes the temp file, fsync, rename and directory fsync; "
                          "load includes the checksum and the parse. Cold: the file dropped from the page cache "
                          "first; warm: in the page cache. Ratio: checkpoint speed / plain speed (higher is better).\n")
        by = defaultdict(dict)
        for r in recs:
            by[(r["state_dict"], r["operation"])][r["impl"]] = r
        rows, labels, ratios = [], [], defaultdict(list)
        for (state, op), sides in by.items():
            lam, plain = sides["lamina"], sides["plain"]
            ratio = plain["seconds"] / lam["seconds"]
            rows.append([state, op, f"{plain['seconds']:.3f} s ({plain['mb_per_s']:.0f} MB/s)",
                         f"{lam['seconds']:.3f} s ({lam['mb_per_s']:.0f} MB/s)", ratio, f"≥ {CHECKPOINT_TARGET}",
                         verdict(ratio, CHECKPOINT_TARGET, False), lam["load_average"]])
            if op not in labels:
                labels.append(op)
            ratios[state].append(ratio)
            self.target(f"checkpoint {state}: {op}", ratio, f"≥ {CHECKPOINT_TARGET}", ratio >= CHECKPOINT_TARGET)
        self.lines.append(table(["state dict", "operation", "plain", "checkpoint", "ratio", "target", "",
                                 "load average"], rows))
        self.image(bar_plot(os.path.join(self.out, "checkpoint.png"), "Checkpoints: checkpoint speed / plain I/O",
                            "ratio (higher is better)", labels, dict(ratios), hline=CHECKPOINT_TARGET))

    def generic(self, name, recs):
        self.lines.append(f"## {name}\n")
        if not recs:
            self.lines.append("(no records)\n")
            return
        fields = list(dict.fromkeys(k for r in recs for k in r if k != "benchmark"))
        self.lines.append(table(fields, [[r.get(k, "") for k in fields] for r in recs[:80]]))
        if len(recs) > 80:
            self.lines.append(f"({len(recs) - 80} more records in {name}.json / {name}.csv)\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--report")
    args = parser.parse_args()
    report_path = args.report or os.path.join(args.out, "REPORT.md")
    machine = json.load(open(os.path.join(args.out, "machine.json")))
    results = {}
    for path in sorted(glob.glob(os.path.join(args.out, "*.json"))):
        name = os.path.basename(path)[:-5]
        data = json.load(open(path))
        # Only lists of flat records are results; other JSON an item leaves there (raw outputs) is not.
        if name != "machine" and isinstance(data, list) and all(isinstance(r, dict) for r in data):
            results[name] = data
    rep = Report(args.out, report_path)
    for name in KNOWN:
        if results.get(name):
            getattr(rep, name)(results[name])
    for name, recs in results.items():
        if name not in KNOWN:
            rep.generic(name, recs)
    for png in sorted(glob.glob(os.path.join(args.out, "*.png"))):
        if os.path.basename(png) not in rep.images:
            rep.image(os.path.basename(png))

    m = machine
    head = [f"# lamina benchmark report ({m['mode']})\n",
            f"Generated by `benchmarks/report.py` from `{m['out']}`; run {m['date']} at commit {m['commit']}.\n",
            "Command:\n", f"    {m['command']}\n",
            "## Machine and settings\n",
            table(["", ""], [["CPU", f"{m['cpu']} ({m['cores']} cores)"], ["memory", m["memory"]],
                             ["OS", m["os"]], ["OPENBLAS_CORETYPE", m["openblas_coretype"]],
                             ["threads", "set per benchmark: OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = the table's "
                                         "threads (1 per rank for multi-rank runs)"],
                             ["PyTorch", m["torch"]], ["load average (1, 5, 15 min) at start", m["load_start"]],
                             ["load average at end", m.get("load_end", "?")],
                             ["items", " ".join(f"{k} ({v})" for k, v in m.get("items", {}).items())]]),
            "The machine is shared: every comparison is measured side by side in the same run, and each table "
            "gives the load average when its figures were taken.\n",
            "## Targets\n"]
    if m["mode"] == "quick":
        head.append("This is a --quick run: tiny sizes and one repetition, to check that every harness works. Its "
                    "figures are not measurements, and the verdicts below mean nothing.\n")
    targets = [[what, measured, target, "met" if ok else "**not met**"] for what, measured, target, ok in rep.targets]
    head.append(table(["comparison (lamina / reference)", "measured", "target", ""], targets) if targets
                else "(no targets in this run)\n")
    with open(report_path, "w") as f:
        f.write("\n".join(head + rep.lines))


if __name__ == "__main__":
    main()
