"""The benchmark's classifier, as TorchScript both sides load: a small CNN for 3×32×32 inputs
(two 3×3 convolutions with max pooling, two linear layers), its weights seeded.

Usage: /usr/bin/python3 model.py OUT.ts
"""
import sys

import torch


class SmallCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = torch.nn.Linear(64 * 8 * 8, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.jit.script(SmallCnn().eval()).save(sys.argv[1])
