#!/usr/bin/env python3
"""The plain-PyTorch side of the GPU kit's speed table (scripts/gpu/check.sh).

The same work as speed.ptb, written as a researcher would write it in PyTorch, in the same
torch on the same GPU: PGD-20 and APGD-CE (Croce & Hein 2020's step-size schedule, 20 steps) on
the CIFAR ResNet-18 of Perturb's zoo (3x3 stem, no max pooling, random weights), batch 256 and
1024; CERTIFY's sampling with n0 = 100, n = 10,000 in batches of 1000 on 4 images; one epoch of
PGD-AT (PGD-10) over 10,240 images in batches of 256. Prints "speed NAME SECONDS", the best of
three after a warm-up (the epoch: one run), with sync() around each timing.
"""
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DEVICE = os.environ.get("DEVICE", "cuda")
# SMOKE=1: tiny sizes, to check the program here on a CPU before a GPU run.
SMOKE = os.environ.get("SMOKE") == "1"
BATCHES = (4,) if SMOKE else (256, 1024)
SAMPLES, EPOCH_IMAGES = (200, 64) if SMOKE else (10000, 10240)
EPS, STEP = 8 / 255, 2 / 255


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet18(classes=10):
    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def pgd(model, x, y, steps=20, step=STEP):
    delta = torch.empty_like(x).uniform_(-EPS, EPS)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model((x + delta).clamp(0, 1)), y)
        (g,) = torch.autograd.grad(loss, delta)
        delta = (delta.detach() + step * g.sign()).clamp(-EPS, EPS)
    return (x + delta).clamp(0, 1)


def apgd_ce(model, x, y, steps=20, rho=0.75):
    """APGD-CE with Croce & Hein's checkpoints and step halving, on the inputs the model gets
    right (AutoAttack's APGD leaves the others alone, and so does Perturb's)."""
    with torch.no_grad():
        right = model(x).argmax(1) == y
    x, y = x[right], y[right]
    n = x.shape[0]
    checkpoints, p = [0], [0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    checkpoints = sorted({int(round(q * steps)) for q in p if q <= 1})
    step = torch.full((n, 1, 1, 1), 2 * EPS, device=x.device)
    x_adv = (x + torch.empty_like(x).uniform_(-EPS, EPS)).clamp(0, 1)

    def loss_grad(z):
        z = z.clone().requires_grad_(True)
        losses = F.cross_entropy(model(z), y, reduction="none")
        (g,) = torch.autograd.grad(losses.sum(), z)
        return losses.detach(), g

    loss, g = loss_grad(x_adv)
    best_loss, x_best = loss.clone(), x_adv.clone()
    x_prev = x_adv.clone()
    successes = torch.zeros(n, device=x.device)
    last_check, best_at_check = 0, best_loss.clone()
    reduced_last = torch.zeros(n, dtype=torch.bool, device=x.device)
    for k in range(steps):
        z = (x_adv + step * g.sign()).clamp(x - EPS, x + EPS).clamp(0, 1)
        a = 0.75 if k > 0 else 1.0
        x_new = x_adv + a * (z - x_adv) + (1 - a) * (x_adv - x_prev)
        x_new = x_new.clamp(x - EPS, x + EPS).clamp(0, 1)
        x_prev, x_adv = x_adv, x_new
        loss, g = loss_grad(x_adv)
        improved = loss > best_loss
        successes += improved.float()
        x_best[improved] = x_adv[improved]
        best_loss = torch.where(improved, loss, best_loss)
        if k + 1 in checkpoints:
            span = k + 1 - last_check
            cond = (successes < rho * span) | (~reduced_last & (best_at_check >= best_loss))
            step[cond] /= 2
            x_adv[cond] = x_best[cond]
            reduced_last, successes = cond, torch.zeros(n, device=x.device)
            last_check, best_at_check = k + 1, best_loss.clone()
    return x_best


def certify_sampling(model, images, n0=100, n=10000, batch=1000, sigma=0.25):
    counts = []
    for img in images:
        for total in (n0, n):
            c = torch.zeros(10, dtype=torch.long, device=img.device)
            left = total
            while left > 0:
                b = min(batch, left)
                noisy = img.unsqueeze(0).repeat(b, 1, 1, 1)
                noisy = noisy + torch.randn_like(noisy) * sigma
                c += torch.bincount(model(noisy).argmax(1), minlength=10)
                left -= b
            counts.append(c)
    return counts


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def best_of_three(work):
    work()
    sync()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        work()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    torch.manual_seed(0)
    model = resnet18().to(DEVICE).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    for batch in BATCHES:
        x = torch.rand(batch, 3, 32, 32, device=DEVICE)
        with torch.no_grad():
            y = model(x).argmax(1).mode().values.expand(batch).contiguous()
        print(f"speed pgd20_b{batch} {best_of_three(lambda: pgd(model, x, y)):.4f}", flush=True)
        print(f"speed apgd_ce_b{batch} {best_of_three(lambda: apgd_ce(model, x, y)):.4f}",
              flush=True)
    images = torch.rand(4, 3, 32, 32, device=DEVICE)
    with torch.no_grad():
        t = best_of_three(lambda: certify_sampling(model, images, n=SAMPLES))
    print(f"speed smoothing_n10000_x4 {t:.4f}", flush=True)

    model = resnet18().to(DEVICE)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    data = torch.rand(EPOCH_IMAGES, 3, 32, 32, device=DEVICE)
    labels = torch.zeros(EPOCH_IMAGES, dtype=torch.long, device=DEVICE)
    sync()
    t0 = time.perf_counter()
    for i in range(0, EPOCH_IMAGES, 256):
        x, y = data[i:i + 256], labels[i:i + 256]
        model.eval()
        x_adv = pgd(model, x, y, steps=10)
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x_adv), y).backward()
        opt.step()
    sync()
    print(f"speed pgd_at_epoch {time.perf_counter() - t0:.4f}", flush=True)


if __name__ == "__main__":
    main()
