#!/usr/bin/env python3
"""Writes docs/lessons/models/fmnist_cnn_saturated.ts for lesson 3 (gradient masking).

The model is tests/conformance/fmnist_cnn.ts with its logits multiplied by 1000, as a
defensively distilled network evaluated at temperature 1 behaves (Papernot et al. 2016; Carlini
and Wagner 2016 showed why it is not robust). The argmax, and so every prediction, is unchanged:
the two models are exactly as robust. But the softmax saturates: in float32 the gradient of the
cross-entropy is exactly zero on most correctly classified inputs, so gradient attacks on the
cross-entropy see nothing to climb.

usage: /usr/bin/python3 docs/lessons/models/make_saturated.py   (from the repository root;
Debian's python3-torch)
"""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


class Saturated(torch.nn.Module):
    def __init__(self, inner, scale):
        super().__init__()
        self.inner = inner
        self.scale = scale

    def forward(self, x):
        return self.inner(x) * self.scale


def main():
    inner = torch.jit.load(os.path.join(ROOT, "tests", "conformance", "fmnist_cnn.ts"))
    model = torch.jit.script(Saturated(inner, 1000.0).eval())
    out = os.path.join(HERE, "fmnist_cnn_saturated.ts")
    model.save(out)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(model(x).argmax(1), inner(x).argmax(1))
    print("wrote " + os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
