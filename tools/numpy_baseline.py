#!/usr/bin/python3
"""Plain-numpy baseline for bench/end_to_end_bench.cc: the same training loop, float64 as the
notebook computes, with the correct gradients (none of the notebook's bugs: the output gradient is
(σ(z) − y)/m, BatchNorm has its backward pass and trains γ and β, every gradient is computed before
any weight changes, L2 is λ/2·‖W‖² with gradient λ·W on the weights only).

  /usr/bin/python3 tools/numpy_baseline.py --data DIR [--cases notebook,deep] [--threads 1,2]

DIR holds the data sets as written by `end_to_end_bench --dump_data=DIR` (without --data, random
data of the same shapes). Prints a JSON list of {"name", "seconds", "threads", ...} to stdout,
with the same names as the simdnn benchmarks; progress goes to stderr.

  notebook/<experiment>  20-64-32-16-1 ReLU, He normal weights N(0, 2/fan_in), zero biases,
                         binary cross-entropy on logits, SGD lr 0.01, batch 32, --epochs epochs
                         over 600 samples; each epoch a random permutation, the training steps,
                         then the loss and accuracy of the whole training and validation sets in
                         eval mode. Dropout 0.3 (inverted) after each hidden ReLU; BatchNorm
                         (momentum 0.1, eps 1e-5, as PyTorch) between Dense (no bias) and ReLU.
  deep_mlp/batch:B/threads:T
                         one epoch of 256 → 20 × 256 → 1 (ReLU, He, SGD lr 0.001) over 10,000
                         samples in consecutive batches of B, OpenBLAS with T threads.
Seconds: the mean over --repeats runs after one untimed warm-up. Each thread count runs in its own
process with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to it before numpy loads.
"""
import os

from baseline_harness import (DEEP_DEPTH, DEEP_SAMPLES, DEEP_WIDTH, NOTEBOOK_SETS, Recorder, mean_seconds,
                              parse_args, run_children, set_thread_environment)

set_thread_environment()

import numpy as np  # noqa: E402

EPS = 1e-5


class Mlp:
    """Dense → (BatchNorm) → ReLU → (Dropout) per hidden layer, then Dense to one logit."""

    def __init__(self, sizes, rng, dropout=0.0, batch_norm=False):
        self.rng, self.p, self.bn = rng, dropout, batch_norm
        self.W = [rng.standard_normal((i, o)) * np.sqrt(2.0 / i) for i, o in zip(sizes[:-1], sizes[1:])]
        last = len(self.W) - 1
        self.b = [None if batch_norm and l < last else np.zeros(o) for l, o in enumerate(sizes[1:])]
        hidden = sizes[1:-1]
        self.gamma = [np.ones(o) for o in hidden]
        self.beta = [np.zeros(o) for o in hidden]
        self.mean = [np.zeros(o) for o in hidden]
        self.var = [np.ones(o) for o in hidden]

    def forward(self, x, train):
        self.cache = []
        h = x
        last = len(self.W) - 1
        for l, W in enumerate(self.W):
            z = h @ W
            if self.b[l] is not None:
                z += self.b[l]
            if l == last:
                self.cache.append((h, None, None, None, None))
                return z
            xhat = inv = None
            if self.bn:
                if train:
                    m = z.shape[0]
                    mu, var = z.mean(axis=0), z.var(axis=0)
                    self.mean[l] = 0.9 * self.mean[l] + 0.1 * mu
                    self.var[l] = 0.9 * self.var[l] + 0.1 * var * (m / max(m - 1, 1))
                else:
                    mu, var = self.mean[l], self.var[l]
                inv = 1.0 / np.sqrt(var + EPS)
                xhat = (z - mu) * inv
                z = xhat * self.gamma[l] + self.beta[l]
            active = z > 0
            a = np.where(active, z, 0.0)
            mask = None
            if train and self.p > 0:
                mask = (self.rng.random(a.shape) >= self.p) / (1.0 - self.p)
                a *= mask
            self.cache.append((h, active, mask, xhat, inv))
            h = a

    def backward(self, g):
        """g = dL/dlogits; returns (dW, db, dgamma, dbeta) lists, computed before any update."""
        n = len(self.W)
        dW, db, dgamma, dbeta = [None] * n, [None] * n, [None] * (n - 1), [None] * (n - 1)
        for l in range(n - 1, -1, -1):
            h = self.cache[l][0]
            dW[l] = h.T @ g
            if self.b[l] is not None:
                db[l] = g.sum(axis=0)
            if l == 0:
                break
            g = g @ self.W[l].T
            _, active, mask, xhat, inv = self.cache[l - 1]
            if mask is not None:
                g *= mask
            g = np.where(active, g, 0.0)
            if self.bn:
                m = g.shape[0]
                dgamma[l - 1] = (g * xhat).sum(axis=0)
                dbeta[l - 1] = g.sum(axis=0)
                dx = g * self.gamma[l - 1]
                g = inv / m * (m * dx - dx.sum(axis=0) - xhat * (dx * xhat).sum(axis=0))
        return dW, db, dgamma, dbeta

    def sgd(self, grads, lr, l2):
        dW, db, dgamma, dbeta = grads
        for l, W in enumerate(self.W):
            W -= lr * (dW[l] + l2 * W) if l2 else lr * dW[l]
            if db[l] is not None:
                self.b[l] -= lr * db[l]
        if self.bn:
            for l in range(len(self.gamma)):
                self.gamma[l] -= lr * dgamma[l]
                self.beta[l] -= lr * dbeta[l]


