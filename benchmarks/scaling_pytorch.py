#!/usr/bin/python3
"""One data-parallel training step of PyTorch DDP over gloo, the counterpart of scaling_benchmark.cpp.

    /usr/bin/python3 benchmarks/scaling_pytorch.py MODEL RANKS PER_RANK_BATCH STEPS WARMUP

Starts RANKS processes (1 thread each; at 1 rank the plain model, without DDP), each with its own fixed random
batch; a step is zero_grad(set_to_none=True), forward, cross_entropy, backward (DDP all-reduces the gradients in
25 MiB buckets), SGD step. Rank 0 prints one JSON line: the median over the steps of the slowest rank's step time.
"""
import json
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from gloo_ranks import spawn  # noqa: E402
from pytorch_fashion_mnist import initialize, make_model  # noqa: E402


def run(rank, world, name, batch, steps, warmup):
    torch.manual_seed(0)
    model = make_model(name)
    initialize(model, name, "d2l")
    torch.manual_seed(1 + rank)
    inputs, targets = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1 if name == "mlp" else 0.9)
    model.train()
    times = []
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
        if step >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    ms = sorted(times)[len(times) // 2]
    if world > 1:
        slowest = torch.tensor([ms], dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        ms = slowest.item()
    if rank == 0:
        print(json.dumps({"impl": "pytorch", "model": name, "ranks": world, "per_rank_batch": batch, "steps": steps,
                          "ms_median": ms, "samples_per_s": 1e3 * batch * world / ms}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(f"usage: {sys.argv[0]} mlp|lenet RANKS PER_RANK_BATCH STEPS WARMUP")
    name, (world, batch, steps, warmup) = sys.argv[1], map(int, sys.argv[2:])
    spawn(run, world, name, batch, steps, warmup)
