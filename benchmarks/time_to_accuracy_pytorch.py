#!/usr/bin/python3
"""PyTorch's side of the time-to-accuracy benchmark (time_to_accuracy.py): lamina-train's default recipe on
Fashion-MNIST, in PyTorch 1.13, on 1 rank or N ranks with DistributedDataParallel over gloo, stopping after the
first epoch whose test accuracy reaches --target.

The recipe is lamina-train's default one: global batch 256 split evenly over the ranks, SGD with Nesterov momentum
0.9 and weight decay 5e-4, lr 0.1 warmed up linearly over 100 steps then cosine-decayed to 0 at the end of --epochs,
each epoch's partial last batch dropped, inputs scaled to [0, 1] then standardized with mean 0.2860 and std 0.3530;
each framework's default initialization. Models: the MLP 784-256-10 (ReLU), LeNet with ReLU, max pooling and
BatchNorm (no bias before a BatchNorm), as lamina's nn::MLP and nn::LeNet. Each epoch reshuffles with a seeded
permutation that every rank draws alike, rank r taking every N-th sample from r (as lamina's DistributedSampler);
the test set is split the same way and the correct counts summed.

    /usr/bin/python3 benchmarks/time_to_accuracy_pytorch.py --model mlp --ranks 2 --target 0.85

Prints one JSON line (rank 0): the test accuracy and the elapsed seconds (since the training loop began) after
every epoch.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gloo_ranks import spawn  # noqa: E402
from pytorch_fashion_mnist import DATA_DIR, load  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def make_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, bias=False), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120, bias=False), nn.BatchNorm1d(120), nn.ReLU(),
        nn.Linear(120, 84, bias=False), nn.BatchNorm1d(84), nn.ReLU(),
        nn.Linear(84, 10))


def lr_factor(step, warmup, total):
    """lamina's LinearWarmup then CosineLR (to 0), as a multiple of the base lr after `step` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1 + math.cos(math.pi * progress))


def train(rank, world, args):
    torch.manual_seed(args.seed)
    train_x, train_y = load(args.data_dir, "train")
    test_x, test_y = load(args.data_dir, "test")
    if args.train_samples:
        train_x, train_y = train_x[:args.train_samples], train_y[:args.train_samples]
    if args.test_samples:
        test_x, test_y = test_x[:args.test_samples], test_y[:args.test_samples]
    train_x, test_x = (train_x - MEAN) / STD, (test_x - MEAN) / STD
    test_x, test_y = test_x[rank::world], test_y[rank::world]

    model = make_model(args.model)
    replica = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    optimizer = torch.optim.SGD(replica.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    per_rank = 256 // world
    steps_per_epoch = len(train_x) // world // per_rank
    warmup = min(100, args.epochs * steps_per_epoch // 2)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, warmup, args.epochs * steps_per_epoch))
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator()

    if world > 1:
        dist.barrier()
    start = time.perf_counter()
    accuracies, elapsed = [], []
    for epoch in range(args.epochs):
        replica.train()
        shuffle.manual_seed(args.seed * 1000003 + epoch)
        order = torch.randperm(len(train_x), generator=shuffle)[rank::world]
        for step in range(steps_per_epoch):
            idx = order[step * per_rank:(step + 1) * per_rank]
            loss = loss_fn(replica(train_x[idx]), train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        correct = torch.zeros(2, dtype=torch.float64)
        with torch.no_grad():
            for first in range(0, len(test_x), 1024):
                logits = model(test_x[first:first + 1024])
                correct[0] += (logits.argmax(dim=1) == test_y[first:first + 1024]).sum().item()
        correct[1] = len(test_x)
        if world > 1:
            dist.all_reduce(correct)
        accuracies.append(round((correct[0] / correct[1]).item(), 4))
        elapsed.append(round(time.perf_counter() - start, 3))
        if args.target and accuracies[-1] >= args.target:
            break
    if rank == 0:
        print(json.dumps({"framework": "pytorch", "torch": torch.__version__, "model": args.model, "ranks": world,
                          "seed": args.seed, "target": args.target, "test_accuracy": accuracies,
                          "elapsed_seconds": elapsed}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["mlp", "lenet"], default="mlp")
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--target", type=float, default=0, help="stop after the epoch that reaches it (0: never)")
    parser.add_argument("--epochs", type=int, default=10, help="the schedule's length, and the most epochs run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-samples", type=int, default=0, help="only the first N training samples (0: all)")
    parser.add_argument("--test-samples", type=int, default=0, help="only the first N test samples (0: all)")
    parser.add_argument("--data-dir", default=DATA_DIR)
    args = parser.parse_args()
    spawn(train, args.ranks, args)


if __name__ == "__main__":
    main()
