"""A small CLIP-style two-tower written in plain PyTorch, exported with torch.jit.script, and the
embeddings PyTorch computes with it on a few inputs (the reference for two_tower.ptb).

Run from the repository root with Debian's PyTorch (python3-torch):

    /usr/bin/python3 tests/conformance/multimodal/make_two_tower.py

It writes, next to itself:
  tiny_two_tower.ts   the scripted module: encode_image(x) [N, 16], encode_text(ids, mask)
                      [N, 16], and the parameter logit_scale = log(1/0.07); the image tower is a
                      submodule named `visual` (CLIP's name), so TeCoA can tell its parameters
  vocab.txt           the word list its embedding rows follow (<pad> <unk> <start> <end> first)
  reference.json      the inputs and PyTorch's embeddings (rounded to 6 decimals)
and prints the reference embeddings as Perturb literals for two_tower.ptb.

The weights are random (torch.manual_seed(0)): the test is about computing the same function,
not about a trained model. The tokenizer below is the word-list tokenizer Perturb uses for a
vocab.txt (runtime/model/text_encoder.h): words lower-cased, split on whitespace,
punctuation stripped from both ends, <start> words <end>, truncated to LENGTH, padded with 0.
"""
import gzip
import json
import math
import os
import string

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
LENGTH = 12
WORDS = ["a", "an", "the", "dark", "bright", "light", "pale", "wide", "narrow", "tall",
         "short", "shirt", "t-shirt", "top", "trouser", "trousers", "pullover", "dress",
         "coat", "sandal", "sneaker", "bag", "boot", "ankle", "photo", "of", "with", "ink"]
VOCAB = ["<pad>", "<unk>", "<start>", "<end>"] + WORDS
CAPTIONS = ["a dark shirt", "Bright TROUSER, wide!", "an unknownword ankle boot",
            "a photo of a pale narrow dress with ink"]


def split_words(text):
    out = []
    for word in text.split():
        word = word.strip(string.punctuation).lower()
        if word:
            out.append(word)
    return out


def tokenize(texts):
    index = {w: i for i, w in enumerate(VOCAB)}
    ids = torch.zeros(len(texts), LENGTH, dtype=torch.long)
    mask = torch.zeros(len(texts), LENGTH, dtype=torch.long)
    for n, text in enumerate(texts):
        row = [2]
        for word in split_words(text):
            if len(row) >= LENGTH - 1:
                break
            row.append(index.get(word, 1))
        row.append(3)
        ids[n, :len(row)] = torch.tensor(row)
        mask[n, :len(row)] = 1
    return ids, mask


class TinyTwoTower(nn.Module):
    def __init__(self, vocab: int, width: int = 32, dim: int = 16):
        super().__init__()
        self.visual = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(8 * 14 * 14, 64), nn.ReLU(), nn.Linear(64, dim))
        self.token = nn.Embedding(vocab, width)
        self.text_hidden = nn.Linear(width, width)
        self.text_projection = nn.Linear(width, dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    @torch.jit.export
    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(x)

    @torch.jit.export
    def encode_text(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.text_hidden(self.token(ids)))
        m = mask.unsqueeze(2).to(h.dtype)
        return self.text_projection((h * m).sum(1) / m.sum(1).clamp_min(1.0))

    def forward(self, x: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor):
        return self.encode_image(x), self.encode_text(ids, mask)


def first_test_images(n):
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        data = f.read()
    pixels = torch.tensor(list(data[16:16 + n * 784]), dtype=torch.float32)
    return (pixels / 255).reshape(n, 1, 28, 28)


def literal(t):
    rows = ["[" + ", ".join(f"{v:.6f}" for v in row) + "]" for row in t.tolist()]
    return "tensor([" + ",\n  ".join(rows) + "])"


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = TinyTwoTower(len(VOCAB)).eval()
    scripted = torch.jit.script(model)
    path = os.path.join(HERE, "tiny_two_tower.ts")
    scripted.save(path)
    with open(os.path.join(HERE, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    loaded = torch.jit.load(path).eval()
    images = first_test_images(3)
    ids, mask = tokenize(CAPTIONS)
    with torch.no_grad():
        image_emb = loaded.encode_image(images)
        text_emb = loaded.encode_text(ids, mask)
    reference = {
        "torch": torch.__version__,
        "images": "the first 3 Fashion-MNIST test images (t10k), pixel/255, 1x28x28",
        "captions": CAPTIONS,
        "ids": ids.tolist(),
        "mask": mask.tolist(),
        "logit_scale": float(loaded.logit_scale),
        "image_embeddings": [[round(v, 6) for v in row] for row in image_emb.tolist()],
        "text_embeddings": [[round(v, 6) for v in row] for row in text_emb.tolist()],
    }
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print("let ref_image = " + literal(image_emb))
    print("let ref_text = " + literal(text_emb))


if __name__ == "__main__":
    main()
