#!/usr/bin/python3
"""An adversarially trained Fashion-MNIST CNN for the AutoAttack conformance check
(tests/conformance/attacks/autoattack_reference.py, bench/attacks/).

    nice -n 10 /usr/bin/python3 tests/conformance/make_at_model.py [train_n] [epochs]

PGD adversarial training (Madry et al. 2018): each minibatch is replaced by PGD-7 adversarial
examples at Linf eps 0.1 (step 0.025, uniform random start), cross-entropy, Adam lr 1e-3; eps
ramps linearly from 0 to 0.1 over the first epoch. The network is the conformance SmallCNN of
make_reference.py (conv16-conv32-fc64-fc10). Trained on the first `train_n` training images
(default 20000) for `epochs` epochs (default 4), torch seed 0, 1 thread. Writes
tests/conformance/fmnist_at_cnn.ts (torch.jit.trace, eval mode) and prints clean and PGD-20
accuracy on the first 1000 test images.
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "attacks"))
from reference import DATA, read_images, read_labels, pgd  # noqa: E402

EPS, STEP, STEPS = 0.1, 0.025, 7


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
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def pgd_train(model, x, y, eps):
    xa = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(STEPS):
        xa.requires_grad_(True)
        g = torch.autograd.grad(F.cross_entropy(model(xa), y), xa)[0]
        xa = torch.min(torch.max(xa.detach() + STEP * eps / EPS * g.sign(), x - eps), x + eps).clamp(0, 1)
    return xa.detach()


def main():
    train_n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x = read_images(f"{DATA}/train-images-idx3-ubyte.gz")[:train_n]
    y = read_labels(f"{DATA}/train-labels-idx1-ubyte.gz")[:train_n]
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 128
    nb = (train_n + batch - 1) // batch
    t0 = time.time()
    for ep in range(epochs):
        perm = torch.randperm(train_n)
        tot, correct = 0.0, 0
        for b in range(nb):
            i = perm[b * batch:(b + 1) * batch]
            eps = EPS * min(1.0, (ep * nb + b + 1) / nb)
            model.eval()
            xa = pgd_train(model, x[i], y[i], eps)
            model.train()
            z = model(xa)
            loss = F.cross_entropy(z, y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item() * len(i)
            correct += (z.argmax(1) == y[i]).sum().item()
        print(f"epoch {ep + 1}: adv loss {tot / train_n:.4f} adv acc {correct / train_n:.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    model.eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(1, 1, 28, 28))
    path = os.path.join(HERE, "fmnist_at_cnn.ts")
    traced.save(path)
    m = torch.jit.load(path).eval()
    xt = read_images(f"{DATA}/t10k-images-idx3-ubyte.gz")[:1000]
    yt = read_labels(f"{DATA}/t10k-labels-idx1-ubyte.gz")[:1000]
    with torch.no_grad():
        clean = (m(xt).argmax(1) == yt).float().mean().item()
    torch.manual_seed(0)
    xa = pgd(m, xt, yt, "Linf", EPS, 20, 2.5 * EPS / 20)
    with torch.no_grad():
        rob = (m(xa).argmax(1) == yt).float().mean().item()
    print(f"wrote {path} ({os.path.getsize(path)} bytes): clean {clean:.4f}, PGD-20 {rob:.4f} "
          f"on the first 1000 test images; {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
