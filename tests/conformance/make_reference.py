#!/usr/bin/python3
"""Conformance reference for Perturb, computed in plain PyTorch.

How the committed files were produced (from the repository root):

    /usr/bin/python3 tests/conformance/make_reference.py

(Debian python3-torch 1.13.1, numpy, 2 CPU threads; no torchvision, no torchattacks.)
It writes, next to this script:

  fmnist_cnn.ts     a small CNN trained briefly on Fashion-MNIST, exported with
                    torch.jit.trace (eval mode, example input 1x1x28x28)
  reference.json    accuracies on the FIRST 1000 images of the Fashion-MNIST test
                    set (t10k order): clean, FGSM, PGD-20 (random start and not),
                    L2 PGD-20, with the settings, versions, seed and time taken.

The attacks are written out from their definitions with torchattacks semantics
(model.eval(), loss = mean cross-entropy over the batch, inputs kept in [0, 1]):

  FGSM    x_adv = clamp(x + eps * sign(grad), 0, 1)
  PGD     x_adv = clamp(x + U(-eps, eps), 0, 1)            (random start, optional)
          repeat: x_adv = x_adv + step * sign(grad)
                  x_adv = clamp(x + clamp(x_adv - x, -eps, eps), 0, 1)
  L2 PGD  delta = randn; delta *= eps * r / ||delta||_2, r ~ U(0, 1) per sample
          x_adv = clamp(x + delta, 0, 1)                   (random start)
          repeat: g = grad / (||grad||_2 + 1e-10)   per sample
                  x_adv = x_adv + step * g
                  delta = x_adv - x; delta *= min(1, eps / ||delta||_2) per sample
                  x_adv = clamp(x + delta, 0, 1)

Each attack runs on all 1000 images as one batch. Random starts draw from the
global torch CPU generator, re-seeded with torch.manual_seed(SEED) just before
each randomised attack, so the numbers are reproducible on this torch version.

The script takes under 3 minutes on 2 cores. Re-running it retrains the model;
if the numbers change, update the literals in conformance.ptb by hand.
"""
import gzip
import json
import os
import platform
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 0
DATA = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
N_EVAL = 1000
EPOCHS = 2
BATCH = 128
LR = 1e-3

FGSM_EPS = 0.1
PGD_EPS, PGD_STEP, PGD_STEPS = 0.1, 0.01, 20
L2_EPS, L2_STEPS = 1.5, 20
L2_STEP = 2.5 * L2_EPS / L2_STEPS


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


def accuracy(model, x, y):
    with torch.no_grad():
        return int((model(x).argmax(1) == y).sum().item()) / len(y)


def loss_grad(model, x, y):
    x = x.clone().detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)  # mean over the batch
    (g,) = torch.autograd.grad(loss, x)
    return g


def fgsm(model, x, y, eps):
    return torch.clamp(x + eps * loss_grad(model, x, y).sign(), 0, 1).detach()


def pgd_linf(model, x, y, eps, step, steps, random_start):
    x_adv = x.clone().detach()
    if random_start:
        x_adv = torch.clamp(x_adv + torch.empty_like(x_adv).uniform_(-eps, eps), 0, 1)
    for _ in range(steps):
        x_adv = x_adv + step * loss_grad(model, x_adv, y).sign()
        delta = torch.clamp(x_adv - x, -eps, eps)
        x_adv = torch.clamp(x + delta, 0, 1).detach()
    return x_adv


def pgd_l2(model, x, y, eps, step, steps, random_start):
    b = x.shape[0]
    x_adv = x.clone().detach()
    if random_start:
        delta = torch.empty_like(x_adv).normal_()
        n = delta.view(b, -1).norm(p=2, dim=1).view(b, 1, 1, 1)
        r = torch.zeros_like(n).uniform_(0, 1)
        delta = delta * r / n * eps
        x_adv = torch.clamp(x_adv + delta, 0, 1)
    for _ in range(steps):
        g = loss_grad(model, x_adv, y)
        gn = g.view(b, -1).norm(p=2, dim=1) + 1e-10
        x_adv = x_adv + step * g / gn.view(b, 1, 1, 1)
        delta = x_adv - x
        dn = delta.view(b, -1).norm(p=2, dim=1)
        factor = torch.clamp(eps / dn, max=1.0)  # dn == 0 gives inf, clamped to 1
        delta = delta * factor.view(b, 1, 1, 1)
        x_adv = torch.clamp(x + delta, 0, 1).detach()
    return x_adv


