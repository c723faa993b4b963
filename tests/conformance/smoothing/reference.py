#!/usr/bin/python3
"""Randomized-smoothing reference for Perturb, in plain PyTorch (Debian python3-torch 1.13.1,
python3-scipy 1.10.1, python3-statsmodels 0.13.5; no torchvision).

Two commands, run from the repository root:

  /usr/bin/python3 tests/conformance/smoothing/reference.py train --sigma 0.25
      Trains the CNN of tests/conformance/make_reference.py (conv16-conv32-fc64-fc10) on
      Fashion-MNIST with Gaussian noise augmentation (each training batch gets
      x + N(0, sigma^2), not clipped, as Cohen et al. train), Adam lr 1e-3, batch 128,
      EPOCHS epochs, seed 0, and exports it with torch.jit.trace to
      tests/conformance/smoothing/fmnist_cnn_noise{sigma}.ts.

  /usr/bin/python3 tests/conformance/smoothing/reference.py certify MODEL.ts --sigma 0.25 \
      --n0 100 --n 10000 --alpha 0.001 --batch 1000 --limit 100 --out OUT.json [--tsv OUT.tsv]
      Cohen, Rosenfeld and Kolter (2019)'s CERTIFY on the first LIMIT Fashion-MNIST test images,
      written from the paper's pseudocode and the structure of locuslab/smoothing's core.py:
        counts0 = counts of argmax f(x + e) over n0 samples, e ~ N(0, sigma^2 I)
        cA      = argmax counts0
        nA      = count of cA among n fresh samples
        pA      = proportion_confint(nA, n, alpha=2*alpha, method="beta")[0]
                  (the one-sided 1 - alpha Clopper-Pearson lower bound)
        abstain if pA < 1/2, else radius = sigma * norm.ppf(pA)
      Noise is drawn with torch.randn_like on a batch of copies (x.repeat), in batches of BATCH,
      under torch.no_grad(), as the reference does. Writes the reference's TSV columns
      (idx label predict radius correct time) and a JSON summary: certified accuracy at radii
      0, 0.25, 0.5, 0.75, 1, the noisy samples per second, threads, versions, seed.

The certify command also runs PREDICT when --predict N is given (two-sided binomial test on the
top two counts, scipy's binom_test), for the predict comparison.
"""
import argparse
import datetime
import gzip
import json
import os
import platform
import struct
import time
from math import ceil

import numpy as np
import scipy
import statsmodels
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.stats import binom_test, norm
from statsmodels.stats.proportion import proportion_confint

DATA = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
EPOCHS = 3
BATCH = 128
LR = 1e-3
RADII = [0, 0.25, 0.5, 0.75, 1.0]


def read_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    assert magic == 2051, f"{path}: bad magic {magic}"
    arr = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, rows, cols)
    return torch.from_numpy(arr.astype(np.float32) / 255.0)


def read_labels(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    assert magic == 2049, f"{path}: bad magic {magic}"
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    x_train = read_images(f"{DATA}/train-images-idx3-ubyte.gz")
    y_train = read_labels(f"{DATA}/train-labels-idx1-ubyte.gz")
    x_test = read_images(f"{DATA}/t10k-images-idx3-ubyte.gz")
    y_test = read_labels(f"{DATA}/t10k-labels-idx1-ubyte.gz")
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), BATCH):
            idx = perm[i:i + BATCH]
            x = x_train[idx]
            x = x + torch.randn_like(x) * args.sigma  # Gaussian data augmentation
            loss = F.cross_entropy(model(x), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            noisy = x_test + torch.randn_like(x_test) * args.sigma
            acc = (model(noisy).argmax(1) == y_test).float().mean().item()
            clean = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test acc clean {clean:.4f}, "
              f"under noise {acc:.4f}, {time.time() - t0:.1f}s", flush=True)
    out = args.out or os.path.join(HERE, f"fmnist_cnn_noise{args.sigma:g}.ts")
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(1, 1, 28, 28))
    traced.save(out)
    print(f"wrote {out}")


