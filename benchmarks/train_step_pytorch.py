#!/usr/bin/python3
"""One training step of PyTorch, the counterpart of train_step_benchmark.cpp (same arguments, same JSON line).

    /usr/bin/python3 benchmarks/train_step_pytorch.py MODEL BATCH THREADS STEPS WARMUP [DATA]
      MODEL  mlp (784-256-10 ReLU) | lenet (d2l's sigmoid/avg-pool LeNet) | resnet18 (small-image stem)
      DATA   fashion-mnist (default) | synthetic (one random batch, nothing loaded)

A step is optimizer.zero_grad(set_to_none=True), forward, F.cross_entropy, backward, optimizer.step() (plain SGD),
timed step by step; fetching the batch is not part of it. For the MLP, the step's five GEMMs are also timed
after every step, as in train_step_benchmark.cpp. The data is loaded as pytorch_fashion_mnist.py (the
d2l reference) loads it: the training set as one float32 tensor in [0, 1], each batch gathered with x[idx] from
a shuffled epoch.
"""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from pytorch_fashion_mnist import DATA_DIR, initialize, load, make_model  # noqa: E402


def basic_block(cin, cout, stride):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = None
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))

    return Block()


def resnet18(width=64):
    layers = [nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    cin = width
    for stage in range(4):
        cout = width << stage
        stride = 1 if stage == 0 else 2
        layers += [basic_block(cin, cout, stride), basic_block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


class MlpGemms:
    """The MLP step's five GEMMs on their own buffers (torch.mm into preallocated outputs, which calls the same
    OpenBLAS sgemm): the floor train_step_benchmark.cpp also times, measured here under this process's load."""

    def __init__(self, batch):
        self.x, self.w1, self.h = torch.randn(batch, 784), torch.randn(256, 784), torch.randn(batch, 256)
        self.w2, self.out, self.gh = torch.randn(10, 256), torch.randn(batch, 10), torch.randn(batch, 256)
        self.gw1, self.gw2 = torch.randn(256, 784), torch.randn(10, 256)

    def time_ms(self):
        t0 = time.perf_counter()
        torch.mm(self.x, self.w1.t(), out=self.h)
        torch.mm(self.h, self.w2.t(), out=self.out)
        torch.mm(self.out, self.w2, out=self.gh)
        torch.mm(self.out.t(), self.h, out=self.gw2)
        torch.mm(self.gh.t(), self.x, out=self.gw1)
        return (time.perf_counter() - t0) * 1e3


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(f"usage: {sys.argv[0]} mlp|lenet|resnet18 BATCH THREADS STEPS WARMUP [fashion-mnist|synthetic]")
    name, batch, threads, steps, warmup = sys.argv[1], *map(int, sys.argv[2:6])
    data = sys.argv[6] if len(sys.argv) == 7 else "fashion-mnist"
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)

    if data == "synthetic":
        fixed = (torch.randn(batch, 1, 28, 28), torch.full((batch,), 3, dtype=torch.int64))
        batches = iter(lambda: fixed, None)
    else:
        x, y = load(DATA_DIR, "train")
        generator = torch.Generator().manual_seed(0)

        def epochs():
            while True:
                order = torch.randperm(len(x), generator=generator)
                for i in range(len(x) // batch):
                    idx = order[i * batch:(i + 1) * batch]
                    yield x[idx], y[idx]

        batches = epochs()

    if name == "resnet18":
        model, lr = resnet18(), 0.05
    else:
        model, lr = make_model(name), (0.1 if name == "mlp" else 0.9)
        initialize(model, name, "d2l")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()

    gemms = MlpGemms(batch) if name == "mlp" else None
    times, gemm_times, cpu, loss = [], [], 0.0, None
    for step in range(warmup + steps):
        inputs, targets = next(batches)
        c0, t0 = time.process_time(), time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        t1, c1 = time.perf_counter(), time.process_time()
        gemm_ms = gemms.time_ms() if gemms else 0.0
        if step >= warmup:
            times.append((t1 - t0) * 1e3)
            gemm_times.append(gemm_ms)
            cpu += (c1 - c0) * 1e3
    times_sorted = sorted(times)
    median = times_sorted[len(times) // 2]
    print(f'{{"framework": "pytorch", "model": "{name}", "batch": {batch}, "threads": {threads}, "steps": {steps}, '
          f'"data": "{data}", "ms_median": {median:.4f}, "ms_mean": {np.mean(times):.4f}, "ms_min": {times_sorted[0]:.4f}, '
          f'"cpu_ms": {cpu / len(times):.4f}, "samples_per_s": {1e3 * batch / median:.1f}, '
          f'"peak_rss_mb": {peak_rss_mb():.1f}, "last_loss": {loss.item():.5f}, '
          f'"gemm_floor_ms": {sorted(gemm_times)[len(gemm_times) // 2]:.4f}}}')


if __name__ == "__main__":
    main()
