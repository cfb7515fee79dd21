"""The layer and model suites of tools/bench_report (layers_bench, model_bench): their JSON
files, Markdown tables and PNG figures. bench_report imports this module; the figures are drawn
by tools/bench_plots.py with the first interpreter that has matplotlib (this one, then
/usr/bin/python3), and skipped with a notice when none has it.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

SUITES = ["layers_bench", "model_bench"]
JSON_FILES = {"layers_bench": "layers.json", "model_bench": "model.json"}
HERE = os.path.dirname(os.path.abspath(__file__))


def _entries(results):
    """(name without /real_time, benchmark dict) for the non-aggregate runs."""
    out = []
    for b in results or []:
        if b.get("run_type") == "aggregate":
            continue
        name = b["name"]
        if name.endswith("/real_time"):
            name = name[: -len("/real_time")]
        out.append((name, b))
    return out


def _us(b):
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
    return b["real_time"] * scale


def _time(us):
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.2f} µs" if us < 10 else f"{us:.1f} µs"


def _num(x, digits=2):
    if x is None:
        return "–"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f} M"
    if abs(x) >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.{digits}f}"


def load(json_dir):
    """The suites' JSON from json_dir; a missing file (an older run) gives None."""
    out = {}
    for suite, name in JSON_FILES.items():
        path = os.path.join(json_dir, name)
        if os.path.exists(path):
            with open(path) as f:
                out[suite] = json.load(f)
        else:
            print(f"note: {path} missing; its tables are skipped", file=sys.stderr)
            out[suite] = None
    return out


def run_all(run_suite, binaries, json_dir, min_time, env):
    return {s: run_suite(binaries[s], os.path.join(json_dir, JSON_FILES[s]), min_time, env) for s in SUITES}


# ---------------------------------------------------------------------------------------------
# Tables

def layers_table(results):
    rows = defaultdict(dict)  # layer -> shape -> (rate, unit, us)
    layers, shapes = [], []
    for name, b in _entries(results):
        layer, shape = name.split("/")[:2]
        if layer not in layers:
            layers.append(layer)
        if shape not in shapes:
            shapes.append(shape)
        if "GFLOP/s" in b:
            rows[layer][shape] = (b["GFLOP/s"], "GFLOP/s", _us(b))
        else:
            rows[layer][shape] = (b.get("Gelem/s"), "Gelem/s", _us(b))
    lines = ["| layer | " + " | ".join(shapes) + " |", "| --- |" + " ---: |" * len(shapes)]
    for layer in layers:
        cells = []
        for s in shapes:
            if s not in rows[layer]:
                cells.append("–")
                continue
            rate, unit, us = rows[layer][s]
            cells.append(f"{_num(rate)} {unit}<br>{_time(us)}")
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _model_groups(results):
    groups = defaultdict(list)
    for name, b in _entries(results):
        groups[name.split("/")[0]].append((name.split("/")[1:], b))
    return groups


def activation_table(groups):
    lines = ["| activation | time per step | val accuracy | epochs |", "| --- | ---: | ---: | ---: |"]
    for (act, *_), b in sorted(groups.get("activation", []), key=lambda e: _us(e[1])):
        lines.append(f"| {act} | {_time(_us(b))} | {b.get('val_accuracy', float('nan')):.3f} | "
                     f"{int(b.get('epochs', 0))} |")
    return "\n".join(lines)


