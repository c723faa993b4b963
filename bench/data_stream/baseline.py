"""The PyTorch side of the streaming benchmark: torchvision's ImageFolder through a DataLoader
(the same workers, batch and decoding work: Resize(32) + CenterCrop(32) + ToTensor), the same
TorchScript model, and the same evaluation as Perturb's evaluate with one FGSM attack: clean
accuracy, then FGSM (eps 8/255) on the samples classified correctly; robust accuracy. One pass
over the folder (a hand-written loop attacks each batch as it comes), intra-op threads as asked.

Usage: /usr/bin/python3 baseline.py DIR MODEL.ts WORKERS THREADS
"""
import sys
import time

import torch
from torchvision import datasets, transforms


def main():
    root, model_path, workers, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    model = torch.jit.load(model_path).eval()
    transform = transforms.Compose(
        [transforms.Resize(32), transforms.CenterCrop(32), transforms.ToTensor()])
    data = datasets.ImageFolder(root, transform=transform)
    loader = torch.utils.data.DataLoader(data, batch_size=256, num_workers=workers,
                                         prefetch_factor=2 if workers > 0 else None)
    eps = 8 / 255
    start = time.perf_counter()
    correct = robust = 0
    for x, y in loader:
        with torch.no_grad():
            right = model(x).argmax(1) == y
        correct += int(right.sum())
        x, y = x[right], y[right]
        if len(y) == 0:
            continue
        x.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        (grad,) = torch.autograd.grad(loss, x)
        x_adv = (x + eps * grad.sign()).clamp(0, 1).detach()
        with torch.no_grad():
            robust += int((model(x_adv).argmax(1) == y).sum())
    elapsed = time.perf_counter() - start
    n = len(data)
    print(f"clean {correct / n:.4f} robust {robust / n:.4f} samples {n}")
    print(f"elapsed: {elapsed:.3f}")


if __name__ == "__main__":
    main()
