"""PyTorch's F.conv2d on the shapes of conv_benchmark.cpp, for comparison (run with Debian's /usr/bin/python3).
Prints the median time and GFLOP/s of forward and forward+backward over several repetitions, one thread."""
import statistics
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

# name, batch, in channels, size, out channels, kernel, padding, input needs grad
SHAPES = [("lenet_conv1", 256, 1, 28, 6, 5, 2, False), ("lenet_conv2", 256, 6, 14, 16, 5, 0, True)]


def median_ms(fn, repetitions=7, min_time=0.5):
    """Median over repetitions of the mean time per call, in ms, by CPU time (as Google Benchmark's "CPU" column:
    on a shared machine wall time also counts the time other processes hold the core)."""
    fn()
    times = []
    for _ in range(repetitions):
        n, start = 0, time.process_time()
        while time.process_time() - start < min_time:
            fn()
            n += 1
        times.append((time.process_time() - start) / n * 1e3)
    return statistics.median(times)


for name, batch, cin, size, cout, k, pad, input_grad in SHAPES:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, cin, size, size, generator=g) * 2 - 1
    w = (torch.rand(cout, cin, k, k, generator=g) * 2 - 1) * 0.2
    b = (torch.rand(cout, generator=g) * 2 - 1) * 0.2
    out = size + 2 * pad - k + 1
    flops = 2.0 * batch * cout * out * out * cin * k * k
    gy = torch.rand(batch, cout, out, out, generator=g) * 2 - 1

    def forward():
        with torch.no_grad():
            F.conv2d(x, w, b, padding=pad)

    xg, wg, bg = x.clone().requires_grad_(input_grad), w.clone().requires_grad_(), b.clone().requires_grad_()

    def forward_backward():
        xg.grad = wg.grad = bg.grad = None
        F.conv2d(xg, wg, bg, padding=pad).backward(gy)

    f = median_ms(forward)
    fb = median_ms(forward_backward)
    passes = 3 if input_grad else 2
    print(f"{name}: forward {f:.3f} ms ({flops / f * 1e-6:.1f} GFLOP/s), "
          f"forward+backward {fb:.3f} ms ({passes * flops / fb * 1e-6:.1f} GFLOP/s)")
