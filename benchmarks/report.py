#!/usr/bin/python3
"""Turns a folder of benchmark results (the lists of records DIR/<name>.json that run.sh's items write, and
DIR/machine.json) into REPORT.md: the machine and the exact command, a summary of the targets, then one section
per item of issue 7 (1 kernels ... 7 cost model; the cost model's inputs from DIR/cost_model_inputs.json), each a
table with every comparison as a ratio next to its target (met / not met) and a PNG plot drawn with gnuplot.

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

# Targets from issue 7 (training step, all-reduce, scaling, time to accuracy), issue 5 (checkpoints) and issue 2
# (kernels).
MATMUL_TARGET, ELEMENTWISE_TARGET = 0.9, 0.7
STEP_TARGETS = {"mlp": 0.9, "lenet": 1.0}
RSS_TARGET = 0.5
ALLREDUCE_RATIO_TARGET, ALLREDUCE_RATIO_SIZES = 0.95, (1 << 20, 2 << 20, 4 << 20, 8 << 20)  # 2 ranks, vs raw MPI
ALLREDUCE_BUSBW_TARGET, ALLREDUCE_BUSBW_SIZES = 3.5, (32 << 20, 64 << 20)  # 2 ranks, GB/s
WEAK_SCALING_TARGETS = {"mlp": 0.90, "lenet": 0.95}  # efficiency at 2 ranks
CHECKPOINT_TARGET = 0.8
# In the order of issue 7's items: the report's sections and its summary of targets follow it.
KNOWN = ("kernels", "train_step", "allreduce", "scaling", "time_to_accuracy", "checkpoint", "cost_model")
ALLREDUCE_NAMES = {"MPI_Allreduce": "raw MPI", "MpiProcessGroup": "lamina",
                   "MpiProcessGroup, no signature check": "lamina, no signature check",
                   "MpiProcessGroup, MPI only": "lamina, MPI only",
                   "MpiProcessGroup, symmetric tensor": "lamina, symmetric tensor", "dist.all_reduce": "gloo"}


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def verdict(ratio, target, at_most):
    if ratio is None:
        return "—"
    met = ratio <= target if at_most else ratio >= target
    return "met" if met else "**not met**"


def size_label(nbytes):
    return f"{nbytes >> 20} MiB" if nbytes >= 1 << 20 else f"{nbytes >> 10} KiB"


def ranks_label(n):
    return f"{n} (oversubscribed)" if n > 2 else str(n)


def run_load(rec):
    """The load average around a script's run (allreduce.sh and scaling.sh record it in every record)."""
    priority = " (run at --priority: a session of its own at nice -20)" if rec.get("priority") else ""
    return f"Load average {rec['load_before']} before, {rec['load_after']} after{priority}"


def spread(rec):
    """A median over repetitions with its min–max."""
    if rec is None:
        return None
    e = f"{rec['efficiency']:.3f}"
    return f"{e} ({rec['efficiency_min']:.2f}–{rec['efficiency_max']:.2f})" if rec["reps"] > 1 else e


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


