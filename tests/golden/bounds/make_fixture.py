"""Writes norm_bn_cnn.ts: a small TorchScript CNN (random weights, seed 0) with the layer kinds
bound propagation reads from TorchScript graphs: input normalisation ((x - mean) / std), Conv2d,
BatchNorm2d (eval mode, non-trivial statistics), ReLU, AvgPool2d, MaxPool2d, x.view(N, -1),
Linear. Used by tests/unit/test_bounds_ibp.cpp and the golden scripts here.

    /usr/bin/python3 tests/golden/bounds/make_fixture.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class NormBnCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = (x - 0.2860) / 0.3530
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.avg_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 1)
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


def main():
    torch.manual_seed(0)
    model = NormBnCnn()
    with torch.no_grad():
        model.bn1.running_mean.uniform_(-0.5, 0.5)
        model.bn1.running_var.uniform_(0.5, 2.0)
        model.bn1.weight.uniform_(-1.5, 1.5)
        model.bn1.bias.uniform_(-0.5, 0.5)
    model.eval()
    traced = torch.jit.trace(model, torch.zeros(1, 1, 28, 28))
    traced.save(os.path.join(HERE, "norm_bn_cnn.ts"))


if __name__ == "__main__":
    main()