class Smooth:
    """Cohen et al.'s smoothed classifier g: CERTIFY and PREDICT."""

    ABSTAIN = -1

    def __init__(self, model, num_classes, sigma):
        self.model = model
        self.num_classes = num_classes
        self.sigma = sigma

    def sample_counts(self, x, num, batch_size):
        with torch.no_grad():
            counts = np.zeros(self.num_classes, dtype=int)
            remaining = num
            for _ in range(ceil(num / batch_size)):
                b = min(batch_size, remaining)
                remaining -= b
                batch = x.repeat((b, 1, 1, 1))
                noise = torch.randn_like(batch) * self.sigma
                predictions = self.model(batch + noise).argmax(1)
                counts += np.bincount(predictions.numpy(), minlength=self.num_classes)
            return counts

    def certify(self, x, n0, n, alpha, batch_size):
        counts_selection = self.sample_counts(x, n0, batch_size)
        c_a = int(counts_selection.argmax())
        counts_estimation = self.sample_counts(x, n, batch_size)
        n_a = int(counts_estimation[c_a])
        p_a = proportion_confint(n_a, n, alpha=2 * alpha, method="beta")[0]
        if p_a < 0.5:
            return Smooth.ABSTAIN, 0.0
        return c_a, self.sigma * norm.ppf(p_a)

    def predict(self, x, n, alpha, batch_size):
        counts = self.sample_counts(x, n, batch_size)
        top2 = counts.argsort()[::-1][:2]
        c1, c2 = counts[top2[0]], counts[top2[1]]
        if binom_test(c1, c1 + c2, p=0.5) > alpha:
            return Smooth.ABSTAIN
        return int(top2[0])


def certify(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_test = read_images(f"{DATA}/t10k-images-idx3-ubyte.gz")[: args.limit]
    y_test = read_labels(f"{DATA}/t10k-labels-idx1-ubyte.gz")[: args.limit]
    model = torch.jit.load(args.model)
    model.eval()
    smoothed = Smooth(model, 10, args.sigma)
    rows = []
    t_start = time.time()
    for i in range(len(x_test)):
        before = time.time()
        prediction, radius = smoothed.certify(x_test[i], args.n0, args.n, args.alpha, args.batch)
        elapsed = time.time() - before
        label = int(y_test[i])
        rows.append({"idx": i, "label": label, "predict": int(prediction), "radius": float(radius),
                     "correct": int(prediction == label), "time": elapsed})
        if args.verbose:
            print(f"{i}\t{label}\t{prediction}\t{radius:.3}\t{int(prediction == label)}\t"
                  f"{datetime.timedelta(seconds=elapsed)}", flush=True)
    seconds = time.time() - t_start
    samples = len(x_test) * (args.n0 + args.n)
    result = {
        "algorithm": "CERTIFY (Cohen et al. 2019), plain PyTorch",
        "model": os.path.relpath(args.model),
        "data": f"fashion-mnist t10k, first {args.limit}",
        "settings": {"sigma": args.sigma, "n0": args.n0, "n": args.n, "alpha": args.alpha,
                     "batch": args.batch, "seed": args.seed},
        "accuracy_at": {f"{r:g}": sum(1 for row in rows if row["correct"] and row["radius"] >= r)
                        / len(rows) for r in RADII},
        "abstain": sum(1 for row in rows if row["predict"] == -1) / len(rows),
        "seconds": seconds,
        "samples": samples,
        "samples_per_second": samples / seconds,
        "torch_threads": torch.get_num_threads(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "scipy": scipy.__version__,
                     "statsmodels": statsmodels.__version__},
        "rows": rows,
    }
    if args.predict:
        t0 = time.time()
        preds = [smoothed.predict(x_test[i], args.predict, args.alpha, args.batch)
                 for i in range(len(x_test))]
        result["predict"] = {"n": args.predict, "predictions": preds,
                             "accuracy": sum(int(p == int(y)) for p, y in zip(preds, y_test))
                             / len(preds),
                             "abstain": sum(int(p == -1) for p in preds) / len(preds),
                             "seconds": time.time() - t0}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    if args.tsv:
        with open(args.tsv, "w") as f:
            print("idx\tlabel\tpredict\tradius\tcorrect\ttime", file=f)
            for r in rows:
                print(f"{r['idx']}\t{r['label']}\t{r['predict']}\t{r['radius']:.3}\t"
                      f"{r['correct']}\t{datetime.timedelta(seconds=r['time'])}", file=f)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--sigma", type=float, required=True)
    t.add_argument("--epochs", type=int, default=EPOCHS)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--out")
    c = sub.add_parser("certify")
    c.add_argument("model")
    c.add_argument("--sigma", type=float, default=0.25)
    c.add_argument("--n0", type=int, default=100)
    c.add_argument("--n", type=int, default=10000)
    c.add_argument("--alpha", type=float, default=0.001)
    c.add_argument("--batch", type=int, default=1000)
    c.add_argument("--limit", type=int, default=100)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--predict", type=int, default=0)
    c.add_argument("--verbose", action="store_true")
    c.add_argument("--out", required=True)
    c.add_argument("--tsv")
    args = parser.parse_args()
    train(args) if args.command == "train" else certify(args)


if __name__ == "__main__":
    main()