def bce_with_logits(z, y):
    """Mean loss and dL/dz = (σ(z) − y)/m."""
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return loss, (1.0 / (1.0 + np.exp(-z)) - y) / z.shape[0]


def train_step(model, x, y, lr, l2):
    loss, g = bce_with_logits(model.forward(x, True), y)
    model.sgd(model.backward(g), lr, l2)
    return loss


def evaluate(model, x, y):
    z = model.forward(x, False)
    return bce_with_logits(z, y)[0], float(np.mean((z > 0) == (y > 0.5)))


def notebook_run(d, dropout, l2, batch_norm, epochs, seed):
    rng = np.random.default_rng(seed)
    model = Mlp([20, 64, 32, 16, 1], rng, dropout, batch_norm)
    x, y, xv, yv = d["x_train"], d["y_train"], d["x_val"], d["y_val"]
    n = x.shape[0]
    val_acc = 0.0
    for _ in range(epochs):
        perm = rng.permutation(n)
        xs, ys = x[perm], y[perm]
        for i in range(0, n, 32):
            train_step(model, xs[i:i + 32], ys[i:i + 32], 0.01, l2)
        evaluate(model, x, y)
        _, val_acc = evaluate(model, xv, yv)
    return val_acc


def load(data_dir, name, shape, rng):
    if data_dir:
        return np.load(os.path.join(data_dir, name + ".npy")).astype(np.float64)
    if shape[1] == 1:
        return (rng.random(shape) > 0.5).astype(np.float64)
    return rng.standard_normal(shape)


def main():
    args = parse_args(__doc__)
    if run_children(__file__, args):
        return
    cases = args.cases.split(",")
    rng = np.random.default_rng(0)
    record = Recorder(args.suffix, impl="numpy", dtype="float64", version=np.__version__)
    if "notebook" in cases:
        d = {k: load(args.data, "notebook_" + k, s, rng) for k, s in NOTEBOOK_SETS}
        record.time_notebook(d, notebook_run, args)
    if "deep" in cases:
        x = load(args.data, "deep_x", (DEEP_SAMPLES, DEEP_WIDTH), rng)
        y = load(args.data, "deep_y", (DEEP_SAMPLES, 1), rng)
        threads = int(args.threads.split(",")[0])
        for batch in (int(b) for b in args.batches.split(",")):
            model = Mlp([DEEP_WIDTH] * (DEEP_DEPTH + 1) + [1], np.random.default_rng(1))
            params = sum(W.size for W in model.W) + sum(b.size for b in model.b if b is not None)
            for i in range(0, 4 * batch, batch):  # warm-up
                train_step(model, x[i:i + batch], y[i:i + batch], 0.001, 0.0)

            def epoch(_):
                loss = 0.0
                for i in range(0, DEEP_SAMPLES, batch):
                    loss = train_step(model, x[i:i + batch], y[i:i + batch], 0.001, 0.0)
                return loss

            seconds, loss = mean_seconds(epoch, args.repeats)
            record.record_deep(batch, threads, seconds, params, loss)
    record.print()


if __name__ == "__main__":
    main()
