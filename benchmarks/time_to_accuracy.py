#!/usr/bin/python3
"""Item 5 of the suite, time to accuracy: wall time for the MLP and LeNet to reach a fixed Fashion-MNIST test
accuracy, lamina (`mpirun -np R lamina-train --target-accuracy A`) against PyTorch 1.13 with the same recipe
(time_to_accuracy_pytorch.py: DistributedDataParallel over gloo at 2 ranks), 1 thread per rank, 1 and 2 ranks.

The recipe is lamina-train's default (SGD, Nesterov momentum 0.9, weight decay 5e-4, lr 0.1 with 100 warm-up steps
then cosine decay over 10 epochs, global batch 256, standardized inputs, each epoch's partial last batch dropped);
LeNet is the ReLU, max-pooling, BatchNorm variant. Targets: MLP 0.85, LeNet 0.87 test accuracy, checked after every
epoch on the whole test set; the time runs from the first training step to the end of the evaluation that reaches
the target (data loading and start-up are left out on both sides). The repetitions are seeds (initialization and
data order differ), run side by side, alternating which side goes first; the figure is the median over the seeds.

    benchmarks/time_to_accuracy.py --quick|--full --out DIR [--build DIR]  writes DIR/time_to_accuracy.{json,csv}

--quick trains one epoch of 2048 samples (1000 test samples) without a target: it checks the harness only.
"""
import json
import os
import tempfile

import records

TARGETS = {"mlp": 0.85, "lenet": 0.87}


def lamina(build, model, ranks, seed, target, quick):
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as metrics:
        command = ["mpirun", "-np", str(ranks), os.path.join(build, "launch", "lamina-train"), "--model", model,
                   "--seed", str(seed), "--threads", "1", "--metrics", metrics.name]
        command += (["--epochs", "1", "--train-samples", "2048", "--test-samples", "1000", "--batch-size", "256"]
                    if quick else ["--epochs", "10", "--target-accuracy", str(target)])
        records.run(command, 1)
        epochs = [e for e in map(json.loads, open(metrics.name)) if e["event"] == "epoch"]
    return [e["test_accuracy"] for e in epochs], [e["elapsed_seconds"] for e in epochs]


def pytorch(model, ranks, seed, target, quick):
    command = ["/usr/bin/python3", os.path.join(records.HERE, "time_to_accuracy_pytorch.py"), "--model", model,
               "--ranks", str(ranks), "--seed", str(seed)]
    command += (["--epochs", "1", "--train-samples", "2048", "--test-samples", "1000"] if quick
                else ["--epochs", "10", "--target", str(target)])
    out, _ = records.run(command, 1)
    result = json.loads(out.strip().splitlines()[-1])
    return result["test_accuracy"], result["elapsed_seconds"]


def main():
    args = records.parse_args(__doc__.split("\n")[0])
    seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    results = []
    for model, target in TARGETS.items():
        target = 0 if args.quick else target
        for ranks in (1, 2):
            for seed in seeds:
                for side in ("lamina", "pytorch") if seed % 2 == 0 else ("pytorch", "lamina"):
                    load = records.load_average()
                    if side == "lamina":
                        accuracy, elapsed = lamina(args.build, model, ranks, seed, target, args.quick)
                    else:
                        accuracy, elapsed = pytorch(model, ranks, seed, target, args.quick)
                    reached = next((i for i, a in enumerate(accuracy) if a >= target), None)
                    results.append({
                        "benchmark": "time_to_accuracy", "impl": side, "model": model, "ranks": ranks,
                        "threads_per_rank": 1, "seed": seed, "target": target,
                        "reached": reached is not None, "epochs": len(accuracy),
                        "seconds": elapsed[reached] if reached is not None else elapsed[-1],
                        "final_accuracy": accuracy[-1], "accuracies": " ".join(f"{a:.4f}" for a in accuracy),
                        "load_average": load})
                    print(f"time_to_accuracy {model} {ranks} rank(s) seed {seed} {side}: {results[-1]['seconds']:.1f} s, "
                          f"{results[-1]['epochs']} epoch(s), accuracy {results[-1]['accuracies']}, load {load}", flush=True)
    records.write(args.out, "time_to_accuracy", results)


if __name__ == "__main__":
    main()
