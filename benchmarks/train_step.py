#!/usr/bin/python3
"""Item 2 of the suite, the training step: lamina (train_step_benchmark) against PyTorch 1.13
(train_step_pytorch.py, Debian's python3-torch) on the same model, batch, threads and recipe (d2l's models and
initialization, plain SGD): MLP b256, LeNet b256, ResNet-18 (28x28 Fashion-MNIST images, small batch), 1 and 2
threads. A step is zero_grad, forward, cross-entropy, backward, SGD step; fetching the batch is not part of it.

Both programs run alternately (which goes first alternates too), REPS times each; each run reports the median of
its steps, and the figure is the median over the runs. Peak RSS is measured from outside (getrusage of the child
through wait4) on separate processes that train on one synthetic batch and do nothing else, so that it measures
the framework and the step, not the data set each side holds.

    benchmarks/train_step.py --quick|--full --out DIR [--build DIR]   writes DIR/train_step.json and .csv
"""
import json
import os

import records

# model -> (batch, steps, warmup) of the full mode; --quick runs a step or two of a small batch.
FULL = {"mlp": (256, 200, 20), "lenet": (256, 30, 3), "resnet18": (16, 5, 1)}
QUICK = {"mlp": (256, 3, 1), "lenet": (32, 2, 1), "resnet18": (2, 1, 0)}


def command(side, build, model, batch, threads, steps, warmup, data):
    args = [model, str(batch), str(threads), str(steps), str(warmup), data]
    if side == "lamina":
        return [os.path.join(build, "benchmarks", "train_step_benchmark")] + args
    return ["/usr/bin/python3", os.path.join(records.HERE, "train_step_pytorch.py")] + args


def main():
    args = records.parse_args(__doc__.split("\n")[0])
    shapes, reps, data, thread_counts = (QUICK, 1, "synthetic", (1,)) if args.quick else (FULL, 5, "fashion-mnist", (1, 2))
    results = []
    for threads in thread_counts:
        for model, (batch, steps, warmup) in shapes.items():
            runs = {"lamina": [], "pytorch": []}
            for rep in range(reps):
                for side in ("lamina", "pytorch") if rep % 2 == 0 else ("pytorch", "lamina"):
                    load = records.load_average()
                    out, rss = records.run(command(side, args.build, model, batch, threads, steps, warmup, data), threads)
                    runs[side].append(dict(json.loads(out.strip().splitlines()[-1]), load_average=load, rss=rss))
            # The step alone, for the peak RSS: one synthetic batch, a few steps, nothing else in the process (the
            # timed runs are such processes already when they train on synthetic data).
            rss = {side: records.median(r["rss"] for r in rs) for side, rs in runs.items()}
            if data != "synthetic":
                rss = {side: records.run(command(side, args.build, model, batch, threads, min(steps, 3), 1, "synthetic"),
                                         threads)[1] for side in runs}
            for side, rs in runs.items():
                ms = records.median(r["ms_median"] for r in rs)
                results.append({
                    "benchmark": "train_step", "impl": side, "model": model, "batch": batch, "threads": threads,
                    "data": data, "steps": steps, "reps": reps, "ms_per_step": ms,
                    "cpu_ms_per_step": records.median(r["cpu_ms"] for r in rs),
                    "samples_per_s": batch * 1e3 / ms, "peak_rss_mb": rss[side],
                    "gemm_floor_ms": records.median(r.get("gemm_floor_ms", 0) for r in rs),
                    "ms_runs": " ".join(f"{r['ms_median']:.3f}" for r in rs),
                    "load_average": rs[len(rs) // 2]["load_average"]})
            print(f"train_step {model} b{batch} {threads} thread(s): lamina {results[-2]['ms_per_step']:.2f} ms, "
                  f"pytorch {results[-1]['ms_per_step']:.2f} ms, load {records.load_average()}", flush=True)
    records.write(args.out, "train_step", results)


if __name__ == "__main__":
    main()
