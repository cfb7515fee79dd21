"""The convolution part of tools/bench_report: bench/conv_bench (simdnn beside oneDNN, in one
binary, 3 repetitions interleaved at random) and tools/torch_conv_baseline.py (PyTorch at the same
shapes, with Debian's /usr/bin/python3), and the "## Convolution" section of docs/BENCHMARKS.md.

JSON (in the bench_report JSON folder): conv_bench.json (Google Benchmark) and
torch_conv_baseline.json (a list of {"name", "seconds", "threads"}), absent when torch cannot be
imported. The PyTorch run times the MNIST ResNet too when the MNIST files are installed
(tools/setup.sh --data).
"""
import json
import os
import re
import subprocess
import sys

import bench_report_e2e  # load() and write_json() of the JSON folder

SUITES = ["conv_bench"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"
FILES = {"simdnn": "conv_bench.json", "torch": "torch_conv_baseline.json"}
INTERLEAVED = ["--benchmark_repetitions=3", "--benchmark_enable_random_interleaving=true"]


def _torch_missing():
    """None when /usr/bin/python3 imports torch, otherwise the reason."""
    if not os.path.exists(PYTHON):
        return f"{PYTHON} not found"
    out = subprocess.run([PYTHON, "-c", "import torch"], capture_output=True, text=True)
    return None if out.returncode == 0 else (out.stderr.strip().splitlines() or ["import failed"])[-1]


def run_all(run_suite, binaries, json_dir, min_time, bench_env):
    out = {"simdnn": run_suite(binaries["conv_bench"], os.path.join(json_dir, FILES["simdnn"]), min_time,
                               bench_env, INTERLEAVED)}
    reason = _torch_missing()
    if reason:
        print(f"convolution: the PyTorch baseline is skipped ({reason}); tools/setup.sh --bench installs it",
              file=sys.stderr)
        return out
    cmd = [PYTHON, os.path.join(HERE, "torch_conv_baseline.py")]
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    res = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    out["torch"] = json.loads(res.stdout)
    bench_report_e2e.write_json(os.path.join(json_dir, FILES["torch"]), out["torch"])
    return out


def load(json_dir):
    return bench_report_e2e.load(json_dir, FILES)


def _medians(results):
    """{(side, pass, shape, threads): (ms, GFLOP/s)} from the medians, and the shapes in order."""
    medians, first = {}, {}  # first: a shape's lowest benchmark family, i.e. the binary's order
    for b in results["benchmarks"]:
        m = re.match(r"(simdnn|onednn)_(forward|backward)/(.+)/threads:(\d+)", b["run_name"])
        if not m:
            continue
        first[m.group(3)] = min(first.get(m.group(3), b["family_index"]), b["family_index"])
        if b.get("aggregate_name") == "median":
            key = (m.group(1), m.group(2), m.group(3), int(m.group(4)))
            medians[key] = (b["real_time"] / 1e6, b.get("GFLOP/s"))  # real_time in ns
    return medians, sorted(first, key=first.get)


def _threads(name):
    n = int(name.split(":")[-1])
    return f"{n} thread" + ("" if n == 1 else "s")


def _label(shape):
    return shape.replace("_to_", " → ").replace("_s2", ", stride 2")


def markdown(conv):
    if not conv.get("simdnn"):
        return []
    medians, shapes = _medians(conv["simdnn"])
    torch = {e["name"]: e["seconds"] * 1e3 for e in conv.get("torch", [])}
    threads = sorted({k[3] for k in medians})
    md = ["## Convolution", "",
          "`bench/conv_bench`: Conv2D forward (training) and backward (input and weight gradients) at the "
          "shapes of `repro mnist`'s ResNet, batch 64, 3×3 kernels with padding 1, NHWC activations; oneDNN "
          "runs in the same binary with its own weight layout. Medians of 3 repetitions interleaved at "
          "random. PyTorch (`tools/torch_conv_baseline.py`, `nn.Conv2d` in channels_last, medians of 10 "
          "runs) runs in the same session, not interleaved. \"vs\" columns: simdnn's speed over the peer's.",
          "",
          "| shape | pass | threads | simdnn ms | simdnn GFLOP/s | oneDNN ms | vs oneDNN | PyTorch ms | vs PyTorch |",
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for shape in shapes:
        for step in ("forward", "backward"):
            for t in threads:
                mine, dnn = medians.get(("simdnn", step, shape, t)), medians.get(("onednn", step, shape, t))
                if not mine or not dnn:
                    continue
                pt = torch.get(f"conv/{step}/{shape}/threads:{t}")
                pt_cols = f"{pt:.2f} | {pt / mine[0]:.2f}×" if pt else "– | –"
                gflops = f"{mine[1]:.1f}" if mine[1] else "–"
                md.append(f"| {_label(shape)} | {step} | {t} | {mine[0]:.2f} | {gflops} | {dnn[0]:.2f} | "
                          f"{dnn[0] / mine[0]:.2f}× | {pt_cols} |")
    epochs = {k: v / 1e3 for k, v in torch.items() if k.startswith("mnist_resnet_cnn/")}
    if epochs:
        md += ["", "PyTorch's run of `repro mnist`'s convolutional ResNet (the same architecture and work): " +
               ", ".join(f"{s:.1f} s at {_threads(k)}" for k, s in sorted(epochs.items())) +
               "; `repro mnist` prints simdnn's (`resnet_cnn: ... in N s`)."]
    if not torch:
        md += ["", "PyTorch not run (no torch for /usr/bin/python3: tools/setup.sh --bench installs it)."]
    return md + [""]
