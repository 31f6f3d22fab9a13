"""What every benchmark script of the suite shares: its command line, running a program under the suite's
environment, and writing its results as DIR/<name>.json (a list of flat records) and DIR/<name>.csv."""
import argparse
import csv
import json
import os
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(description):
    """--quick | --full, --out DIR, --build DIR: the interface run.sh calls every benchmark script with."""
    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="tiny sizes, to check that the harness works (CI)")
    mode.add_argument("--full", action="store_true", help="the figures (the default)")
    parser.add_argument("--out", required=True, help="folder for <name>.json and <name>.csv")
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"), help="lamina's build folder")
    args = parser.parse_args()
    args.build = os.path.abspath(args.build)
    os.makedirs(args.out, exist_ok=True)
    return args


def environment(threads):
    """The environment both sides of a comparison run under: the same thread counts and OpenBLAS core type."""
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE") or "Haswell",
                OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")


def run(command, threads, stderr=None):
    """Runs a program to completion under environment(threads); returns its stdout and its peak RSS in MB
    (getrusage of the child as wait4 reports it: its own peak, measured from outside; for mpirun, the largest of
    the processes it waited for)."""
    process = subprocess.Popen(command, env=environment(threads), stdout=subprocess.PIPE, stderr=stderr, text=True)
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, stdout)
    return stdout, usage.ru_maxrss / 1024.0


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def median(values):
    return statistics.median(values)


def write(out, name, records):
    """DIR/<name>.json (the list of records) and DIR/<name>.csv (one row each, the union of their fields)."""
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(records, f, indent=1)
    fields = list(dict.fromkeys(k for r in records for k in r))
    with open(os.path.join(out, f"{name}.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
