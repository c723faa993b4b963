#!/usr/bin/python3
"""The ORIGINAL AutoAttack (fra31/auto-attack, imported, not re-written) on the Perturb bench:
the adversarially trained Fashion-MNIST CNN (tests/conformance/fmnist_at_cnn.ts), the first N
test images, Linf eps 0.1, version='standard', seed 0, one thread. The other side of
bench/attacks/autoattack_vs_original.sh (std.autoattack on the same images).

The fra31/auto-attack checkout is not part of this repository: pass its root (the folder that
holds the `autoattack` package) with --autoattack-dir or AUTOATTACK_DIR (default
/work/aa-original). Needs Debian's python3-torch and python3-numpy (apt-get install).

usage (repository root):
  /usr/bin/python3 bench/attacks/autoattack_original.py [N] [--autoattack-dir DIR]
      [--model PATH] [--eps E] [--threads K] [--bs B]
Prints AutoAttack's own log, then one JSON line: clean, robust accuracy after each attack,
robust, seconds (the run_standard_evaluation call) and wall seconds (the whole script).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

WALL_START = time.time()

import numpy as np  # noqa: E402
import torch  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def read_images(path, n):
    data = gzip.open(path, "rb").read()
    _, total, rows, cols = struct.unpack(">IIII", data[:16])
    pixels = np.frombuffer(data, np.uint8, offset=16).reshape(total, 1, rows, cols)[:n]
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


def read_labels(path, n):
    data = gzip.open(path, "rb").read()
    return torch.from_numpy(np.frombuffer(data, np.uint8, offset=8)[:n].astype(np.int64))


class Wrapped(torch.nn.Module):
    """AutoAttack calls model(x) and reads no module attributes; the TorchScript module would do,
    but a plain nn.Module keeps its checks (check_dynamic's tracing) on ordinary ground."""

    def __init__(self, scripted):
        super().__init__()
        self.net = scripted

    def forward(self, x):
        return self.net(x)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=200)
    ap.add_argument("--autoattack-dir", default=os.environ.get("AUTOATTACK_DIR", "/work/aa-original"))
    ap.add_argument("--model", default=os.path.join(root, "tests/conformance/fmnist_at_cnn.ts"))
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bs", type=int, default=250)
    args = ap.parse_args()

    if not os.path.isdir(os.path.join(args.autoattack_dir, "autoattack")):
        sys.exit(f"no autoattack package under {args.autoattack_dir} (fetch fra31/auto-attack there)")
    sys.path.insert(0, args.autoattack_dir)
    from autoattack import AutoAttack  # the original code

    torch.set_num_threads(args.threads)
    x = read_images(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), args.n)
    y = read_labels(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"), args.n)
    model = Wrapped(torch.jit.load(args.model, map_location="cpu")).eval()

    adversary = AutoAttack(model, norm="Linf", eps=args.eps, version="standard", seed=0, device="cpu")
    start = time.time()
    x_adv = adversary.run_standard_evaluation(x, y, bs=args.bs)
    seconds = time.time() - start
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).float().mean().item()
        robust = (model(x_adv).argmax(1) == y).float().mean().item()
        linf = (x_adv - x).abs().reshape(x.shape[0], -1).max(1)[0].max().item()
    print(json.dumps({
        "side": "original", "n": args.n, "clean": clean, "robust": robust, "max_linf": linf,
        "seconds": round(seconds, 1), "wall_seconds": round(time.time() - WALL_START, 1),
    }))


if __name__ == "__main__":
    main()
