"""The convolution part of tools/bench_report: bench/conv_bench (simdnn beside oneDNN, in one
binary, 3 repetitions interleaved at random) and tools/torch_conv_baseline.py (PyTorch at the same
shapes, with Debian's /usr/bin/python3), and the "## Convolution" section of docs/BENCHMARKS.md.

JSON (in the bench_report JSON folder): conv_bench.json (Google Benchmark) and
torch_conv_baseline.json (a list of {"name", "seconds", "threads"}), absent when torch cannot be
imported. When the MNIST files are installed (tools/setup.sh --data), both sides also time the
whole run of `repro mnist`'s convolutional ResNet at 1 and 2 threads: PyTorch in
torch_conv_baseline.json, simdnn (`repro --threads T mnist`, its own timing of the ResNet's
training and per-epoch evaluation) in simdnn_mnist.json, a list of {"name", "seconds",
"test_accuracy", "threads"}. On a machine of two or more CPUs the 1-thread run is then repeated
with both programs at once, each pinned to its own CPU (taskset), so that both see the same
machine: on a shared VM one program's run can take a third longer than the next one's, which one
pair of runs in turns cannot tell from a speed difference. Those entries are named
mnist_resnet_cnn/threads:1/side_by_side on both sides.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import bench_report_e2e  # load() and write_json() of the JSON folder

SUITES = ["conv_bench"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"
FILES = {"simdnn": "conv_bench.json", "torch": "torch_conv_baseline.json", "mnist": "simdnn_mnist.json"}
INTERLEAVED = ["--benchmark_repetitions=3", "--benchmark_enable_random_interleaving=true"]
TARGETS = ["//experiments:repro"]  # built by bench_report beside the benchmarks
MNIST_THREADS = (1, 2)


def _mnist_dir():
    """The MNIST folder repro and torch_conv_baseline.py read (data/mnist.cc's rule), if installed."""
    d = os.environ.get("SIMDNN_MNIST_DIR") or os.path.expanduser("~/.local/share/simdnn/mnist")
    return d if os.path.exists(os.path.join(d, "9.json")) else None


def _repro_mnist(threads, pin=None):
    """{"name", "seconds", "test_accuracy", "threads"} of the ResNet in one `repro mnist` run;
    pin: a CPU to run it on (named .../side_by_side then), or None."""
    repro = os.path.join(ROOT, "bazel-bin", "experiments", "repro")
    with tempfile.TemporaryDirectory(prefix="simdnn-mnist-") as out:
        cmd = _pinned(pin) + [repro, "--threads", str(threads), "-o", out, "mnist"]
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "mnist_accuracy.csv"), newline="") as f:
            row = next(r for r in csv.DictReader(f) if r["model"].startswith("convolutional ResNet"))
    return {"name": f"mnist_resnet_cnn/threads:{threads}" + ("" if pin is None else "/side_by_side"),
            "seconds": float(row["seconds"]), "test_accuracy": float(row["test_acc"]), "threads": threads}


def _pinned(cpu):
    return [] if cpu is None else ["taskset", "-c", str(cpu)]


