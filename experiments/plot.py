#!/usr/bin/env python3
"""Renders every <name>.plot.json figure spec in a repro output folder to PNG with matplotlib.

A spec names CSV files (written by repro beside it) and how to draw them; see
experiments/report.h (Figure, Panel, Series).
"""
import csv
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


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


def draw(folder, spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    rows, cols = spec.get("rows", 1), spec.get("cols", 1)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for index, panel in enumerate(spec["panels"]):
        ax = axes[index // cols][index % cols]
        if panel.get("image_csv"):
            header, columns = read_csv(os.path.join(folder, panel["image_csv"]))
            image = [[columns[h][r] for h in header] for r in range(len(columns[header[0]]))]
            shown = ax.imshow(image, cmap="viridis", aspect="auto")
            fig.colorbar(shown, ax=ax)
        for series in panel.get("series", []):
            _, columns = read_csv(os.path.join(folder, series["csv"]))
            ax.plot(columns[series["x"]], columns[series["y"]], label=series.get("label") or series["y"])
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
