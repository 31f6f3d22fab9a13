#!/usr/bin/python3
"""Item 6 of the suite, checkpoints: nn::save_checkpoint and nn::load_checkpoint of a ResNet-18 state dict (44.7
MB) and a synthetic 500 MB one against a plain sequential write + fsync and read of the same bytes, on the same
disk in the same run (checkpoint_benchmark: medians over rounds that each run every variant once; cold reads drop
the file from the page cache first, warm reads find it there). 1 thread.

    benchmarks/checkpoint.py --quick|--full --out DIR [--build DIR]   writes DIR/checkpoint.json and .csv

--quick: 2 rounds, a 50 MB synthetic state dict. The files go to $LAMINA_BENCH_DIR (default /var/tmp).
"""
import json
import os

import records


def main():
    args = records.parse_args(__doc__.split("\n")[0])
    rounds, synthetic_mb = (2, 50) if args.quick else (7, 500)
    load = records.load_average()
    out, _ = records.run([os.path.join(args.build, "benchmarks", "checkpoint_benchmark"),
                          os.environ.get("LAMINA_BENCH_DIR", "/var/tmp"), str(rounds), str(synthetic_mb)], 1)
    results = [dict({"benchmark": "checkpoint"}, **json.loads(line), load_average=load)
               for line in out.splitlines() if line.startswith("{")]
    records.write(args.out, "checkpoint", results)


if __name__ == "__main__":
    main()
