#!/usr/bin/python3
"""A cost model for data-parallel training past this machine: ring all-reduce, 1 ... 1024 ranks.

    benchmarks/cost_model.py [--quick|--full] [--out DIR] [--build DIR]

Inputs, measured here and read from DIR (the other benchmarks' output, same --out):
  - compute time per sample c: lamina's 1-rank training step at batch 256, 1 thread (DIR/scaling.json) / 256;
  - all-reduce alpha (latency per message) and beta (seconds per byte): a weighted least-squares fit of lamina's
    2-rank all-reduce times T(m) = 2 alpha + m beta over 4 KiB ... 64 MiB (DIR/allreduce.json; the fit minimises the
    relative error, so small and large messages count alike);
  - the gradient bytes G of each model (what DDP reduces per step, DIR/scaling.json).
When DIR has no measurements, --full runs allreduce.sh and scaling.sh in their quick mode first (into
DIR/cost_model_inputs); --quick uses the figures recorded in benchmarks/README.md instead, and says so.

The model, per rank with per-rank batch b (weak scaling: b = 256; strong scaling: global batch 16384, b = 16384/N,
large enough that 1024 ranks still get 16 samples):
  compute  T_c = c b                      (forward + backward + optimizer, on one core, as measured)
  ring     T_r(N) = 2 (N-1) alpha + 2 (N-1)/N G beta     (reduce-scatter + all-gather, N-1 steps each)
  no overlap: T = T_c + T_r;  overlap: T = T_c + max(0, T_r - T_b) with T_b = 2/3 T_c, the backward share of a step
  (backward is about twice the forward), i.e. every bucket hides behind backward as far as backward lasts — an upper
  bound: the last bucket (the first layer's gradient) can only hide behind what is left.
  efficiency: weak T(1)/T(N); strong T(1)/(N T(N)), with T(1) = c B (no communication at 1 rank).
Networks: "measured" (alpha, beta fitted here: shared memory between 2 processes on one machine) and three assumed
ones, stated in NETWORKS below. The compute rate is this machine's core in every scenario (a GPU would make compute
~100x faster, which moves every curve towards the communication-bound end: the "--gpu-speedup" option shows that).
Writes DIR/cost_model.json (flat records), DIR/cost_model.csv and DIR/cost_model.png (gnuplot), prints a table.
"""
import argparse
import json
import os
import subprocess
import sys

import records as suite

HERE = os.path.dirname(os.path.abspath(__file__))
RANKS = [2 ** k for k in range(11)]  # 1 ... 1024
STRONG_GLOBAL_BATCH = 16384
# Assumed networks: busbw in GB/s (what nccl-tests reports for a large all-reduce), alpha in µs per ring step.
NETWORKS = {
    "10GbE TCP (gloo-class)": {"busbw": 1.1, "alpha_us": 30.0},
    "NCCL, InfiniBand HDR 200 Gb/s per GPU": {"busbw": 22.0, "alpha_us": 8.0},
    "NCCL, NVLink (A100-class, intra-node)": {"busbw": 230.0, "alpha_us": 4.0},
}
# Recorded in benchmarks/README.md (Communication and scaling), used by --quick when DIR has no measurements.
DEFAULTS = {"alpha_s": 6.0e-6, "beta_s_per_byte": 1 / 6.0e9,
            "compute_s_per_sample": {"mlp": 2.3e-3 / 256, "lenet": 17.0e-3 / 256},
            "gradient_bytes": {"mlp": 814120, "lenet": 246824},
            "measured_efficiency_2": {}}


def fit_alpha_beta(records):
    """Weighted least squares of T = a + m beta with weights 1/T^2 (relative error); returns (alpha = a/2, beta)."""
    pts = [(r["bytes"], r["latency_us"] * 1e-6) for r in records
           if r["impl"] == "lamina" and r["variant"] == "MpiProcessGroup" and r["ranks"] == 2]
    if len(pts) < 2:
        raise ValueError("no 2-rank lamina all-reduce records")
    sw = swx = swy = swxx = swxy = 0.0
    for m, t in pts:
        w = 1 / t ** 2
        sw, swx, swy, swxx, swxy = sw + w, swx + w * m, swy + w * t, swxx + w * m * m, swxy + w * m * t
    beta = (sw * swxy - swx * swy) / (sw * swxx - swx ** 2)
    a = (swy - beta * swx) / sw
    return max(a, 0.0) / 2, beta, pts


