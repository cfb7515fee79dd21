"""The end-to-end part of tools/bench_report: bench/end_to_end_bench (simdnn) beside
tools/torch_baseline.py (PyTorch) and tools/numpy_baseline.py (plain numpy, float64), run in one
session, and the "## End to end" section of docs/BENCHMARKS.md.

The baselines run with Debian's /usr/bin/python3 (where python3-torch and python3-numpy live; the
`python3` on PATH may be another build) in the default environment, as a user would run them;
PyTorch's deep MLP runs a second time tuned: the OPENBLAS_* overrides removed (as for the simdnn
suites: OpenBLAS then picks its AVX-512 kernels) and OMP_WAIT_POLICY=PASSIVE (PyTorch's spinning
OpenMP workers otherwise starve OpenBLAS's own threads at 2 threads). When torch or numpy cannot be imported the
section says so and how to install them (tools/setup.sh --bench).

JSON (in the bench_report JSON folder): end_to_end.json (Google Benchmark), torch.json,
torch_tuned.json and numpy.json (lists of {"name", "seconds", "threads", ...}), or
end_to_end_skipped.json with the reason.
"""
import json
import os
import subprocess
import sys
import tempfile

SUITES = ["end_to_end_bench"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"
FILES = {"simdnn": "end_to_end.json", "torch": "torch.json", "torch_tuned": "torch_tuned.json",
         "numpy": "numpy.json", "skipped": "end_to_end_skipped.json"}
EXPERIMENTS = ["basic", "dropout", "l2", "dropout_l2_batchnorm"]


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def _python_missing():
    """None when /usr/bin/python3 imports torch and numpy, otherwise the reason."""
    if not os.path.exists(PYTHON):
        return f"{PYTHON} not found"
    out = subprocess.run([PYTHON, "-c", "import numpy, torch"], capture_output=True, text=True)
    if out.returncode != 0:
        return (out.stderr.strip().splitlines() or ["import failed"])[-1]
    return None


def run_all(run_suite, binaries, json_dir, min_time, bench_env):
    """Runs simdnn's end-to-end suite and, when importable, the PyTorch and numpy baselines."""
    binary = binaries["end_to_end_bench"]
    out = {"simdnn": run_suite(binary, os.path.join(json_dir, FILES["simdnn"]), max(min_time, 1.0), bench_env)}
    reason = _python_missing()
    if reason:
        out["skipped"] = {"reason": reason}
        write_json(os.path.join(json_dir, FILES["skipped"]), out["skipped"])
        print(f"end to end: PyTorch/numpy baselines skipped ({reason}); install them with "
              "tools/setup.sh --bench", file=sys.stderr)
        return out
    skipped = os.path.join(json_dir, FILES["skipped"])
    if os.path.exists(skipped):
        os.remove(skipped)
    data = tempfile.mkdtemp(prefix="simdnn-e2e-data-")  # 10 MB of .npy: kept out of the JSON folder
    subprocess.run([binary, f"--dump_data={data}"], check=True, stdout=subprocess.DEVNULL)
    jobs = [("torch", "torch_baseline.py", [], dict(os.environ)),
            ("torch_tuned", "torch_baseline.py", ["--cases", "deep"], dict(bench_env, OMP_WAIT_POLICY="PASSIVE")),
            ("numpy", "numpy_baseline.py", [], dict(os.environ))]
    for key, script, extra, env in jobs:
        cmd = [PYTHON, os.path.join(HERE, script), "--data", data, *extra]
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
        res = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
        out[key] = json.loads(res.stdout)
        write_json(os.path.join(json_dir, FILES[key]), out[key])
    return out


def load(json_dir, files=FILES):
    """{key: the JSON of files[key]} for the files present in json_dir."""
    out = {}
    for key, name in files.items():
        path = os.path.join(json_dir, name)
        if os.path.exists(path):
            with open(path) as f:
                out[key] = json.load(f)
    return out


def _simdnn(results):
    """name (without /real_time) -> (seconds, GFLOP/s or None)."""
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    rows = {}
    for b in (results or {}).get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        name = b["name"].removesuffix("/real_time")
        g = b.get("GFLOP/s")
        rows[name] = (b["real_time"] * scale[b.get("time_unit", "ns")], g if isinstance(g, (int, float)) else None)
    return rows


def _by_name(results):
    return {r["name"]: r for r in results or []}


def _ratio(a, b):
    return f"**{b / a:.1f}×**" if a and b else "–"


def markdown(e2e):
    if not e2e.get("simdnn"):
        return []
    s = _simdnn(e2e["simdnn"])
    torch, torch_tuned, numpy = (_by_name(e2e.get(k)) for k in ("torch", "torch_tuned", "numpy"))
    md = ["## End to end", "",
          "The same training runs in simdnn (`bench/end_to_end_bench`), PyTorch "
          "(`tools/torch_baseline.py`) and plain numpy in float64, as the notebook computes "
          "(`tools/numpy_baseline.py`, with correct gradients), in one session on the same data "
          "(written by `end_to_end_bench --dump_data`). Seconds per run; \"× PyTorch\" and \"× numpy\" "
          "say how many times faster simdnn is. PyTorch and numpy run in the default environment, each "
          "thread count in its own process with `torch.set_num_threads(n)` and "
          "`OMP_NUM_THREADS`/`OPENBLAS_NUM_THREADS` = n (PyTorch's Linear calls Debian's OpenBLAS).", ""]
    if "skipped" in e2e:
        md += [f"PyTorch and numpy baselines skipped: {e2e['skipped'].get('reason')}. Install them with "
               "`tools/setup.sh --bench` (Debian's python3-torch and python3-numpy) and rerun "
               "`tools/bench_report`.", ""]
    epochs = next((r.get("epochs") for r in (e2e.get("torch") or []) if r.get("epochs")), 100)
    md += [f"**The notebook's four experiments** (20-64-32-16-1 ReLU, He init, SGD lr 0.01, batch 32, "
           f"{epochs} epochs over 600 samples, the training and validation sets evaluated after every "
           "epoch; 1 thread; targets: ≥ 50× PyTorch, ≥ 20× numpy):", "",
           "| experiment | simdnn | PyTorch | numpy (float64) | × PyTorch | × numpy |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for e in EXPERIMENTS:
        name = "notebook/" + e
        if name not in s:
            continue
        t, tp, tn = s[name][0], torch.get(name, {}).get("seconds"), numpy.get(name, {}).get("seconds")
        md.append(f"| {e} | {t * 1e3:.1f} ms | {tp * 1e3:.1f} ms | {tn * 1e3:.1f} ms | {_ratio(t, tp)} | "
                  f"{_ratio(t, tn)} |" if tp and tn else
                  f"| {e} | {t * 1e3:.1f} ms | – | – | – | – |")
    md += ["", "**Deep MLP** (256 → 20 × 256 → 1, ReLU, He init, SGD lr 0.001, one epoch of 10,000 samples "
           "in batches of 256; GFLOP/s = 6 × parameters × 10,000 / seconds; target on 2 threads: "
           "≥ 200 GFLOP/s and ≥ 3× PyTorch):", "",
           "| threads | simdnn | GFLOP/s | PyTorch | numpy (float64) | × PyTorch | × numpy | PyTorch tuned¹ | "
           "× PyTorch tuned |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for t in (1, 2):
        name = f"deep_mlp/batch:256/threads:{t}"
        if name not in s:
            continue
        sec, g = s[name]
        tp, td, tn = (d.get(name, {}).get("seconds") for d in (torch, torch_tuned, numpy))

        def cell(x):
            return f"{x:.3f} s" if x else "–"
        md.append(f"| {t} | {sec:.3f} s | {g:.0f} | {cell(tp)} | {cell(tn)} | {_ratio(sec, tp)} | "
                  f"{_ratio(sec, tn)} | {cell(td)} | {_ratio(sec, td)} |")
    md += ["", "¹ Not the default environment: OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE removed (OpenBLAS's "
           "detected AVX-512 kernels instead of this machine's Haswell override) and OMP_WAIT_POLICY=PASSIVE "
           "(in the default environment PyTorch's spinning OpenMP workers and OpenBLAS's threads compete "
           "for the cores, which makes 2 threads slower than 1)."]
    scaling = sorted(((int(n.split("threads:")[1]), v) for n, v in s.items() if n.startswith("deep_mlp/batch:1024/")))
    if scaling:
        base = scaling[0][1][0] if scaling[0][0] == 1 else None
        md += ["", "**Thread scaling**, deep MLP at batch 1024 (simdnn; target ≥ 12× at 16 threads over 1; "
               f"this machine has {scaling[-1][0]} core(s), so only 1 → {scaling[-1][0]} is measured here):", "",
               "| threads | seconds per epoch | GFLOP/s | speed-up over 1 thread |",
               "| ---: | ---: | ---: | ---: |"]
        for t, (sec, g) in scaling:
            md.append(f"| {t} | {sec:.3f} | {g:.0f} | {base / sec:.2f}× |" if base else f"| {t} | {sec:.3f} | {g:.0f} | – |")
    return md + [""]
