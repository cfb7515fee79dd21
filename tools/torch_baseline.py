#!/usr/bin/python3
"""PyTorch baseline for bench/end_to_end_bench.cc: the same training runs, timed in PyTorch.

  /usr/bin/python3 tools/torch_baseline.py --data DIR [--cases notebook,deep] [--threads 1,2]

DIR holds the data sets as written by `end_to_end_bench --dump_data=DIR` (without --data, random
data of the same shapes). Prints a JSON list of {"name", "seconds", "threads", ...} to stdout,
with the same names as the simdnn benchmarks; progress goes to stderr.

  notebook/<experiment>  20-64-32-16-1 ReLU, kaiming_normal_(fan_in, relu) weights and zero
                         biases, BCEWithLogitsLoss, SGD lr 0.01, batch 32, --epochs epochs over
                         600 samples, each epoch: a random permutation, the training steps, then
                         the loss and accuracy of the whole training and validation sets in eval
                         mode (as simdnn's Trainer.fit and the notebook). Dropout 0.3 after each
                         hidden ReLU; L2 0.01 as SGD weight_decay on the Linear weights only;
                         BatchNorm1d between Linear (no bias) and ReLU. 1 thread.
  deep_mlp/batch:B/threads:T
                         one epoch of 256 → 20 × 256 → 1 (ReLU, same init, SGD lr 0.001) over
                         10,000 samples in consecutive batches of B; torch.set_num_threads(T).
Seconds: the mean over --repeats runs after one untimed warm-up. Each thread count runs in its own
process with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to it (PyTorch's Linear calls the system
BLAS, Debian's OpenBLAS, whose pool would otherwise use every core); the environment is otherwise
left as it is.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def _threads_from_argv():
    # BLAS and OpenMP pools size themselves when the libraries load, so each thread count runs in
    # its own process with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set first (see main()).
    return os.environ.get("SIMDNN_BASELINE_THREADS")


if _threads_from_argv():
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = _threads_from_argv()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

NOTEBOOK_EXPERIMENTS = [  # name, dropout, L2, BatchNorm (as bench/end_to_end_bench.cc)
    ("basic", 0.0, 0.0, False),
    ("dropout", 0.3, 0.0, False),
    ("l2", 0.0, 0.01, False),
    ("dropout_l2_batchnorm", 0.3, 0.01, True),
]
DEEP_WIDTH, DEEP_DEPTH, DEEP_SAMPLES = 256, 20, 10000


def load(data_dir, name, shape, gen):
    if data_dir:
        return torch.from_numpy(np.load(os.path.join(data_dir, name + ".npy")).astype(np.float32))
    if shape[1] == 1:
        return (torch.rand(shape, generator=gen) > 0.5).float()
    return torch.randn(shape, generator=gen)


def mlp(sizes, dropout=0.0, batch_norm=False):
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(fan_in, fan_out, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def evaluate(model, loss_fn, x, y):
    with torch.no_grad():
        out = model(x)
        return loss_fn(out, y).item(), ((out > 0) == (y > 0.5)).float().mean().item()


def notebook_run(d, dropout, l2, batch_norm, epochs, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = mlp([20, 64, 32, 16, 1], dropout, batch_norm)
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    others = [p for p in model.parameters() if all(p is not w for w in weights)]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": l2}, {"params": others, "weight_decay": 0.0}],
                          lr=0.01)
    loss_fn = nn.BCEWithLogitsLoss()
    x, y, xv, yv = d["x_train"], d["y_train"], d["x_val"], d["y_val"]
    n = x.shape[0]
    val_acc = 0.0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        xs, ys = x[perm], y[perm]
        model.train()
        for i in range(0, n, 32):
            opt.zero_grad()
            loss = loss_fn(model(xs[i:i + 32]), ys[i:i + 32])
            loss.backward()
            opt.step()
        model.eval()
        evaluate(model, loss_fn, x, y)
        _, val_acc = evaluate(model, loss_fn, xv, yv)
    return val_acc


def deep_epoch(model, opt, loss_fn, x, y, batch):
    loss = None
    for i in range(0, x.shape[0], batch):
        opt.zero_grad()
        loss = loss_fn(model(x[i:i + batch]), y[i:i + batch])
        loss.backward()
        opt.step()
    return loss.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="folder written by end_to_end_bench --dump_data")
    ap.add_argument("--cases", default="notebook,deep")
    ap.add_argument("--epochs", type=int, default=100, help="notebook epochs (the simdnn bench uses 100)")
    ap.add_argument("--threads", default="1,2", help="deep MLP thread counts")
    ap.add_argument("--batches", default="256", help="deep MLP batch sizes")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--suffix", default="", help="appended to every name (e.g. an environment tag)")
    args = ap.parse_args()
    cases = args.cases.split(",")
    if not os.environ.get("SIMDNN_BASELINE_THREADS"):
        # One child process per thread count: notebook cases at 1 thread, deep MLP at each count.
        results = []
        jobs = [("1", "notebook")] if "notebook" in cases else []
        jobs += [(t, "deep") for t in args.threads.split(",")] if "deep" in cases else []
        for threads, case in jobs:
            env = dict(os.environ, SIMDNN_BASELINE_THREADS=threads)
            argv = [a for a in sys.argv[1:]]
            out = subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--cases", case,
                                  "--threads", threads], env=env, check=True, stdout=subprocess.PIPE, text=True)
            results += json.loads(out.stdout)
        print(json.dumps(results, indent=1))
        return
    torch.set_num_interop_threads(1)
    gen = torch.Generator().manual_seed(0)
    results = []

    def record(name, seconds, threads, **extra):
        r = {"name": name + args.suffix, "seconds": seconds, "threads": threads, "impl": "pytorch",
             "version": torch.__version__, **extra}
        print(json.dumps(r), file=sys.stderr, flush=True)
        results.append(r)

    if "notebook" in cases:
        torch.set_num_threads(1)
        d = {k: load(args.data, "notebook_" + k, s, gen) for k, s in
             [("x_train", (600, 20)), ("y_train", (600, 1)), ("x_val", (200, 20)), ("y_val", (200, 1))]}
        for name, dropout, l2, bn in NOTEBOOK_EXPERIMENTS:
            notebook_run(d, dropout, l2, bn, 1, 999)  # warm-up
            times, acc = [], 0.0
            for rep in range(args.repeats):
                t0 = time.perf_counter()
                acc = notebook_run(d, dropout, l2, bn, args.epochs, rep)
                times.append(time.perf_counter() - t0)
            record("notebook/" + name, sum(times) / len(times), 1, epochs=args.epochs, val_accuracy=acc)
    if "deep" in cases:
        x = load(args.data, "deep_x", (DEEP_SAMPLES, DEEP_WIDTH), gen)
        y = load(args.data, "deep_y", (DEEP_SAMPLES, 1), gen)
        for batch in (int(b) for b in args.batches.split(",")):
            for threads in (int(t) for t in args.threads.split(",")):
                torch.set_num_threads(threads)
                torch.manual_seed(1)
                model = mlp([DEEP_WIDTH] * (DEEP_DEPTH + 1) + [1])
                params = sum(p.numel() for p in model.parameters())
                opt = torch.optim.SGD(model.parameters(), lr=0.001)
                loss_fn = nn.BCEWithLogitsLoss()
                deep_epoch(model, opt, loss_fn, x[:4 * batch], y[:4 * batch], batch)  # warm-up
                times, loss = [], 0.0
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    loss = deep_epoch(model, opt, loss_fn, x, y, batch)
                    times.append(time.perf_counter() - t0)
                seconds = sum(times) / len(times)
                record(f"deep_mlp/batch:{batch}/threads:{threads}", seconds, threads, params=params,
                       gflops=6.0 * params * DEEP_SAMPLES / seconds * 1e-9, loss=loss)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
