#!/usr/bin/env python3
"""Exports a RobustBench-style CIFAR-10 WideResNet to TorchScript for Perturb's load().

The architecture is RobustBench's WideResNet (robustbench/model_zoo/architectures/wide_resnet.py:
the same module names, so its checkpoints' state dicts load), with the input normalisation
inside the module as buffers `mu` and `sigma`, as RobustBench's normalising models keep it:
Perturb then feeds inputs in [0, 1] and its threats stay in pixel space.

usage: export_robustbench.py OUT.ts [--checkpoint CKPT.pt] [--depth 28] [--widen 10]
                             [--mean R G B] [--std R G B] [--classes 10]
Without --checkpoint the weights are random (for testing the path, not for evaluating).
Runs on CPU with PyTorch >= 1.13; nothing is downloaded.
"""
import argparse

import torch
from torch import nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    """Pre-activation residual block: BN-ReLU-conv twice, a 1x1 conv shortcut when shapes change."""

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
        self.equal_in_out = in_planes == out_planes
        self.convShortcut = None if self.equal_in_out else nn.Conv2d(
            in_planes, out_planes, 1, stride=stride, padding=0, bias=False)

    def forward(self, x):
        pre = self.relu1(self.bn1(x))
        out = self.conv2(self.relu2(self.bn2(self.conv1(pre))))
        shortcut = x if self.convShortcut is None else self.convShortcut(pre)
        return shortcut + out


class NetworkBlock(nn.Module):
    def __init__(self, layers, in_planes, out_planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[
            BasicBlock(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1)
            for i in range(layers)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-depth-widen for 32x32 inputs (depth = 6n + 4)."""

    def __init__(self, depth=28, widen=10, classes=10):
        super().__init__()
        assert (depth - 4) % 6 == 0, "depth must be 6n + 4"
        n = (depth - 4) // 6
        channels = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(3, channels[0], 3, stride=1, padding=1, bias=False)
        self.block1 = NetworkBlock(n, channels[0], channels[1], 1)
        self.block2 = NetworkBlock(n, channels[1], channels[2], 2)
        self.block3 = NetworkBlock(n, channels[2], channels[3], 2)
        self.bn1 = nn.BatchNorm2d(channels[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(channels[3], classes)
        self.nChannels = channels[3]

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.avg_pool2d(self.relu(self.bn1(out)), 8)
        return self.fc(out.view(-1, self.nChannels))


class Normalized(WideResNet):
    """The normalisation inside the model: inputs in [0, 1], (x - mu) / sigma first."""

    def __init__(self, mean, std, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer("mu", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("sigma", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x):
        return super().forward((x - self.mu) / self.sigma)


def state_dict_of(path):
    """A checkpoint's weights: RobustBench files hold the state dict itself or under "state_dict"
    / "model_state_dict", keys possibly prefixed "module." (saved from DataParallel)."""
    checkpoint = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model_state_dict"):
        if isinstance(checkpoint, dict) and key in checkpoint:
            checkpoint = checkpoint[key]
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in checkpoint.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--checkpoint")
    parser.add_argument("--depth", type=int, default=28)
    parser.add_argument("--widen", type=int, default=10)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--mean", type=float, nargs=3, default=[0.0, 0.0, 0.0])
    parser.add_argument("--std", type=float, nargs=3, default=[1.0, 1.0, 1.0])
    args = parser.parse_args()
    torch.manual_seed(0)
    model = Normalized(args.mean, args.std, depth=args.depth, widen=args.widen,
                       classes=args.classes)
    if args.checkpoint:
        weights = state_dict_of(args.checkpoint)
        # A checkpoint without mu/sigma (the model normalised nothing) keeps --mean/--std.
        missing, unexpected = model.load_state_dict(weights, strict=False)
        missing = [k for k in missing if k not in ("mu", "sigma")]
        if missing or unexpected:
            raise SystemExit(f"checkpoint does not fit WRN-{args.depth}-{args.widen}: "
                             f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.rand(1, 3, 32, 32))
    traced.save(args.out)
    print(f"wrote {args.out}: WRN-{args.depth}-{args.widen}, "
          f"{sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