def main():
    t_start = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    np.random.seed(SEED)

    x_train = read_images(f"{DATA}/train-images-idx3-ubyte.gz")
    y_train = read_labels(f"{DATA}/train-labels-idx1-ubyte.gz")
    x_test = read_images(f"{DATA}/t10k-images-idx3-ubyte.gz")
    y_test = read_labels(f"{DATA}/t10k-labels-idx1-ubyte.gz")
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)

    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    t0 = time.time()
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        print(f"epoch {epoch + 1}: last loss {loss.item():.4f}, "
              f"test acc (10k) {accuracy(model, x_test, y_test):.4f}, "
              f"{time.time() - t0:.1f}s", flush=True)
    train_seconds = time.time() - t0
    model.eval()
    test_acc_10k = accuracy(model, x_test, y_test)

    ts_path = os.path.join(HERE, "fmnist_cnn.ts")
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(1, 1, 28, 28))
    traced.save(ts_path)

    # Evaluate the attacks on the exported model as Perturb will see it.
    net = torch.jit.load(ts_path)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x, y = x_test[:N_EVAL].contiguous(), y_test[:N_EVAL].contiguous()

    t1 = time.time()
    res = {"clean": accuracy(net, x, y)}
    res["fgsm"] = accuracy(net, fgsm(net, x, y, FGSM_EPS), y)
    torch.manual_seed(SEED)
    res["pgd20_random_start"] = accuracy(
        net, pgd_linf(net, x, y, PGD_EPS, PGD_STEP, PGD_STEPS, True), y)
    res["pgd20_no_random_start"] = accuracy(
        net, pgd_linf(net, x, y, PGD_EPS, PGD_STEP, PGD_STEPS, False), y)
    torch.manual_seed(SEED)
    res["l2_pgd20_random_start"] = accuracy(
        net, pgd_l2(net, x, y, L2_EPS, L2_STEP, L2_STEPS, True), y)
    attack_seconds = time.time() - t1

    out = {
        "description": "Plain-PyTorch reference for tests/conformance; see make_reference.py",
        "model": "tests/conformance/fmnist_cnn.ts",
        "model_bytes": os.path.getsize(ts_path),
        "architecture": "conv(1->16,3x3,pad1)-relu-maxpool2-conv(16->32,3x3,pad1)-relu-maxpool2"
                        "-flatten-linear(1568->64)-relu-linear(64->10)",
        "data": "Fashion-MNIST test set, first 1000 images (t10k order), pixel/255 in [0,1], Nx1x28x28",
        "n_eval": N_EVAL,
        "accuracy": res,
        "test_accuracy_10k_clean": test_acc_10k,
        "settings": {
            "training": {"optimizer": "Adam", "lr": LR, "batch": BATCH, "epochs": EPOCHS,
                         "train_set": "Fashion-MNIST train, 60000 images, reshuffled each epoch"},
            "loss": "cross_entropy, mean over the batch",
            "batch": "all 1000 images in one batch",
            "fgsm": {"threat": "Linf", "eps": FGSM_EPS},
            "pgd20_random_start": {"threat": "Linf", "eps": PGD_EPS, "step": PGD_STEP,
                                   "steps": PGD_STEPS, "random_start": True,
                                   "random_start_dist": "uniform[-eps,eps], then clamp [0,1]"},
            "pgd20_no_random_start": {"threat": "Linf", "eps": PGD_EPS, "step": PGD_STEP,
                                      "steps": PGD_STEPS, "random_start": False},
            "l2_pgd20_random_start": {"threat": "L2", "eps": L2_EPS, "step": L2_STEP,
                                      "steps": L2_STEPS, "random_start": True,
                                      "random_start_dist": "randn direction, radius eps*U(0,1), then clamp [0,1]",
                                      "grad_normalisation": "per-sample L2 norm + 1e-10"},
        },
        "seed": SEED,
        "rng": "torch.manual_seed(seed) at start (training) and again before each randomised attack",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "seconds": {"training": round(train_seconds, 2), "attacks": round(attack_seconds, 2),
                    "total": round(time.time() - t_start, 2)},
    }
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(res, indent=2))
    print(f"model {out['model_bytes']} bytes; total {out['seconds']['total']}s")


if __name__ == "__main__":
    main()