def init_table(groups):
    targets = sorted({b.get("target") for _, b in groups.get("init", []) if b.get("target") is not None})
    target = f"epochs to val accuracy ≥ {targets[0]:g}" if len(targets) == 1 else "epochs to target"
    lines = [f"| init | activation | time per step | {target} | val accuracy at the end | "
             "first-layer gradient norm at start |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for (init, act, *_), b in groups.get("init", []):
        e = b.get("epochs_to_target", -1)
        epochs = f"{int(e)}" if e >= 0 else f"never (≤ {int(b.get('max_epochs', 0))})"
        lines.append(f"| {init} | {act} | {_time(_us(b))} | {epochs} | "
                     f"{b.get('final_val_accuracy', float('nan')):.3f} | "
                     f"{b.get('grad_norm_first_layer', float('nan')):.3g} |")
    return "\n".join(lines)


def depth_table(groups):
    by = defaultdict(dict)  # depth -> model -> b
    models = []
    for (model, depth, *_), b in groups.get("depth", []):
        if model not in models:
            models.append(model)
        by[int(depth)][model] = b
    lines = ["| depth | " + " | ".join(models) + " |", "| ---: |" + " ---: |" * len(models)]
    for depth in sorted(by):
        cells = []
        for m in models:
            b = by[depth].get(m)
            cells.append("–" if b is None else
                         f"{_time(_us(b))}<br>{_num(b.get('samples/s'))} samples/s<br>"
                         f"{_num(b.get('GFLOP/s'), 1)} GFLOP/s ({int(b.get('dense_layers', 0))} Dense)")
        lines.append(f"| {depth} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def threads_table(groups):
    lines = ["| model | depth | threads | time per step | samples/s | GFLOP/s | speed-up over 1 thread |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    base = {}
    for (model, depth, threads, *_), b in groups.get("threads", []):
        t = int(threads.split(":")[1])
        if t == 1:
            base[(model, depth)] = _us(b)
        one = base.get((model, depth))
        speedup = f"{one / _us(b):.2f}×" if one else "–"
        lines.append(f"| {model} | {depth} | {t} | {_time(_us(b))} | {_num(b.get('samples/s'))} | "
                     f"{_num(b.get('GFLOP/s'), 1)} | {speedup} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Figures

def _gemm_figure(gemm_results, path):
    best = defaultdict(dict)  # threads -> (library, size) -> GFLOP/s
    for b in gemm_results:
        if b.get("run_type") == "aggregate":
            continue
        parts = b["name"].split("/")
        m = re.fullmatch(r"square_(\d+)", parts[1]) if len(parts) > 2 else None
        if not m or not isinstance(b.get("GFLOP/s"), (int, float)):
            continue
        lib = parts[0].split("_")[0]
        threads = int(parts[2].split(":")[1])
        key = (lib, int(m.group(1)))
        best[threads][key] = max(best[threads].get(key, 0.0), b["GFLOP/s"])
    panels = []
    for threads in sorted(best):
        libs = sorted({lib for lib, _ in best[threads]})
        series = []
        for lib in libs:
            pts = sorted((n, g) for (l, n), g in best[threads].items() if l == lib)
            series.append({"label": lib, "x": [n for n, _ in pts], "y": [g for _, g in pts]})
        panels.append({"title": f"square SGEMM, {threads} thread{'s' if threads > 1 else ''}",
                       "kind": "lines", "xlabel": "n (n × n × n)", "ylabel": "GFLOP/s", "xlog": True,
                       "series": series})
    return {"file": path, "title": "GEMM throughput against size", "panels": panels} if panels else None


def figures(gemm_results, suites, docs_dir):
    """The figure specs (bench_plots.py) for the runs at hand; file names relative to docs_dir."""
    figs = []
    g = _gemm_figure(gemm_results, os.path.join(docs_dir, "bench_gemm.png"))
    if g:
        figs.append(g)
    if suites.get("model_bench"):
        groups = _model_groups(suites["model_bench"]["benchmarks"])
        by_model = defaultdict(list)
        for (model, depth, *_), b in groups.get("depth", []):
            by_model[model].append((int(depth), _us(b) / 1000, b.get("samples/s", 0)))
        if by_model:
            figs.append({"file": os.path.join(docs_dir, "bench_depth.png"), "title": "Training step against depth (1 thread)",
                         "panels": [
                             {"title": "time per step", "kind": "lines", "xlabel": "depth (hidden Dense layers)",
                              "ylabel": "ms", "xlog": True, "ylog": True,
                              "series": [{"label": m, "x": [d for d, _, _ in sorted(v)], "y": [t for _, t, _ in sorted(v)]}
                                         for m, v in by_model.items()]},
                             {"title": "throughput", "kind": "lines", "xlabel": "depth (hidden Dense layers)",
                              "ylabel": "samples/s", "xlog": True, "ylog": True,
                              "series": [{"label": m, "x": [d for d, _, _ in sorted(v)], "y": [s for _, _, s in sorted(v)]}
                                         for m, v in by_model.items()]}]})
        scaling = defaultdict(list)
        for (model, depth, threads, *_), b in groups.get("threads", []):
            scaling[f"{model} (depth {depth})"].append((int(threads.split(":")[1]), b.get("samples/s", 0)))
        if scaling:
            figs.append({"file": os.path.join(docs_dir, "bench_threads.png"), "title": "Thread scaling",
                         "panels": [{"title": "training throughput", "kind": "lines", "xlabel": "threads",
                                     "ylabel": "samples/s",
                                     "series": [{"label": k, "x": [t for t, _ in sorted(v)], "y": [s for _, s in sorted(v)]}
                                                for k, v in scaling.items()]}]})
        acts = sorted(groups.get("activation", []), key=lambda e: _us(e[1]))
        if acts:
            cats = [a for (a, *_), _ in acts]
            figs.append({"file": os.path.join(docs_dir, "bench_activations.png"),
                         "title": "Activations: notebook MLP 20-64-32-16-1, SGD, batch 32",
                         "panels": [{"title": "time per training step", "kind": "bars", "categories": cats,
                                     "ylabel": "µs", "series": [{"x": cats, "y": [_us(b) for _, b in acts]}]},
                                    {"title": "validation accuracy after the fixed epochs", "kind": "bars",
                                     "categories": cats, "ylabel": "accuracy",
                                     "series": [{"x": cats, "y": [b.get("val_accuracy") for _, b in acts]}]}]})
        inits = groups.get("init", [])
        if inits:
            init_names = []
            for (i, *_), _ in inits:
                if i not in init_names:
                    init_names.append(i)
            act_names = []
            for (_, a, *_), _ in inits:
                if a not in act_names:
                    act_names.append(a)
            table = {(i, a): b for (i, a, *_), b in inits}

            def series(value):
                return [{"label": a, "x": init_names,
                         "y": [value(table[(i, a)]) if (i, a) in table else None for i in init_names]}
                        for a in act_names]

            def epochs(b):
                e = b.get("epochs_to_target", -1)
                return e if e >= 0 else b.get("max_epochs", 0)

            figs.append({"file": os.path.join(docs_dir, "bench_init.png"),
                         "title": "Initializers × activations (notebook MLP)",
                         "panels": [{"title": "epochs to target val accuracy (never: drawn at the maximum)",
                                     "kind": "bars", "categories": init_names, "ylabel": "epochs",
                                     "series": series(epochs)},
                                    {"title": "first-layer gradient norm at start", "kind": "bars",
                                     "categories": init_names, "ylabel": "‖dL/dW₁‖", "ylog": True,
                                     "series": series(lambda b: b.get("grad_norm_first_layer") or None)}]})
    return figs


def draw(figs):
    """Draws the figures; returns the files written, or None when matplotlib is unavailable."""
    if not figs:
        return []
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(figs, f)
        spec = f.name
    try:
        for python in (sys.executable, "/usr/bin/python3"):
            if not python or not os.path.exists(python):
                continue
            rc = subprocess.run([python, os.path.join(HERE, "bench_plots.py"), spec],
                                stdout=sys.stderr).returncode
            if rc == 0:
                return [fig["file"] for fig in figs]
        return None
    finally:
        os.unlink(spec)


def _image(written, path, alt, rel_dir):
    if written is None:
        return "_(plots skipped: matplotlib is not installed)_"
    if path not in written:
        return ""
    return f"![{alt}]({os.path.relpath(path, rel_dir)})"


def markdown(gemm_results, suites, output):
    """The Markdown sections of the layer and model suites (and the GEMM figure)."""
    docs_dir = os.path.dirname(os.path.abspath(output))
    written = draw(figures(gemm_results, suites, docs_dir))
    img = {k: os.path.join(docs_dir, f"bench_{k}.png") for k in ("gemm", "depth", "threads", "activations", "init")}
    md = ["## Figures", "",
          "GEMM throughput against size (square shapes from the GEMM table; OpenBLAS: both core types "
          "drawn under one name, the faster per size):", "",
          _image(written, img["gemm"], "GFLOP/s against n per library", docs_dir), ""]
    if suites.get("layers_bench"):
        md += ["## Layers", "",
               "`bench/layers_bench.cc`: one forward (train mode) and one backward per iteration, 1 thread, at "
               "the shapes of `bench/layer_shapes.txt` (batch × width). `dense_relu` is Dense(width → width) with "
               "the fused ReLU, GFLOP/s = 6·batch·width² per iteration; the others report Gelem/s = batch·width "
               "per iteration (forward and backward together). `act_*` are ActivationLayer.", "",
               layers_table(suites["layers_bench"]["benchmarks"]), ""]
    if suites.get("model_bench"):
        groups = _model_groups(suites["model_bench"]["benchmarks"])
        md += ["## Activations compared", "",
               "`bench/model_bench.cc`, configurations in `bench/model_configs.txt`. The notebook's network "
               "(20-64-32-16-1, He normal) with each activation on the notebook's data "
               "(make_classification 1000 × 20, 15 informative, 5 redundant, seed 42; 600 training / 200 "
               "validation samples, standardized), SGD lr 0.01, batch 32, 1 thread. Time: one training step; "
               "accuracy: validation, after the stated epochs of `Trainer::fit`.", "",
               activation_table(groups), "",
               _image(written, img["activations"], "activations compared", docs_dir), "",
               "## Initializers compared", "",
               "The same network and training for each initializer × activation (initializers at their "
               "default parameters: normal σ 0.05, uniform ±0.05). Epochs to target: the first epoch whose "
               "validation accuracy reaches the target (from `bench/model_configs.txt`); the gradient norm is "
               "‖dL/dW‖ of the first Dense layer for the whole training set before any update.", "",
               init_table(groups), "",
               _image(written, img["init"], "initializers compared", docs_dir), "",
               "## Depth", "",
               "One SGD training step (forward, BCE loss, backward, update) at width 64, batch 128, 20 "
               "inputs, 1 thread. Depth counts hidden Dense layers: the plain MLP has that many, the ResNet "
               "depth/2 residual blocks of two Dense layers, the DenseNet depth/4 blocks of three layers "
               "(growth 16) plus a transition; the exact count (with stem and head) is in parentheses. "
               "GFLOP/s = 6 × weights × batch per step.", "",
               depth_table(groups), "",
               _image(written, img["depth"], "time per step against depth", docs_dir), "",
               "## Thread scaling", "",
               "The same step for 20 hidden layers of width 256 at batch 256, from 1 thread to the machine's "
               "cores.", "",
               threads_table(groups), "",
               _image(written, img["threads"], "thread scaling", docs_dir), ""]
    return md
