#!/usr/bin/env python3
"""Renders every <name>.plot.json figure spec in a repro output folder to PNG with matplotlib.

A spec names CSV files (written by repro beside it) and how to draw them; see
experiments/report.h (Figure, Panel, Series). Image panels are drawn in their image_style;
line panels get markers (thinned on long series) so that lines lying on each other stay
visible, and integer ticks on an x axis whose values are all whole numbers (epochs, layers).
"""
import csv
import glob
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

MARKERS = "os^vD<>px*h"


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns = {name: [] for name in header}
    for row in body:
        for name, cell in zip(header, row):
            try:
                columns[name].append(float(cell))
            except ValueError:
                columns[name].append(float("nan"))
    return header, columns


def read_image(folder, name):
    header, columns = read_csv(os.path.join(folder, name))
    return [[columns[h][r] for h in header] for r in range(len(columns[header[0]]))]


def finite(image):
    return [v for row in image for v in row if math.isfinite(v)]


def signed_limit(folder, panels):
    """The largest |value| over the figure's signed panels: their one shared scale."""
    values = [abs(v) for p in panels if p.get("image_style") == "signed"
              for v in finite(read_image(folder, p["image_csv"]))]
    return max(values, default=1.0) or 1.0


def draw_image(fig, ax, image, style, limit):
    if style == "signed":
        shown = ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        fig.colorbar(shown, ax=ax)
    elif style == "binary":
        levels = sorted(set(finite(image)))
        shown = ax.imshow(image, cmap=ListedColormap(["#f0f0f0", "#1f4e79"][:max(1, len(levels))]), aspect="auto")
        bar = fig.colorbar(shown, ax=ax, ticks=levels)
        bar.ax.set_yticklabels([f"{v:g}" for v in levels])
    elif style == "gray":
        ax.imshow(image, cmap="gray_r", aspect="equal")
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        shown = ax.imshow(image, cmap="Blues" if style == "counts" else "viridis", aspect="auto")
        fig.colorbar(shown, ax=ax)
        if style == "counts":
            top = max(finite(image), default=0.0)
            for r, row in enumerate(image):
                for c, v in enumerate(row):
                    if math.isfinite(v) and v != 0:
                        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=7,
                                color="white" if v > top / 2 else "black")
    if style != "gray":  # rows and columns are indices: whole-number ticks
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def draw_lines(ax, folder, panel):
    whole_x = True
    for index, series in enumerate(panel.get("series", [])):
        _, columns = read_csv(os.path.join(folder, series["csv"]))
        x, y = columns[series["x"]], columns[series["y"]]
        whole_x = whole_x and all(math.isfinite(v) and v == int(v) for v in x)
        ax.plot(x, y, label=series.get("label") or series["y"], marker=MARKERS[index % len(MARKERS)],
                markersize=4, markevery=max(1, len(x) // 12))
    if panel.get("series") and whole_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def draw(folder, spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    rows, cols = spec.get("rows", 1), spec.get("cols", 1)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    limit = signed_limit(folder, spec["panels"])
    for index, panel in enumerate(spec["panels"]):
        ax = axes[index // cols][index % cols]
        if panel.get("image_csv"):
            draw_image(fig, ax, read_image(folder, panel["image_csv"]), panel.get("image_style", ""), limit)
        draw_lines(ax, folder, panel)
        if panel.get("log_y"):
            ax.set_yscale("log")
        ax.set_title(panel.get("title", ""))
        ax.set_xlabel(panel.get("xlabel", ""))
        ax.set_ylabel(panel.get("ylabel", ""))
        if panel.get("series"):
            ax.grid(alpha=0.3)
            if len(panel["series"]) > 1:
                ax.legend(fontsize=8)
    for index in range(len(spec["panels"]), rows * cols):
        axes[index // cols][index % cols].axis("off")
    fig.suptitle(spec.get("title", ""))
    fig.tight_layout(rect=(0, 0, 1, 0.97))  # leave room for the figure title
    fig.savefig(os.path.join(folder, spec["png"]), dpi=90)
    plt.close(fig)


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "repro_out"
    specs = sorted(glob.glob(os.path.join(folder, "*.plot.json")))
    for spec in specs:
        draw(folder, spec)
    print(f"plot.py: drew {len(specs)} figures in {folder}")


if __name__ == "__main__":
    main()
