#!/usr/bin/python3
"""torch.distributed all-reduce over gloo, the counterpart of allreduce_benchmark.cpp (same sizes, same timing).

    /usr/bin/python3 benchmarks/allreduce_gloo.py RANKS REPS MAX_BYTES

Starts RANKS processes (1 thread each, gloo over 127.0.0.1), all-reduces (sum) a float32 tensor of 4 KiB, 8 KiB, ...
MAX_BYTES in place, and prints one JSON line per size: the median over REPS repetitions (4 × REPS up to 1 MiB) of
the slowest rank's time, each repetition after a barrier.
"""
import json
import sys
import time

import torch
import torch.distributed as dist

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from gloo_ranks import spawn  # noqa: E402


def run(rank, world, reps, max_bytes):
    elapsed = torch.zeros(1, dtype=torch.float64)
    size = 4 << 10
    while size <= max_bytes:
        t = torch.zeros(size // 4)
        n = 4 * reps if size <= 1 << 20 else reps
        times = []
        for rep in range(-3, n):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            elapsed[0] = time.perf_counter() - start
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
            if rep >= 0:
                times.append(elapsed.item())
        times.sort()
        if rank == 0:
            print(json.dumps({"impl": "gloo", "ranks": world, "bytes": size, "seconds": times[len(times) // 2],
                              "reps": n}), flush=True)
        size *= 2


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} RANKS REPS MAX_BYTES")
    world, reps, max_bytes = map(int, sys.argv[1:])
    spawn(run, world, reps, max_bytes)
