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
import os

from baseline_harness import (DEEP_DEPTH, DEEP_SAMPLES, DEEP_WIDTH, NOTEBOOK_SETS, Recorder, mean_seconds,
                              parse_args, run_children, set_thread_environment)

# BLAS and OpenMP pools size themselves when the libraries load, so each thread count runs in its
# own process with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set first (see main()).
set_thread_environment()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


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
    args = parse_args(__doc__)
    if run_children(__file__, args):
        return
    cases = args.cases.split(",")
    torch.set_num_interop_threads(1)
    gen = torch.Generator().manual_seed(0)
    record = Recorder(args.suffix, impl="pytorch", version=torch.__version__)
    if "notebook" in cases:
        torch.set_num_threads(1)
        d = {k: load(args.data, "notebook_" + k, s, gen) for k, s in NOTEBOOK_SETS}
        record.time_notebook(d, notebook_run, args)
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
                seconds, loss = mean_seconds(lambda _: deep_epoch(model, opt, loss_fn, x, y, batch), args.repeats)
                record.record_deep(batch, threads, seconds, params, loss)
    record.print()


if __name__ == "__main__":
    main()