def load_inputs(out, mode, build):
    allreduce, scaling = f"{out}/allreduce.json", f"{out}/scaling.json"
    source = "measured in this run (DIR/allreduce.json, DIR/scaling.json)"
    if not (os.path.exists(allreduce) and os.path.exists(scaling)):
        if mode == "quick":
            return dict(DEFAULTS, source="defaults recorded in benchmarks/README.md (no measurements in DIR)"), []
        sub = f"{out}/cost_model_inputs"
        for script in ("allreduce.sh", "scaling.sh"):
            subprocess.run([f"{HERE}/{script}", "--quick", "--out", sub, "--build", build], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        allreduce, scaling = f"{sub}/allreduce.json", f"{sub}/scaling.json"
        source = "measured by allreduce.sh and scaling.sh --quick (DIR/cost_model_inputs)"
    alpha, beta, pts = fit_alpha_beta(json.load(open(allreduce)))
    runs = json.load(open(scaling))
    inputs = {"alpha_s": alpha, "beta_s_per_byte": beta, "compute_s_per_sample": {}, "gradient_bytes": {},
              "measured_efficiency_2": {}, "source": source}
    for model in ("mlp", "lenet"):
        one = [r for r in runs if r["impl"] == "lamina" and r["model"] == model and r["ranks"] == 1
               and r["scaling"] == "weak"]
        two = [r for r in runs if r["impl"] == "lamina" and r["model"] == model and r["ranks"] == 2
               and r["scaling"] == "weak"]
        if not one or not two:
            continue
        inputs["compute_s_per_sample"][model] = one[0]["ms_median"] / 1e3 / one[0]["per_rank_batch"]
        inputs["gradient_bytes"][model] = two[0]["gradient_bytes"]
        inputs["measured_efficiency_2"][model] = two[0]["efficiency"]
    return inputs, pts


def ring_seconds(n, nbytes, alpha, beta):
    return 0.0 if n == 1 else 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes * beta


def predict(inputs, gpu_speedup):
    nets = {"measured here (shared memory)": (inputs["alpha_s"], inputs["beta_s_per_byte"])}
    for name, net in NETWORKS.items():
        nets[name] = (net["alpha_us"] * 1e-6, 1 / (net["busbw"] * 1e9))
    records = []
    for model, c in inputs["compute_s_per_sample"].items():
        c /= gpu_speedup
        g = inputs["gradient_bytes"][model]
        for net, (alpha, beta) in nets.items():
            for scaling in ("weak", "strong"):
                global_batch = None if scaling == "weak" else STRONG_GLOBAL_BATCH
                t1 = c * (256 if scaling == "weak" else STRONG_GLOBAL_BATCH)
                for overlap in (False, True):
                    for n in RANKS:
                        b = 256 if scaling == "weak" else STRONG_GLOBAL_BATCH / n
                        compute, comm = c * b, ring_seconds(n, g, alpha, beta)
                        exposed = max(0.0, comm - 2 / 3 * compute) if overlap else comm
                        step = compute + exposed
                        eff = t1 / step if scaling == "weak" else t1 / (n * step)
                        records.append({"benchmark": "cost_model", "impl": "lamina", "model": model, "network": net,
                                        "alpha_us": alpha * 1e6, "busbw_GBps": 1 / beta / 1e9, "scaling": scaling,
                                        "global_batch": global_batch or 256 * n, "per_rank_batch": b,
                                        "overlap": overlap, "ranks": n, "compute_ms": compute * 1e3,
                                        "allreduce_ms": comm * 1e3, "step_ms": step * 1e3,
                                        "samples_per_s": b * n / step, "efficiency": eff,
                                        "gpu_speedup": gpu_speedup})
    return records


def plot(records, out):
    """Weak-scaling efficiency against ranks, one panel per model, solid with overlap, dashed without."""
    models = list(dict.fromkeys(r["model"] for r in records))
    nets = list(dict.fromkeys(r["network"] for r in records))
    data = f"{out}/cost_model_plot.dat"
    with open(data, "w") as f:
        for model in models:
            for net in nets:
                for overlap in (True, False):
                    f.write(f'# {model} | {net} | overlap {overlap}\n')
                    for r in records:
                        if (r["model"], r["network"], r["overlap"], r["scaling"]) == (model, net, overlap, "weak"):
                            f.write(f'{r["ranks"]} {r["efficiency"]:.6f}\n')
                    f.write("\n\n")
    script = [f'set terminal pngcairo size 1400,560 font ",10"', f'set output "{out}/cost_model.png"',
              'set multiplot layout 1,2', 'set logscale x 2', 'set xrange [1:1024]', 'set yrange [0:1.05]',
              'set xlabel "ranks"', 'set ylabel "weak-scaling efficiency (per-rank batch 256)"', 'set grid',
              'set key bottom left font ",8"']
    colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"]
    index = 0
    for model in models:
        lines = []
        for k, net in enumerate(nets):
            for overlap in (True, False):
                title = f'{net}{", overlap" if overlap else ", no overlap"}'
                lines.append(f'"{data}" index {index} with linespoints lw 2 pt 7 ps 0.6 dt {1 if overlap else 2} '
                             f'lc rgb "{colors[k % len(colors)]}" title "{title}"')
                index += 1
        script += [f'set title "{model}: ring all-reduce cost model, compute measured on 1 core"',
                   "plot " + ", ".join(lines)]
    script.append("unset multiplot")
    try:
        subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
    finally:
        os.remove(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", dest="mode", action="store_const", const="quick", default="full")
    parser.add_argument("--full", dest="mode", action="store_const", const="full")
    parser.add_argument("--out", default=None)
    parser.add_argument("--build", default="build")
    parser.add_argument("--gpu-speedup", type=float, default=1.0,
                        help="divide the measured compute time per sample by this (e.g. 100 for a GPU)")
    args = parser.parse_args()
    out = args.out or f"{args.build}/benchmark-results"
    os.makedirs(out, exist_ok=True)
    inputs, points = load_inputs(out, args.mode, args.build)
    records = predict(inputs, args.gpu_speedup)
    suite.write(out, "cost_model", records)
    json.dump(inputs, open(f"{out}/cost_model_inputs.json", "w"), indent=1)
    try:
        plot(records, out)
        png = f"{out}/cost_model.png"
    except (OSError, subprocess.CalledProcessError) as e:
        png = f"(no plot: {e})"

    alpha, beta = inputs["alpha_s"], inputs["beta_s_per_byte"]
    print(f"cost model inputs ({inputs['source']}): alpha {alpha * 1e6:.2f} µs, beta {beta * 1e9:.4f} ns/byte "
          f"({1 / beta / 1e9:.2f} GB/s bus bandwidth)" + (f", fitted to {len(points)} sizes" if points else ""))
    for model, c in inputs["compute_s_per_sample"].items():
        print(f"  {model}: compute {c * 1e6:.2f} µs/sample (step at batch 256: {c * 256e3:.2f} ms), gradients "
              f"{inputs['gradient_bytes'][model]} bytes" + (f", GPU speed-up {args.gpu_speedup:g}" if args.gpu_speedup != 1 else ""))
    print("assumed networks: " + "; ".join(f"{k}: {v['busbw']} GB/s bus bandwidth, alpha {v['alpha_us']} µs"
                                            for k, v in NETWORKS.items()))
    shown = [1, 2, 4, 16, 64, 256, 1024]
    print("\nweak scaling (per-rank batch 256), predicted efficiency, with overlap / without:\n")
    print("| model | network | " + " | ".join(f"{n}" for n in shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    for model in inputs["compute_s_per_sample"]:
        for net in dict.fromkeys(r["network"] for r in records):
            cells = []
            for n in shown:
                e = {r["overlap"]: r["efficiency"] for r in records
                     if (r["model"], r["network"], r["scaling"], r["ranks"]) == (model, net, "weak", n)}
                cells.append(f"{e[True]:.2f} / {e[False]:.2f}")
            print(f"| {model} | {net} | " + " | ".join(cells) + " |")
    print(f"\nstrong scaling (global batch {STRONG_GLOBAL_BATCH}), predicted efficiency with overlap:\n")
    print("| model | network | " + " | ".join(f"{n}" for n in shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    for model in inputs["compute_s_per_sample"]:
        for net in dict.fromkeys(r["network"] for r in records):
            cells = [f"{r['efficiency']:.2f}" for n in shown for r in records
                     if (r["model"], r["network"], r["scaling"], r["ranks"], r["overlap"]) == (model, net, "strong", n, True)]
            print(f"| {model} | {net} | " + " | ".join(cells) + " |")
    for model, measured in inputs["measured_efficiency_2"].items():
        predicted = next(r["efficiency"] for r in records if (r["model"], r["network"], r["scaling"], r["ranks"],
                                                             r["overlap"]) == (model, "measured here (shared memory)", "weak", 2, False))
        print(f"\ncheck at 2 ranks, {model}: predicted {predicted:.3f} (no overlap), measured {measured:.3f}")
    print(f"\n(JSON and CSV in {out}; plot {png})")


if __name__ == "__main__":
    sys.exit(main())