def line_plot(path, ylabel, xlabel, panels, logx=False, xtics=None):
    """Lines through points (gnuplot, pngcairo), panels side by side: panels is a list of (title, series, hlines),
    series maps a name to its [(x, y)] (a name keeps its colour in every panel), hlines are (y, title) dashed lines.
    xtics maps a label to its x. Returns the PNG's name, or None when there is nothing to draw."""
    names = list(dict.fromkeys(name for _, series, _ in panels for name in series))
    if not names:
        return None
    colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
    script = [f"set terminal pngcairo size {560 * len(panels)},520 font ',9'", f"set output '{path}'",
              f"set multiplot layout 1,{len(panels)}", f"set xlabel '{xlabel}'", f"set ylabel '{ylabel}'",
              "set grid", "set key below font ',8'", "set yrange [0:*]"]
    if logx:
        script.append("set logscale x 2")
    if xtics:
        script.append("set xtics (" + ", ".join(f"'{label}' {x}" for label, x in xtics.items()) + ")")
    for i, (title, series, hlines) in enumerate(panels):
        plots = []
        for name, points in series.items():
            k = names.index(name)
            script += [f"$p{i}_{k} << EOD"] + [f"{x} {y:.6g}" for x, y in points] + ["EOD"]
            plots.append(f"$p{i}_{k} with linespoints lw 2 pt 7 ps 0.7 lc rgb '{colors[k % len(colors)]}' "
                         f"title '{name}'")
        plots += [f"{y} with lines dashtype {j + 2} linecolor rgb 'black' title '{t}'"
                  for j, (y, t) in enumerate(hlines)]
        script += [f"set title '{title}'", "plot " + ", ".join(plots)]
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=True)
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
        """A row of the summary; ok None: a figure shown there without a target."""
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

    # --- 3. communication ---
    def allreduce(self, recs):
        self.lines.append("## 3. Communication: lamina's MpiProcessGroup against raw MPI_Allreduce and gloo\n")
        r0, reps = recs[0], sorted({r["reps"] for r in recs})
        self.lines.append(f"allreduce_benchmark: one MPI job that times `MPI_Allreduce(MPI_IN_PLACE)` of a float32 "
                          f"tensor (sum), `MpiProcessGroup::allreduce(t)->wait()` on the same tensor (with and without "
                          f"its signature check, and with its shared-memory channel turned off: MPI only), and on a "
                          f"symmetric tensor of the same size (`allocate_symmetric`, what DDP's buckets are: reduced in "
                          f"place in shared memory; 2 ranks only), each in "
                          f"blocks of 5 calls (the first untimed: the steady state of a training loop), the blocks in "
                          f"an order shuffled every round, each call after a barrier, the slowest rank's time; then "
                          f"torch.distributed over gloo (`dist.all_reduce`, same sizes and timing). Medians of "
                          f"{'–'.join(map(str, reps))} calls, 1 thread per rank, default malloc. Algorithm "
                          f"bandwidth = bytes / time; bus bandwidth = 2(n−1)/n · bytes / time (what each rank's link "
                          f"carries in a ring). Ratio: raw MPI time / lamina time (higher is better). 4 ranks on this "
                          f"2-core machine are **oversubscribed** (two ranks per core): those rows measure time slicing "
                          f"as much as communication. {run_load(r0)}.\n")
        by = defaultdict(dict)
        for r in recs:
            by[(r["ranks"], r["bytes"])][ALLREDUCE_NAMES.get(r["variant"], f"{r['impl']} {r['variant']}")] = r
        rows, series = [], defaultdict(lambda: defaultdict(list))
        for (n, nbytes), sides in sorted(by.items()):
            mpi, lam, gloo = sides.get("raw MPI"), sides.get("lamina"), sides.get("gloo")
            unchecked, mpi_only = sides.get("lamina, no signature check"), sides.get("lamina, MPI only")
            symmetric = sides.get("lamina, symmetric tensor")
            ratio = mpi["latency_us"] / lam["latency_us"] if mpi and lam else None
            goal = None  # (what the target is on, the figure, the target, its unit)
            if n == 2 and nbytes in ALLREDUCE_RATIO_SIZES:
                goal = ("lamina speed vs raw MPI_Allreduce", ratio, ALLREDUCE_RATIO_TARGET, "× raw MPI")
            elif n == 2 and nbytes in ALLREDUCE_BUSBW_SIZES and lam:
                goal = ("lamina bus bandwidth (GB/s)", lam["busbw_GBps"], ALLREDUCE_BUSBW_TARGET, " GB/s busbw")
            if goal:
                what, measured, target, unit = goal
                self.target(f"all-reduce {size_label(nbytes)}, 2 ranks: {what}", measured, f"≥ {target}",
                            measured is not None and measured >= target)
            busbw = [side and side["busbw_GBps"] for side in (mpi, lam, unchecked, mpi_only, symmetric, gloo)]
            faults = f"{mpi['faults_per_call']:.0f} / {lam['faults_per_call']:.0f}" \
                if mpi and lam and mpi.get("faults_per_call") is not None else None
            rows.append([ranks_label(n), size_label(nbytes)] + [side and side["latency_us"] for side in (mpi, lam, gloo)]
                        + busbw + [lam and lam["algbw_GBps"], ratio, f"≥ {target}{unit}" if goal else "—",
                                   verdict(measured, target, False) if goal else "—", faults])
            for name, side in sides.items():
                series[n][name].append((nbytes, side["busbw_GBps"]))
        self.lines.append(table(["ranks", "size", "raw MPI µs", "lamina µs", "gloo µs", "raw MPI busbw GB/s",
                                 "lamina busbw GB/s", "lamina, no signature check, busbw",
                                 "lamina, MPI only, busbw", "lamina, symmetric tensor, busbw", "gloo busbw GB/s",
                                 "lamina algbw GB/s", "ratio (speed vs raw MPI)", "target", "",
                                 "page faults per call, raw MPI / lamina"], rows))
        target_line = (ALLREDUCE_BUSBW_TARGET, f"target at 32–64 MiB: {ALLREDUCE_BUSBW_TARGET} GB/s")
        panels = [(f"All-reduce, {n} ranks{' (oversubscribed)' if n > 2 else ''}", dict(s),
                   [target_line] if n == 2 else []) for n, s in sorted(series.items())]
        sizes = sorted({r["bytes"] for r in recs})
        self.image(line_plot(os.path.join(self.out, "allreduce.png"), "bus bandwidth, GB/s (higher is better)",
                             "message size (float32 sum, log scale)", panels, logx=True,
                             xtics={size_label(b): b for b in sizes[::2]}))

    # --- 4. scaling ---
    def scaling(self, recs):
        self.lines.append("## 4. Scaling: lamina DDP (MPI) against PyTorch DDP (gloo)\n")
        r0 = recs[0]
        self.lines.append(f"scaling_benchmark (`mpirun -n N`, DistributedDataParallel over MpiProcessGroup) and "
                          f"scaling_pytorch.py (N processes, torch DDP over gloo) alternately, {r0['reps']} "
                          f"repetition(s), 1 thread per rank; a step is zero_grad, forward, cross-entropy, backward "
                          f"and SGD step on one fixed random batch per rank (MLP 784-256-10 and d2l's sigmoid LeNet). "
                          f"Weak scaling: batch 256 per rank; strong: global batch 256. A run's figure is the slowest "
                          f"rank's median step; the table gives medians over the repetitions, and the efficiency is "
                          f"the median over repetitions of that repetition's T1/TN (weak) or T1/(N·TN) (strong), "
                          f"with its min–max. **4 ranks on this 2-core machine are oversubscribed** (two ranks per "
                          f"core): their efficiency is at most ~0.5 by construction. \"Independent processes\": N "
                          f"lamina processes each training alone at batch 256 at the same time, without "
                          f"communication — the ceiling this machine allows as loaded. Ratio: lamina ms/step / "
                          f"PyTorch ms/step (lower is better). {run_load(r0)}; the last "
                          f"column is the median of the 1-minute load over a row's runs.\n")
        by = {(r["impl"], r["model"], r["scaling"], r["ranks"]): r for r in recs}
        rows, panels = [], {"weak": defaultdict(list), "strong": defaultdict(list)}
        for model in dict.fromkeys(r["model"] for r in recs):
            for scaling in ("weak", "strong"):
                for n in sorted({r["ranks"] for r in recs}):
                    # 1 rank is one run for both (and for the independent processes): one row, a point on every curve.
                    kind = "weak" if n == 1 else scaling
                    lam, pt = by.get(("lamina", model, kind, n)), by.get(("pytorch", model, kind, n))
                    if not (lam and pt):
                        continue
                    ceiling = by.get(("lamina", model, "independent", n)) if scaling == "weak" and n > 1 else None
                    target = WEAK_SCALING_TARGETS.get(model) if (scaling, n) == ("weak", 2) else None
                    if n > 1 or scaling == "weak":
                        rows.append([model, scaling, ranks_label(n), lam["global_batch"], lam["ms_median"],
                                     pt["ms_median"], lam["ms_median"] / pt["ms_median"], f"{lam['samples_per_s']:.0f}",
                                     f"{pt['samples_per_s']:.0f}", spread(lam), spread(pt), spread(ceiling),
                                     f"≥ {target}" if target else "—",
                                     verdict(lam["efficiency"], target, False) if target else "—",
                                     lam["load1_median"]])
                    if target:
                        self.target(f"weak scaling {model}, 2 ranks: lamina efficiency (PyTorch DDP gloo in the same "
                                    f"run: {pt['efficiency']:.3f})", lam["efficiency"], f"≥ {target}",
                                    lam["efficiency"] >= target)
                    panels[scaling][f"lamina {model}"].append((n, lam["efficiency"]))
                    panels[scaling][f"PyTorch {model}"].append((n, pt["efficiency"]))
                    if ceiling or (scaling == "weak" and n == 1):
                        panels[scaling][f"independent processes {model}"].append((n, (ceiling or lam)["efficiency"]))
        self.lines.append(table(["model", "scaling", "ranks", "global batch", "lamina ms/step", "PyTorch ms/step",
                                 "ratio", "lamina samples/s", "PyTorch samples/s", "lamina efficiency",
                                 "PyTorch efficiency", "independent processes", "target", "", "load average"], rows))
        self.lines.append("Where lamina's step goes (ms; means over steps and ranks, medians over repetitions): "
                          "forward + backward, the all-reduce wait left after backward, the optimizer; and the share "
                          "of all-reduce time hidden behind backward.\n")
        hidden = [r for r in recs if r["impl"] == "lamina" and r["ranks"] > 1 and r["scaling"] != "independent"
                  and "hidden_fraction" in r]
        self.lines.append(table(["model", "scaling", "ranks", "mean step", "forward + backward", "exposed all-reduce",
                                 "optimizer", "hidden behind backward", "buckets", "gradient bytes"],
                                [[r["model"], r["scaling"], ranks_label(r["ranks"]), r["ms_mean"], r["compute_ms"],
                                  r["exposed_comm_ms"], r["optimizer_ms"], f"{r['hidden_fraction']:.0%}",
                                  f"{r['buckets']:.0f}", f"{r['gradient_bytes']:.0f}"] for r in hidden]))
        for r in hidden:
            if (r["scaling"], r["ranks"]) == ("weak", 2):
                self.target(f"weak scaling {r['model']}, 2 ranks: share of all-reduce time hidden behind backward",
                            f"{r['hidden_fraction']:.0%}", "(none set)", None)
        target_lines = [(t, f"target {m}, 2 ranks: {t}") for m, t in WEAK_SCALING_TARGETS.items()]
        titles = {"weak": "Weak scaling (batch 256 per rank)", "strong": "Strong scaling (global batch 256)"}
        self.image(line_plot(os.path.join(self.out, "scaling.png"), "efficiency (higher is better)", "ranks",
                             [(titles[s], dict(p), target_lines if s == "weak" else []) for s, p in panels.items() if p],
                             logx=True, xtics={ranks_label(n): n for n in sorted({r["ranks"] for r in recs})}))

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

    # --- 7. cost model ---
    def cost_model(self, recs):
        self.lines.append("## 7. Cost model: ring all-reduce past this machine, 1 … 1024 ranks\n")
        inputs_path = os.path.join(self.out, "cost_model_inputs.json")
        inputs = json.load(open(inputs_path)) if os.path.exists(inputs_path) else {}
        speedup = recs[0].get("gpu_speedup", 1)
        source = inputs.get("source", "the measurements in this folder")
        divided = f", divided by {speedup:g}" if speedup != 1 else ""
        self.lines.append(f"cost_model.py; its inputs: {source}. Per rank at batch b: compute T_c = c·b (c: "
                          f"lamina's 1-rank step at batch 256 / 256, this machine's core{divided}); ring all-reduce of the "
                          f"gradients G: T_r(N) = 2(N−1)α + 2(N−1)/N·G·β; a step is T_c + T_r without overlap, "
                          f"T_c + max(0, T_r − ⅔T_c) with overlap (every bucket hidden as far as backward lasts: an "
                          f"upper bound). Weak scaling: batch 256 per rank, efficiency T(1)/T(N); strong: global batch "
                          f"{max(r['global_batch'] for r in recs if r['scaling'] == 'strong')}, efficiency "
                          f"T(1)/(N·T(N)). The measured α and β are a weighted least-squares fit (relative error) of "
                          f"lamina's 2-rank all-reduce times T(m) = 2α + mβ; the other networks are assumed.\n")
        nets = list(dict.fromkeys(r["network"] for r in recs))
        first = {r["network"]: r for r in reversed(recs)}
        self.lines.append(table(["network", "α per ring step (µs)", "bus bandwidth 1/β (GB/s)", ""],
                                [[net, first[net]["alpha_us"], first[net]["busbw_GBps"],
                                  "measured here" if net.startswith("measured") else "assumed"] for net in nets]))
        by = {(r["model"], r["network"], r["scaling"], r["overlap"], r["ranks"]): r for r in recs}
        measured_net, models = nets[0], list(dict.fromkeys(r["model"] for r in recs))
        rows = []
        for model in models:
            one = by[(model, measured_net, "weak", False, 1)]
            predicted = [by[(model, measured_net, "weak", overlap, 2)]["efficiency"] for overlap in (False, True)]
            measured = inputs.get("measured_efficiency_2", {}).get(model)
            ratio = measured / predicted[0] if measured else None
            rows.append([model, one["compute_ms"] * 1e3 / one["per_rank_batch"], one["compute_ms"],
                         inputs.get("gradient_bytes", {}).get(model), predicted[0], predicted[1], measured, ratio])
            self.target(f"cost model {model}, weak scaling at 2 ranks: measured / predicted (no overlap) efficiency",
                        ratio, "(none set)", None)
        self.lines.append("Inputs per model, and the model checked against the weak-scaling efficiency measured at 2 "
                          "ranks (scaling.sh, same folder):\n")
        self.lines.append(table(["model", "compute µs/sample", "step at batch 256 (ms)", "gradient bytes",
                                 "predicted, 2 ranks, no overlap", "with overlap", "measured", "measured / predicted"],
                                rows))
        shown = [n for n in (2, 16, 64, 256, 1024) if any(r["ranks"] == n for r in recs)]
        self.lines.append("Predicted efficiency, with overlap / without:\n")
        self.lines.append(table(["model", "network", "scaling"] + [f"{n} ranks" for n in shown],
                                [[model, net, scaling] + [f"{by[(model, net, scaling, True, n)]['efficiency']:.2f} / "
                                                          f"{by[(model, net, scaling, False, n)]['efficiency']:.2f}"
                                                          for n in shown]
                                 for model in models for scaling in ("weak", "strong") for net in nets]))
        if os.path.exists(os.path.join(self.out, "cost_model.png")):
            self.image("cost_model.png")

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
    targets = [[what, measured, target, "—" if ok is None else "met" if ok else "**not met**"]
               for what, measured, target, ok in rep.targets]
    head.append(table(["comparison (lamina / reference)", "measured", "target", ""], targets) if targets
                else "(no targets in this run)\n")
    with open(report_path, "w") as f:
        f.write("\n".join(head + rep.lines))


if __name__ == "__main__":
    main()
