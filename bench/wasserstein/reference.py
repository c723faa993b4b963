#!/usr/bin/python3
"""The reference side of bench/wasserstein: locuslab/projected_sinkhorn's own attack (pgd.py,
`attack`) on the conformance CNN and the first N Fashion-MNIST test images, one batch.

Usage: reference.py PS_DIR [--n 100] [--steps 20] [--eps 0.01] [--kernel 5] [--reg 3000]
                          [--sinkhorn-iters 50] [--threads 1]

PS_DIR is a checkout of https://github.com/locuslab/projected_sinkhorn (run.sh extracts one
from a git mirror). Their code is imported unchanged; two things are supplied around it:
 - `scipy` is stubbed: projected_sinkhorn.py imports scipy.special.lambertw at the top but the
   projection (objective '2norm') only uses their torch port, lambertw.py; Debian's python3-torch
   has no scipy beside it.
 - their package directory is put on sys.path, where its `from lambertw import lambertw` looks.

The attack's arguments are set to what Perturb's `PGD(Wasserstein(eps: 0.01, kernel: 5),
steps: 20, random_start: false)` does (their defaults in brackets):
  norm 'linfinity' [l2]: a sign step, as Perturb and the thesis's Algorithm 1;
  alpha 0.1 [0.1]; maxiters = steps [400]; p 1 [2]: cost sqrt(di^2 + dj^2), the 1-Wasserstein
  distance Perturb uses; regularization 3000 [1000]: Perturb's reg; sinkhorn_maxiters 50 [400]:
  Perturb's iters (their loop also stops when the dual objective changes by <= 1e-4 + 1e-4|obj|
  for the whole batch); epsilon_iters = steps + 1 [10]: no growth of eps, a fixed ball as in
  Perturb.
Their attack freezes an image once it is misclassified and returns the best iterate; its robust
accuracy is 1 - mean(err_best). Prints one line: `reference accuracy A seconds S nan_images K`
(S: the attack only; K: images of the result holding NaN, from float32 overflow).
"""
import argparse
import gzip
import os
import struct
import sys
import time
import types

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path, magic_expected):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    assert magic == magic_expected, f"{path}: bad magic {magic}"
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        arr = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, rows, cols)
        return torch.from_numpy(arr.astype(np.float32) / 255.0)
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ps_dir")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--eps", type=float, default=0.01)
    ap.add_argument("--kernel", type=int, default=5)
    ap.add_argument("--reg", type=float, default=3000)
    ap.add_argument("--sinkhorn-iters", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    scipy = types.ModuleType("scipy")
    scipy.special = types.ModuleType("scipy.special")
    scipy.special.lambertw = None  # only used by lamw_np, which the projection never calls
    sys.modules["scipy"], sys.modules["scipy.special"] = scipy, scipy.special
    sys.path.insert(0, os.path.join(args.ps_dir, "projected_sinkhorn"))
    sys.path.insert(0, args.ps_dir)
    from pgd import attack  # noqa: E402  (their attack, unchanged)

    x = read_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), 2051)[: args.n]
    y = read_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"), 2049)[: args.n]
    net = torch.jit.load(os.path.join(ROOT, "tests/conformance/fmnist_cnn.ts"))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)

    start = time.perf_counter()
    x_best, err_best, _ = attack(
        x, y, net, epsilon=args.eps, epsilon_iters=args.steps + 1, p=1,
        kernel_size=args.kernel, maxiters=args.steps, alpha=0.1, regularization=args.reg,
        sinkhorn_maxiters=args.sinkhorn_iters, ball="wasserstein", norm="linfinity")
    seconds = time.perf_counter() - start
    nan_images = int(torch.isnan(x_best.view(args.n, -1)).any(1).sum())
    accuracy = 1.0 - err_best.float().mean().item()
    print(f"reference accuracy {accuracy:.4f} seconds {seconds:.2f} nan_images {nan_images}")


if __name__ == "__main__":
    main()
