#!/usr/bin/env python3
"""Draws the PNG figures of docs/BENCHMARKS.md with matplotlib.

  bench_plots.py SPEC.json    SPEC: a list of figures, each
    {"file": PATH, "title": STR, "panels": [{"title", "kind": "lines" | "bars", "xlabel",
     "ylabel", "xlog", "ylog", "categories" (bars), "series": [{"label", "x", "y"}]}]}
    lines: one line per series over x; bars: grouped bars, one group per category, one bar per
    series (y aligned with categories; null = no bar).
tools/bench_report runs it with an interpreter that has matplotlib (exit 3 when there is none).
"""
import json
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(3)


def draw_panel(ax, p):
    if p.get("kind") == "bars":
        cats = p["categories"]
        n = max(1, len(p["series"]))
        width = 0.8 / n
        for i, s in enumerate(p["series"]):
            xs = [j + (i - (n - 1) / 2) * width for j in range(len(cats))]
            pts = [(x, y) for x, y in zip(xs, s["y"]) if y is not None]
            ax.bar([x for x, _ in pts], [y for _, y in pts], width, label=s.get("label"))
        ax.set_xticks(range(len(cats)))
        ax.set_xticklabels(cats, rotation=45, ha="right", fontsize=8)
    else:
        for s in p["series"]:
            ax.plot(s["x"], s["y"], marker="o", label=s.get("label"))
    if p.get("xlog"):
        ax.set_xscale("log", base=2)
    if p.get("ylog"):
        ax.set_yscale("log")
    ax.set_title(p.get("title", ""), fontsize=10)
    ax.set_xlabel(p.get("xlabel", ""))
    ax.set_ylabel(p.get("ylabel", ""))
    ax.grid(True, alpha=0.3)
    if any(s.get("label") for s in p["series"]):
        ax.legend(fontsize=8)


def main():
    with open(sys.argv[1]) as f:
        figures = json.load(f)
    for fig_spec in figures:
        panels = fig_spec["panels"]
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
        for ax, p in zip(axes[0], panels):
            draw_panel(ax, p)
        if fig_spec.get("title"):
            fig.suptitle(fig_spec["title"])
        fig.tight_layout()
        fig.savefig(fig_spec["file"], dpi=100)
        plt.close(fig)
        print(f"wrote {fig_spec['file']}")


if __name__ == "__main__":
    main()
