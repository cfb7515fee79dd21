"""What tools/numpy_baseline.py and tools/torch_baseline.py share: the cases, the command line,
one child process per thread count, timing and the JSON records. Standard library only, so that
importing it never loads a BLAS before OMP_NUM_THREADS / OPENBLAS_NUM_THREADS are set.
"""
import argparse
import json
import os
import subprocess
import sys
import time

NOTEBOOK_EXPERIMENTS = [  # name, dropout, L2, BatchNorm (as bench/end_to_end_bench.cc)
    ("basic", 0.0, 0.0, False),
    ("dropout", 0.3, 0.0, False),
    ("l2", 0.0, 0.01, False),
    ("dropout_l2_batchnorm", 0.3, 0.01, True),
]
DEEP_WIDTH, DEEP_DEPTH, DEEP_SAMPLES = 256, 20, 10000
NOTEBOOK_SETS = [("x_train", (600, 20)), ("y_train", (600, 1)), ("x_val", (200, 20)), ("y_val", (200, 1))]
THREADS_ENV = "SIMDNN_BASELINE_THREADS"


def set_thread_environment():
    """In a child process: size the BLAS and OpenMP pools before the numeric library loads."""
    threads = os.environ.get(THREADS_ENV)
    if threads:
        os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = threads


def parse_args(doc):
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="folder written by end_to_end_bench --dump_data")
    ap.add_argument("--cases", default="notebook,deep")
    ap.add_argument("--epochs", type=int, default=100, help="notebook epochs (the simdnn bench uses 100)")
    ap.add_argument("--threads", default="1,2", help="deep MLP thread counts")
    ap.add_argument("--batches", default="256", help="deep MLP batch sizes")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--suffix", default="", help="appended to every name (e.g. an environment tag)")
    return ap.parse_args()


def run_children(script, args):
    """In the parent process: runs `script` once per (thread count, case) — notebook cases at 1
    thread, the deep MLP at each count — prints their merged results and returns True. In a child
    process it returns False and the caller runs the cases itself."""
    if os.environ.get(THREADS_ENV):
        return False
    cases = args.cases.split(",")
    jobs = [("1", "notebook")] if "notebook" in cases else []
    jobs += [(t, "deep") for t in args.threads.split(",")] if "deep" in cases else []
    results = []
    for threads, case in jobs:
        env = dict(os.environ, **{THREADS_ENV: threads})
        out = subprocess.run([sys.executable, os.path.abspath(script), *sys.argv[1:], "--cases", case,
                              "--threads", threads], env=env, check=True, stdout=subprocess.PIPE, text=True)
        results += json.loads(out.stdout)
    print(json.dumps(results, indent=1))
    return True


def mean_seconds(run, repeats):
    """Mean wall time of `repeats` calls of run(rep), and the last call's result."""
    times, result = [], None
    for rep in range(repeats):
        t0 = time.perf_counter()
        result = run(rep)
        times.append(time.perf_counter() - t0)
    return sum(times) / len(times), result


class Recorder:
    """Collects result records (also echoed to stderr as they come) and prints them as JSON."""

    def __init__(self, suffix, **fixed):
        self.suffix, self.fixed, self.results = suffix, fixed, []

    def __call__(self, name, seconds, threads, **extra):
        r = {"name": name + self.suffix, "seconds": seconds, "threads": threads, **self.fixed, **extra}
        print(json.dumps(r), file=sys.stderr, flush=True)
        self.results.append(r)

    def time_notebook(self, data, notebook_run, args):
        """Every notebook experiment: one warm-up epoch, then the mean of args.repeats runs."""
        for name, dropout, l2, bn in NOTEBOOK_EXPERIMENTS:
            notebook_run(data, dropout, l2, bn, 1, 999)  # warm-up
            seconds, acc = mean_seconds(lambda rep: notebook_run(data, dropout, l2, bn, args.epochs, rep),
                                        args.repeats)
            self(f"notebook/{name}", seconds, 1, epochs=args.epochs, val_accuracy=acc)

    def record_deep(self, batch, threads, seconds, params, loss):
        self(f"deep_mlp/batch:{batch}/threads:{threads}", seconds, threads, params=params,
             gflops=6.0 * params * DEEP_SAMPLES / seconds * 1e-9, loss=float(loss))

    def print(self):
        print(json.dumps(self.results, indent=1))
