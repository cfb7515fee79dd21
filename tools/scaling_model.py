#!/usr/bin/env python3
"""Data-parallel scaling model for simdnn's dist/ (docs/BENCHMARKS.md, "Data-parallel training").

A step on p nodes costs the compute of its share of the batch plus the part of the gradient
reduction that the backward pass does not hide (dist/ reduces each layer while the layers before
it compute; --overlap is the share of a step's compute the reduction can run behind, about 0.6 for
an MLP: the backward pass is 2/3 of the FLOPs, less its last layer):
  T(p) = b * t_sample + max(0, T_reduce(p, n) - overlap * b * t_sample)
  efficiency(p) = b * t_sample / T(p)
with b samples per node, t_sample the measured compute time per sample on one node, n the
gradient bytes, and for the reduction, with link bandwidth B and latency a per message:
  ring allreduce:                          2 (p - 1)/p * n/B + 2 (p - 1) a
  halving-doubling (dist/'s tree_sum):     2 (p - 1)/p * n/B + 2 log2(p) a
It prints, for each network assumption, the efficiency at 2..64 nodes for the given per-node
batch with and without overlap, and the per-node batch at which 64 nodes stay at or above 80 %.

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
    ap.add_argument("--overlap", type=float, default=0.6, help="share of a step's compute the reduction hides behind")
    a = ap.parse_args()
    if a.t_sample_us <= 0 or a.grad_mb <= 0 or a.batch <= 0 or not 0 <= a.overlap < 1:
        ap.error("t-sample-us, grad-mb and batch must be positive, overlap in [0, 1)")
    n = a.grad_mb * 1e6
    t = a.t_sample_us * 1e-6
    print(f"compute {a.t_sample_us:g} µs per sample, gradient {a.grad_mb:g} MB, {a.batch} samples per node\n")
    for name, gbps, lat in NETWORKS:
        print(f"**{name}**\n")
        print("| nodes | ring allreduce | efficiency (ring) | dist/ reduction | efficiency (dist/) | "
              f"efficiency (dist/, overlap {a.overlap:g}) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        c = a.batch * t
        for p in NODES:
            r, d = ring(p, n, gbps, lat), halving_doubling(p, n, gbps, lat)
            hidden = c / (c + max(0.0, d - a.overlap * c))
            print(f"| {p} | {r * 1e3:.2f} ms | {c / (c + r):.0%} | {d * 1e3:.2f} ms | {c / (c + d):.0%} | {hidden:.0%} |")
        print()
        for label, f, ov in (("ring, no overlap", ring, 0.0), ("dist/, no overlap", halving_doubling, 0.0),
                             (f"dist/, overlap {a.overlap:g}", halving_doubling, a.overlap)):
            # efficiency >= 0.8  <=>  max(0, T_reduce - ov*c) <= c/4  <=>  c >= T_reduce / (ov + 1/4)
            b = math.ceil(f(64, n, gbps, lat) / (ov + 0.25) / t)
            print(f"64 nodes at ≥ 80 % ({label}): ≥ {b} samples per node (global batch {64 * b}).")
        print()


if __name__ == "__main__":
    main()
