#!/usr/bin/python3
"""The d2l recipe, lamina against PyTorch, side by side: mean test accuracy over the last 3 of 10 epochs, over
3 seeds, for the MLP and the sigmoid LeNet (issue: "within 1 point of PyTorch's").

    /usr/bin/python3 benchmarks/d2l_recipe.py [--build build] [--seeds 0 1 2] [--out benchmarks/results/d2l_recipe.json]

lamina runs as `mpirun -np 1 lamina-train --recipe d2l`, PyTorch as benchmarks/pytorch_fashion_mnist.py; both 1
thread, with OPENBLAS_CORETYPE as the environment has it (both sides see the same value).
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def lamina_run(build, model, seed):
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as metrics:
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
        subprocess.run(["mpirun", "-np", "1", os.path.join(build, "launch", "lamina-train"), "--recipe", "d2l",
                        "--model", "mlp" if model == "mlp" else "lenet-sigmoid", "--seed", str(seed), "--epochs", "10",
                        "--threads", "1", "--metrics", metrics.name], check=True, env=env, stdout=subprocess.DEVNULL)
        epochs = [e for e in map(json.loads, open(metrics.name)) if e["event"] == "epoch"]
    accuracies = [e["test_accuracy"] for e in epochs]
    return {"test_accuracy": accuracies, "mean_last3": statistics.mean(accuracies[-3:]),
            "median_epoch_seconds": statistics.median(e["seconds"] for e in epochs)}


def pytorch_run(model, seed):
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "pytorch_fashion_mnist.py"), "--model", model,
                          "--seed", str(seed), "--threads", "1"], check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return {"test_accuracy": result["test_accuracy"], "mean_last3": result["mean_last3_test_accuracy"],
            "median_epoch_seconds": result["median_epoch_seconds"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["mlp", "lenet"])
    parser.add_argument("--out", default=os.path.join(HERE, "results", "d2l_recipe.json"))
    args = parser.parse_args()
    results = {}
    for model in args.models:
        runs = {"lamina": [], "pytorch": []}
        for seed in args.seeds:  # alternate the two sides so that load affects both alike
            runs["pytorch"].append(pytorch_run(model, seed))
            runs["lamina"].append(lamina_run(args.build, model, seed))
            print(f"{model} seed {seed}: pytorch {runs['pytorch'][-1]['mean_last3']:.4f}  "
                  f"lamina {runs['lamina'][-1]['mean_last3']:.4f}", flush=True)
        summary = {side: statistics.mean(r["mean_last3"] for r in rs) for side, rs in runs.items()}
        summary["difference_points"] = 100 * (summary["lamina"] - summary["pytorch"])
        results[model] = {"runs": runs, "mean_last3_over_seeds": summary}
        print(f"{model}: mean over seeds of the last-3-epoch test accuracy: pytorch {summary['pytorch']:.4f}, "
              f"lamina {summary['lamina']:.4f}, difference {summary['difference_points']:+.2f} points", flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