def _side_by_side():
    """The 1-thread MNIST run of both programs at once, each on its own CPU: (simdnn's entry,
    PyTorch's entry), or None where the machine has fewer than two CPUs or no taskset."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or not shutil.which("taskset"):
        print("convolution: no side-by-side MNIST run (it needs two CPUs and taskset)", file=sys.stderr)
        return None
    cmd = _pinned(cpus[1]) + [PYTHON, os.path.join(HERE, "torch_conv_baseline.py"), "--threads", "1", "--epoch-only"]
    print("+ " + " ".join(cmd) + " &", file=sys.stderr, flush=True)
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as torch_run:
        mine = _repro_mnist(1, pin=cpus[0])
        theirs = json.loads(torch_run.communicate()[0])
    if torch_run.returncode != 0:
        raise subprocess.CalledProcessError(torch_run.returncode, cmd)
    for entry in theirs:
        entry["name"] += "/side_by_side"
    return mine, theirs


def _torch_missing():
    """None when /usr/bin/python3 imports torch, otherwise the reason."""
    if not os.path.exists(PYTHON):
        return f"{PYTHON} not found"
    out = subprocess.run([PYTHON, "-c", "import torch"], capture_output=True, text=True)
    return None if out.returncode == 0 else (out.stderr.strip().splitlines() or ["import failed"])[-1]


def run_all(run_suite, binaries, json_dir, min_time, bench_env):
    out = {"simdnn": run_suite(binaries["conv_bench"], os.path.join(json_dir, FILES["simdnn"]), min_time,
                               bench_env, INTERLEAVED)}
    if _mnist_dir():
        out["mnist"] = [_repro_mnist(t) for t in MNIST_THREADS]
        bench_report_e2e.write_json(os.path.join(json_dir, FILES["mnist"]), out["mnist"])
    else:
        print("convolution: the MNIST runs are skipped (no MNIST files: tools/setup.sh --data)", file=sys.stderr)
    reason = _torch_missing()
    if reason:
        print(f"convolution: the PyTorch baseline is skipped ({reason}); tools/setup.sh --bench installs it",
              file=sys.stderr)
        return out
    cmd = [PYTHON, os.path.join(HERE, "torch_conv_baseline.py")]
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    res = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    out["torch"] = json.loads(res.stdout)
    pair = _side_by_side() if "mnist" in out else None
    if pair:
        out["mnist"].append(pair[0])
        out["torch"] += pair[1]
        bench_report_e2e.write_json(os.path.join(json_dir, FILES["mnist"]), out["mnist"])
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
          "runs) runs in the same session, not interleaved. \"vs\" columns: simdnn's speed over the peer's. "
          "GFLOP/s count the direct convolution's 2·k²·C_in·C_out per output pixel: where simdnn runs "
          "Winograd's F(2×2, 3×3) form (3×3 layers at stride 1 and padding 1 over 16 to 64 channels in "
          "whole vectors, on SSE2 and AVX2) "
          "they are effective rates, and can exceed the FMA peak.",
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
    md += _step_line(conv["simdnn"])
    md += _mnist_table({k: v / 1e3 for k, v in torch.items() if k.startswith("mnist_resnet_cnn/")},
                       {e["name"]: e for e in conv.get("mnist", [])})
    if not torch:
        md += ["", "PyTorch not run (no torch for /usr/bin/python3: tools/setup.sh --bench installs it)."]
    return md + [""]


def _step_line(results):
    """One sentence on `simdnn_resnet_step`: the ResNet's training step per thread count (medians)."""
    steps = {}
    for b in results["benchmarks"]:
        m = re.match(r"simdnn_resnet_step/mnist/threads:(\d+)", b["run_name"])
        if m and b.get("aggregate_name") == "median":
            steps[int(m.group(1))] = b["real_time"] / 1e3  # real_time in µs
    if not steps:
        return []
    times = ", ".join(f"{ms:.2f} ms at {_threads(f':{t}')}" for t, ms in sorted(steps.items()))
    return ["", f"One training step of `repro mnist`'s ResNet at batch 64 (`simdnn_resnet_step`: forward, loss, "
                f"backward, Adam), medians: {times}."]


def _mnist_table(torch_runs, simdnn_runs):
    """The whole `repro mnist` ResNet run, simdnn beside PyTorch, per thread count."""
    if not torch_runs and not simdnn_runs:
        return []
    md = ["", "`repro mnist`'s convolutional ResNet, the whole run (8 epochs over 8,000 images and the "
          "evaluation of 2,000 after each), simdnn's as `repro --threads T mnist` times it, PyTorch's "
          "(`tools/torch_conv_baseline.py`) with the same architecture, data, batch and optimizer; one run each, "
          "in turns, and at 1 thread once more side by side (both at once, each pinned to its own CPU):",
          "", "| threads | simdnn s | PyTorch s | simdnn / PyTorch speed | simdnn test accuracy |",
          "| ---: | ---: | ---: | ---: | ---: |"]

    def label(name):  # "mnist_resnet_cnn/threads:1/side_by_side" -> (1, "1, side by side")
        threads, _, mode = name.split(":")[-1].partition("/")
        return int(threads), threads + (", " + mode.replace("_", " ") if mode else "")

    for name in sorted(set(torch_runs) | set(simdnn_runs), key=label):
        mine, theirs = simdnn_runs.get(name), torch_runs.get(name)
        cells = [label(name)[1],
                 f"{mine['seconds']:.1f}" if mine else "–",
                 f"{theirs:.1f}" if theirs else "–",
                 f"{theirs / mine['seconds']:.2f}×" if mine and theirs else "–",
                 f"{mine['test_accuracy']:.4f}" if mine else "–"]
        md.append("| " + " | ".join(cells) + " |")
    return md
