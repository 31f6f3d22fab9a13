#!/usr/bin/python3
"""The d2l Fashion-MNIST recipe in PyTorch: the reference lamina's training is compared against.

Run with Debian's PyTorch (python3-torch):  /usr/bin/python3 benchmarks/pytorch_fashion_mnist.py --model mlp --seed 0

The recipe is d2l's (Dive into Deep Learning, PyTorch edition): batch 256, 10 epochs, plain SGD on the mean
cross-entropy, inputs scaled to [0, 1] without normalization, the training set reshuffled every epoch.
  mlp:   Flatten, Linear(784, 256), ReLU, Linear(256, 10); lr 0.1 (d2l 5.2, "Concise Implementation of MLPs")
  lenet: Conv2d(1, 6, 5, padding=2), Sigmoid, AvgPool2d(2, 2), Conv2d(6, 16, 5), Sigmoid, AvgPool2d(2, 2),
         Flatten, Linear(400, 120), Sigmoid, Linear(120, 84), Sigmoid, Linear(84, 10); lr 0.9 (d2l 7.6, train_ch6)
Initialization (--init d2l, the default) follows d2l: the MLP's Linear weights ~ N(0, 0.01^2) (its init_weights),
LeNet's Linear and Conv2d weights xavier_uniform (train_ch6's init_weights); biases keep PyTorch's default
U(-1/sqrt(fan_in), 1/sqrt(fan_in)). --init xavier uses xavier_uniform weights for both models, --init torch keeps
PyTorch's defaults everywhere.

The data comes from the same gzipped IDX files lamina reads (Debian's dataset-fashion-mnist), read with gzip + numpy.
Prints one line per epoch and a final JSON line with every figure.
"""
import argparse
import gzip
import json
import resource
import time

import numpy as np
import torch
from torch import nn

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    found = int.from_bytes(data[0:4], "big")
    if found != magic:
        raise ValueError(f"{path}: bad magic number {found}, expected {magic}")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header promises {int(np.prod(dims))} bytes, the file holds {array.size}")
    return array.reshape(dims)


def load(data_dir, split):
    prefix = f"{data_dir}/{'train' if split == 'train' else 't10k'}"
    images = read_idx(f"{prefix}-images-idx3-ubyte.gz", 2051)
    labels = read_idx(f"{prefix}-labels-idx1-ubyte.gz", 2049)
    x = torch.from_numpy(images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def make_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def initialize(model, name, init):
    for m in model.modules():
        if not isinstance(m, (nn.Linear, nn.Conv2d)):
            continue
        if init == "xavier" or (init == "d2l" and name == "lenet"):
            nn.init.xavier_uniform_(m.weight)
        elif init == "d2l" and name == "mlp":
            nn.init.normal_(m.weight, std=0.01)


def accuracy(model, x, y, batch_size):
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(x[start:start + batch_size])
            correct += (logits.argmax(dim=1) == y[start:start + batch_size]).sum().item()
    return correct / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["mlp", "lenet"], default="mlp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=None, help="default: 0.1 for mlp, 0.9 for lenet")
    parser.add_argument("--init", choices=["d2l", "xavier", "torch"], default="d2l")
    parser.add_argument("--data-dir", default=DATA_DIR)
    args = parser.parse_args()
    lr = args.lr if args.lr is not None else (0.1 if args.model == "mlp" else 0.9)

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    shuffle = torch.Generator().manual_seed(args.seed)

    load_start = time.perf_counter()
    train_x, train_y = load(args.data_dir, "train")
    test_x, test_y = load(args.data_dir, "test")
    load_seconds = time.perf_counter() - load_start

    model = make_model(args.model)
    initialize(model, args.model, args.init)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    # CPU time next to wall time: on a shared machine other jobs inflate the wall time, not the CPU time.
    test_accuracies, train_losses, epoch_seconds, epoch_cpu_seconds = [], [], [], []
    for epoch in range(args.epochs):
        model.train()
        start, start_cpu = time.perf_counter(), time.process_time()
        order = torch.randperm(len(train_x), generator=shuffle)
        loss_sum, correct = 0.0, 0
        for first in range(0, len(order), args.batch_size):
            idx = order[first:first + args.batch_size]
            x, y = train_x[idx], train_y[idx]
            logits = model(x)
            loss = loss_fn(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(dim=1) == y).sum().item()
        epoch_seconds.append(time.perf_counter() - start)
        epoch_cpu_seconds.append(time.process_time() - start_cpu)
        train_losses.append(loss_sum / len(train_x))
        test_accuracies.append(accuracy(model, test_x, test_y, args.batch_size))
        print(f"epoch {epoch + 1:2d}  loss {train_losses[-1]:.4f}  train acc {correct / len(train_x):.4f}  "
              f"test acc {test_accuracies[-1]:.4f}  {epoch_seconds[-1]:.2f} s ({epoch_cpu_seconds[-1]:.2f} s CPU)", flush=True)

    last3 = test_accuracies[-3:]
    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "model": args.model, "seed": args.seed,
        "threads": args.threads, "epochs": args.epochs, "batch_size": args.batch_size, "lr": lr, "init": args.init,
        "test_accuracy": [round(a, 4) for a in test_accuracies],
        "train_loss": [round(v, 4) for v in train_losses],
        "final_test_accuracy": test_accuracies[-1],
        "mean_last3_test_accuracy": round(sum(last3) / len(last3), 4),
        "epoch_seconds": [round(s, 3) for s in epoch_seconds],
        "median_epoch_seconds": round(float(np.median(epoch_seconds)), 3),
        "epoch_cpu_seconds": [round(s, 3) for s in epoch_cpu_seconds],
        "median_epoch_cpu_seconds": round(float(np.median(epoch_cpu_seconds)), 3),
        "load_seconds": round(load_seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
