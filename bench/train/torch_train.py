#!/usr/bin/env python3
"""Plain-PyTorch training loop matching Perturb's train() for bench/train/run.sh.

usage: /usr/bin/python3 bench/train/torch_train.py METHOD N EPOCHS THREADS
  METHOD  standard | madry | fast | trades
Same model as zoo.small_cnn (conv32-pool-conv64-pool-fc128-fc10), same data (the first N
Fashion-MNIST training images, [0, 1]), batch 128, SGD(lr 0.05, momentum 0.9), shuffled each
epoch; madry: PGD-7, step 0.035, eps 0.1, random start, attack in eval mode (as Perturb's PGD);
fast: FGSM from a uniform start, step 1.25·eps (Wong et al. 2020); trades: 7 KL steps, beta 6.
Prints one line per epoch: "epoch E seconds S loss L".
"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DIR = "/usr/share/datasets/fashion-mnist"
EPS, STEPS, STEP, BATCH = 0.1, 7, 0.035, 128


def load(n):
    with gzip.open(f"{DIR}/train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    with gzip.open(f"{DIR}/train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return torch.from_numpy(x.astype(np.float32) / 255), torch.from_numpy(y.astype(np.int64))


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def pgd(model, x, y):
    model.eval()
    x_adv = (x + torch.empty_like(x).uniform_(-EPS, EPS)).clamp(0, 1)
    for _ in range(STEPS):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y)
        g, = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + STEP * g.sign()
        x_adv = torch.min(torch.max(x_adv, x - EPS), x + EPS).clamp(0, 1)
    model.train()
    return x_adv.detach()


def fast(model, x, y):
    start = (x + torch.empty_like(x).uniform_(-EPS, EPS)).clamp(0, 1).requires_grad_(True)
    g, = torch.autograd.grad(F.cross_entropy(model(start), y), start)
    x_adv = start.detach() + 1.25 * EPS * g.sign()
    return torch.min(torch.max(x_adv, x - EPS), x + EPS).clamp(0, 1)


def trades_kl(adv_logits, clean_logits):
    return F.kl_div(F.log_softmax(adv_logits, 1), F.softmax(clean_logits, 1),
                    reduction="sum") / adv_logits.size(0)


def trades(model, x):
    model.eval()
    with torch.no_grad():
        clean = model(x)
    x_adv = (x + 0.001 * torch.randn_like(x)).clamp(0, 1)
    for _ in range(STEPS):
        x_adv.requires_grad_(True)
        g, = torch.autograd.grad(trades_kl(model(x_adv), clean), x_adv)
        x_adv = x_adv.detach() + STEP * g.sign()
        x_adv = torch.min(torch.max(x_adv, x - EPS), x + EPS).clamp(0, 1)
    model.train()
    return x_adv.detach()


def main():
    method, n, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x_all, y_all = load(n)
    model = small_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        perm = torch.randperm(n)
        xs, ys = x_all[perm], y_all[perm]
        total = 0.0
        for i in range(0, n, BATCH):
            x, y = xs[i:i + BATCH], ys[i:i + BATCH]
            if method == "standard":
                loss = F.cross_entropy(model(x), y)
            elif method == "madry":
                loss = F.cross_entropy(model(pgd(model, x, y)), y)
            elif method == "fast":
                loss = F.cross_entropy(model(fast(model, x, y)), y)
            else:
                x_adv = trades(model, x)
                logits = model(x)
                loss = F.cross_entropy(logits, y) + 6.0 * trades_kl(model(x_adv), logits)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * x.size(0)
        print(f"epoch {epoch} seconds {time.perf_counter() - start:.3f} loss {total / n:.4f}",
              flush=True)


if __name__ == "__main__":
    main()
