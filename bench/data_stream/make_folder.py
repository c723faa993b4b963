"""Writes an ImageNet-style folder for the streaming benchmark: COUNT Fashion-MNIST training
images (padded to 32×32, channels made to differ, enlarged to 64×64) as JPEG files (quality 90),
one sub-folder per class. Nothing is downloaded: the images come from Debian's
dataset-fashion-mnist. Writes nothing when the folder already holds COUNT images.

Usage: /usr/bin/python3 make_folder.py DIR [COUNT=50000]   (needs python3-numpy, python3-pil)
"""
import gzip
import os
import sys

import numpy as np
from PIL import Image

FMNIST = "/usr/share/datasets/fashion-mnist"


def main():
    root = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    existing = sum(len(files) for _, _, files in os.walk(root)) if os.path.isdir(root) else 0
    if existing == count:
        return
    with gzip.open(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    with gzip.open(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    if len(images) < count:
        sys.exit(f"Fashion-MNIST's training split has {len(images)} images, fewer than {count}")
    for label in range(10):
        os.makedirs(os.path.join(root, f"class_{label}"), exist_ok=True)
    for i, (image, label) in enumerate(zip(images, labels)):
        grey = np.pad(image, 2)
        rgb = np.stack([grey, 255 - grey, grey // 2], axis=-1)
        big = Image.fromarray(rgb).resize((64, 64), Image.BILINEAR)
        big.save(os.path.join(root, f"class_{label}", f"{i:05d}.jpg"), quality=90)


if __name__ == "__main__":
    main()
