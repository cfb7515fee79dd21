#!/usr/bin/python3
"""Runs the teaching notebook's own code and records every number it prints.

    tools/notebook_run.py NOTEBOOK [--out experiments/notebook_output.json]

NOTEBOOK is the notebook as plain text: markdown, and code cells that each start after a line
"In [...]:" and end at the next such line or at the next markdown heading ("## ..."; the code's
own comments use a single "#"). The cells run in order in one namespace, exactly as written,
with the random seeds they set (np.random.seed(42) in the first cell), under matplotlib's Agg
backend so that figures are drawn but not shown. Needs Debian's python3-numpy, python3-sklearn
and python3-matplotlib (tools/setup.sh --notebook).

The output JSON keeps the date, the package versions, the notebook's SHA-256, everything the
code printed, and the numbers `repro` sets beside its own (keys as in NUMBERS below). The file
is committed, so `repro` shows the notebook's numbers without Python; rerun this script to
refresh it. Exit status: 0 on success, 2 on bad arguments or a notebook that does not print
what NUMBERS expects.
"""
import argparse
import contextlib
import datetime
import hashlib
import io
import json
import platform
import re
import sys
import time

# (key, section the line follows, regular expression with one number group). The section is
# the line the notebook prints before the numbers, so that "Train Accuracy" of experiment 2 is
# not taken for experiment 1's.
NUMBERS = [
    ("vanishing.sigmoid", "Градиенты после 20 слоев:", r"^Sigmoid: (\S+)$"),
    ("vanishing.tanh", "Градиенты после 20 слоев:", r"^Tanh: (\S+)$"),
    ("vanishing.relu", "Градиенты после 20 слоев:", r"^ReLU: (\S+)$"),
    ("exploding.bad", "Норма градиента после 10 слоев:", r"^Плохая инициализация: (\S+)$"),
    ("exploding.xavier", "Норма градиента после 10 слоев:", r"^Xavier инициализация: (\S+)$"),
]
for number, name in ((1, "basic"), (2, "dropout"), (3, "l2"), (4, "all")):
    for split in ("Train", "Val", "Test"):
        NUMBERS.append((f"regularization.{name}.{split.lower()}_accuracy", f"Эксперимент {number}:",
                        rf"^{split} Accuracy: (\S+)$"))

CELL_START = re.compile(r"^In \[[^\]]*\]:\s*$")
MARKDOWN_HEADING = re.compile(r"^#{2,}\s")


def code_cells(text):
    """The notebook's code cells, in order, each as one string."""
    cells, current = [], None
    for line in text.splitlines():
        if CELL_START.match(line):
            if current is not None:
                cells.append("\n".join(current))
            current = []
        elif current is not None and MARKDOWN_HEADING.match(line):
            cells.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        cells.append("\n".join(current))
    return cells


def run_cells(cells):
    """Executes the cells in one namespace; returns what they printed and the seconds taken."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.show = lambda *args, **kwargs: plt.close("all")
    namespace = {"__name__": "__notebook__"}
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        for index, cell in enumerate(cells):
            exec(compile(cell, f"<notebook cell {index + 1}>", "exec"), namespace)
    return printed.getvalue(), time.perf_counter() - start


def extract_numbers(lines):
    """NUMBERS' values from the printed lines: {key: {"value": float, "printed": text}}."""
    found = {}
    for key, section, pattern in NUMBERS:
        start = next((i for i, line in enumerate(lines) if line.startswith(section)), None)
        if start is None:
            raise ValueError(f"the notebook printed no line starting {section!r} (for {key})")
        match = next((m for m in (re.match(pattern, line) for line in lines[start + 1:]) if m), None)
        if match is None:
            raise ValueError(f"no line matching {pattern!r} after {section!r} (for {key})")
        found[key] = {"value": float(match.group(1)), "printed": match.group(1)}
    return found


def versions():
    import matplotlib
    import numpy
    import sklearn
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__, "matplotlib": matplotlib.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", help="the notebook as plain text")
    parser.add_argument("--out", default="experiments/notebook_output.json", help="where to write the record")
    args = parser.parse_args()
    try:
        with open(args.notebook, "rb") as f:
            raw = f.read()
    except OSError as error:
        print(f"notebook_run: cannot read {args.notebook}: {error.strerror}", file=sys.stderr)
        return 2
    cells = code_cells(raw.decode("utf-8"))
    if not cells:
        print(f"notebook_run: {args.notebook}: no code cells (lines 'In [...]:')", file=sys.stderr)
        return 2
    printed, seconds = run_cells(cells)
    lines = printed.splitlines()
    try:
        numbers = extract_numbers(lines)
    except ValueError as error:
        print(f"notebook_run: {args.notebook}: {error}", file=sys.stderr)
        return 2
    record = {
        "recorded": datetime.date.today().isoformat(),
        "notebook_sha256": hashlib.sha256(raw).hexdigest(),
        "versions": versions(),
        "machine": platform.machine(),
        "seconds": round(seconds, 1),
        "cells": len(cells),
        "printed": lines,
        "numbers": numbers,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(record, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"notebook_run: {len(cells)} cells in {seconds:.1f} s; {len(numbers)} numbers written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
