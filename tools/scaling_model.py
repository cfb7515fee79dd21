#!/usr/bin/env python3
"""Data-parallel scaling model for simdnn's dist/ (docs/BENCHMARKS.md, "Data-parallel training").

A step on p nodes costs the compute of its share of the batch plus the gradient reduction, not
overlapped (dist/ reduces after the backward pass):
  T(p) = b * t_sample + T_reduce(p, n),   efficiency(p) = b * t_sample / T(p)
with b samples per node, t_sample the measured compute time per sample on one node, n the
gradient bytes, and for the reduction, with link bandwidth B and latency a per message:
  ring allreduce:                          2 (p - 1)/p * n/B + 2 (p - 1) a
  halving-doubling (dist/'s tree_sum):     2 (p - 1)/p * n/B + 2 log2(p) a
It prints, for each network assumption, the efficiency at 2..64 nodes for the given per-node
batch, and the per-node batch at which 64 nodes stay at or above 80 % (b * t_sample >= 4 T_reduce).

  tools/scaling_model.py --t-sample-us 95 --grad-mb 5.3 --batch 256
"""
import argparse
import math

NETWORKS = [  # name, bandwidth in GB/s, latency in microseconds
    ("10 GbE (1.25 GB/s, 50 µs)", 1.25, 50.0),
    ("100 Gb/s InfiniBand EDR (12.5 GB/s, 2 µs)", 12.5, 2.0),
]
NODES = [2, 4, 8, 16, 32, 64]


def ring(p, n_bytes, gbps, lat_us):
    return 2 * (p - 1) / p * n_bytes / (gbps * 1e9) + 2 * (p - 1) * lat_us * 1e-6


def halving_doubling(p, n_bytes, gbps, lat_us):
    return 2 * (p - 1) / p * n_bytes / (gbps * 1e9) + 2 * math.log2(p) * lat_us * 1e-6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--t-sample-us", type=float, required=True, help="measured compute time per sample, µs")
    ap.add_argument("--grad-mb", type=float, required=True, help="gradient size, MB (1e6 bytes)")
    ap.add_argument("--batch", type=int, default=256, help="samples per node per step")
    a = ap.parse_args()
    if a.t_sample_us <= 0 or a.grad_mb <= 0 or a.batch <= 0:
        ap.error("every value must be positive")
    n = a.grad_mb * 1e6
    t = a.t_sample_us * 1e-6
    print(f"compute {a.t_sample_us:g} µs per sample, gradient {a.grad_mb:g} MB, {a.batch} samples per node\n")
    for name, gbps, lat in NETWORKS:
        print(f"**{name}**\n")
        print("| nodes | ring allreduce | efficiency (ring) | halving-doubling (dist/) | efficiency (dist/) |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for p in NODES:
            r, d = ring(p, n, gbps, lat), halving_doubling(p, n, gbps, lat)
            c = a.batch * t
            print(f"| {p} | {r * 1e3:.2f} ms | {c / (c + r):.0%} | {d * 1e3:.2f} ms | {c / (c + d):.0%} |")
        for label, f in (("ring", ring), ("dist/'s halving-doubling", halving_doubling)):
            b = math.ceil(4 * f(64, n, gbps, lat) / t)
            print(f"\n64 nodes at ≥ 80 % with {label}: ≥ {b} samples per node (global batch {64 * b}).", end="")
        print("\n")


if __name__ == "__main__":
    main()
