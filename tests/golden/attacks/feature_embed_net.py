#!/usr/bin/env python3
"""Writes feature_embed_net.ts next to this script: a tiny untrained TorchScript network with an
exported embed() method (784 -> 16 ReLU features -> 10 logits, seed 0), the way a PyTorch
retrieval model exposes its embedding. Used by feature_torchscript.ptb to test features() on a
TorchScript module. Run with Debian's /usr/bin/python3 (python3-torch)."""
import os

import torch
import torch.nn as nn


class EmbedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(28 * 28, 16)
        self.head = nn.Linear(16, 10)

    @torch.jit.export
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


if __name__ == "__main__":
    torch.manual_seed(0)
    net = torch.jit.script(EmbedNet().eval())
    net.save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "feature_embed_net.ts"))
