#!/usr/bin/python3
"""Item 1 of the suite, kernels (Google Benchmark): lamina's matmul next to OpenBLAS's sgemm called directly,
conv2d forward and forward+backward next to sgemm on the GEMM the convolution lowers to, in GFLOP/s; add, mul and
relu next to memcpy of the same bytes, in GB/s. 1 and 2 threads (OMP_NUM_THREADS = OPENBLAS_NUM_THREADS), both
sides in the same process with repetitions interleaved in random order; each figure is the median over them.

    benchmarks/kernels.py --quick|--full --out DIR [--build DIR]     writes DIR/kernels.json and DIR/kernels.csv
"""
import json
import os
import subprocess

import records

# ResNet-18's 3x3 convolutions of each stage (conv_benchmark.cpp).
RESNET_STAGES = {i: f"ResNet-18 stage {i} b16 {c}→{c} 3x3 {s}x{s}" for i, (c, s) in
                 enumerate(((64, 28), (128, 14), (256, 7), (512, 4)), start=1)}

# Google Benchmark's run name -> (kernel, impl, case); lamina's impl is compared with the other one of its kernel.
CASES = {
    "matmul": {
        "BM_LaminaMatmul/256/784/256/real_time": ("matmul", "lamina", "256x784 · 784x256"),
        "BM_OpenBlasSgemm/256/784/256/real_time": ("matmul", "openblas_sgemm", "256x784 · 784x256"),
        "BM_LaminaMatmul/1024/1024/1024/real_time": ("matmul", "lamina", "1024x1024 · 1024x1024"),
        "BM_OpenBlasSgemm/1024/1024/1024/real_time": ("matmul", "openblas_sgemm", "1024x1024 · 1024x1024"),
    },
    "conv": {
        "BM_Conv2dForward/lenet_conv1": ("conv2d forward", "lamina", "LeNet conv1 b256 1→6 5x5 28x28"),
        "BM_Conv2dForwardBackward/lenet_conv1": ("conv2d fwd+bwd", "lamina", "LeNet conv1 b256 1→6 5x5 28x28"),
        "BM_Conv2dForward/lenet_conv2": ("conv2d forward", "lamina", "LeNet conv2 b256 6→16 5x5 14x14"),
        "BM_Conv2dForwardBackward/lenet_conv2": ("conv2d fwd+bwd", "lamina", "LeNet conv2 b256 6→16 5x5 14x14"),
        # The reference of both conv kernels of a shape: sgemm on the forward pass's im2col GEMM.
        "BM_OpenBlasSgemm/lenet_conv1": ("conv2d", "openblas_sgemm", "LeNet conv1 b256 1→6 5x5 28x28"),
        "BM_OpenBlasSgemm/lenet_conv2": ("conv2d", "openblas_sgemm", "LeNet conv2 b256 6→16 5x5 14x14"),
        **{f"BM_Conv2dForwardBackward/resnet_stage{i}": ("conv2d fwd+bwd", "lamina", case)
           for i, case in RESNET_STAGES.items()},
        **{f"BM_OpenBlasSgemm/resnet_stage{i}": ("conv2d", "openblas_sgemm", case) for i, case in RESNET_STAGES.items()},
    },
    "elementwise": {
        "BM_Add/real_time": ("add", "lamina", "16M float32"),
        "BM_Mul/real_time": ("mul", "lamina", "16M float32"),
        "BM_Relu/real_time": ("relu", "lamina", "16M float32"),
        "BM_Memcpy/real_time": ("elementwise", "memcpy", "16M float32"),
        "BM_MemcpyParallel/real_time": ("elementwise", "memcpy_threads", "16M float32"),
    },
}
COUNTERS = {"matmul": ("FLOP/s", "gflops", 1e-9), "conv": ("GFLOP", "gflops", 1.0), "elementwise": ("bandwidth", "gbps", 1e-9)}


def main():
    args = records.parse_args(__doc__.split("\n")[0])
    repetitions, min_time, thread_counts = (1, 0.001, (1,)) if args.quick else (5, 0.2, (1, 2))
    results = []
    for threads in thread_counts:
        for program, cases in CASES.items():
            path = os.path.join(args.out, f"kernels-{program}-{threads}.gbench.json")
            load = records.load_average()
            records.run([os.path.join(args.build, "benchmarks", f"{program}_benchmark"),
                         f"--benchmark_repetitions={repetitions}", f"--benchmark_min_time={min_time}",
                         "--benchmark_enable_random_interleaving=true", f"--benchmark_out={path}",
                         "--benchmark_out_format=json"], threads, stderr=subprocess.DEVNULL)
            runs = json.load(open(path))["benchmarks"]
            os.remove(path)
            counter, field, scale = COUNTERS[program]
            # With one repetition Google Benchmark writes no aggregates: the single run is the median.
            wanted = "median" if repetitions > 1 else None
            for r in runs:
                if r["run_name"] not in cases or r.get("aggregate_name") != wanted:
                    continue
                kernel, impl, case = cases[r["run_name"]]
                ms = r["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0}[r["time_unit"]]
                results.append({"benchmark": "kernels", "kernel": kernel, "impl": impl, "case": case, "threads": threads,
                                field: r[counter] * scale, "ms": ms, "repetitions": repetitions, "load_average": load})
    records.write(args.out, "kernels", results)


if __name__ == "__main__":
    main()
