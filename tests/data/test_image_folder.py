"""Perturb reads an image folder (torchvision's ImageFolder layout) as numpy reads the images:
the test writes Fashion-MNIST images as 3×32×32 RGB PNGs (the channels differ, so their order is
checked) in one folder per class, a Perturb script loads it and saves x and y as .npy, and these
must equal the images / 255 exactly, in sorted class and file order. Then: resizing (OpenCV's
area interpolation halving the side is a 2×2 box mean), unreadable images (an error naming the
file, or skipped with on_error: "skip"), and evaluate and retrieval on the streamed folder against
the same images in memory.

Runs under /usr/bin/python3 (Debian's, with python3-numpy); skips when numpy is missing.
Usage: test_image_folder.py PERTURB
"""
import gzip
import os
import struct
import subprocess
import sys
import tempfile
import zlib

from perturb_script import import_or_skip, run_script

np = import_or_skip("numpy")

FMNIST = "/usr/share/datasets/fashion-mnist"
COUNT = 60


def write_png(path, rgb):
    """rgb [H, W, 3] uint8 as an 8-bit RGB PNG (no dependency beyond zlib)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def fashion_images():
    with gzip.open(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:COUNT]
    with gzip.open(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:COUNT]
    grey = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    rgb = np.stack([grey, 255 - grey, grey // 2], axis=-1)  # [N, 32, 32, 3]
    return rgb, labels


def write_folder(root, rgb, labels):
    """One folder per class; returns the images [N, 3, 32, 32] and labels in the folder's order
    (classes sorted, files sorted by path)."""
    order = []
    for i, (image, label) in enumerate(zip(rgb, labels)):
        folder = os.path.join(root, f"class_{label}")
        os.makedirs(folder, exist_ok=True)
        name = f"{COUNT - i:03d}.png"  # file order differs from the images' order
        write_png(os.path.join(folder, name), image)
        order.append((f"class_{label}", name, i))
    order.sort()
    index = [i for _, _, i in order]
    return rgb[index].transpose(0, 3, 1, 2), labels[index].astype(np.int64)


def main():
    perturb = os.path.abspath(sys.argv[1])
    failures = []
    rgb, labels = fashion_images()
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "folder")
        expected_x, expected_y = write_folder(root, rgb, labels)
        lines = run_script(perturb, f"""
let d = image_folder("{root}")
print(d.size, len(d.classes), d.classes[0])
save(d.x, "{tmp}/x.npy")
save(d.y, "{tmp}/y.npy")
save(image_folder("{root}", size: 16).x, "{tmp}/half.npy")
save(image_folder("{root}", channels: 1).x, "{tmp}/grey.npy")
""", tmp)
        if lines != [f"{COUNT} {len(set(labels))} class_0"]:
            failures.append(f"size, classes: {lines}")
        x = np.load(os.path.join(tmp, "x.npy"))
        y = np.load(os.path.join(tmp, "y.npy"))
        if x.dtype != np.float32 or x.shape != (COUNT, 3, 32, 32):
            failures.append(f"x is {x.dtype} {x.shape}")
        elif not np.array_equal(x, expected_x.astype(np.float32) / np.float32(255)):
            failures.append("pixel values differ from the PNGs' / 255")
        if not np.array_equal(y, expected_y):
            failures.append(f"labels {y[:10]} differ from {expected_y[:10]}")
        half = np.load(os.path.join(tmp, "half.npy"))
        box = expected_x.reshape(COUNT, 3, 16, 2, 16, 2).mean(axis=(3, 5)) / 255
        if half.shape != (COUNT, 3, 16, 16) or np.abs(half - box).max() > 1.0 / 255 + 1e-6:
            failures.append(f"size: 16 is not the 2×2 box mean: {half.shape}")
        grey = np.load(os.path.join(tmp, "grey.npy"))
        luma = (0.299 * expected_x[:, 0] + 0.587 * expected_x[:, 1] + 0.114 * expected_x[:, 2])
        if grey.shape != (COUNT, 1, 32, 32) or np.abs(grey[:, 0] - luma / 255).max() > 1.5 / 255:
            failures.append(f"channels: 1 is not the images' luma: {grey.shape}")

        failures += check_streaming_equals_memory(perturb, root, tmp)
        failures += check_unreadable(perturb, root, tmp)
    if failures:
        sys.exit("FAILED:\n  " + "\n  ".join(failures))
    print("image folder: pixels, labels, order, resize, grey, unreadable files, streaming = memory")


def check_streaming_equals_memory(perturb, root, tmp):
    """The same images streamed (two workers, one batch ahead each) and in memory give the same
    evaluate, retrieval and certify figures and the same trained weights; so do shuffle and
    take."""
    lines = run_script(perturb, f"""
let streamed = image_folder("{root}", workers: 2, prefetch: 1).shuffle(seed: 3).take(40)
let memory = dataset(streamed.x, streamed.y)
let net = zoo.small_cnn(classes: 10, channels: 3, size: 32, seed: 1)
threat linf = Linf(eps: 0.03)
let a = evaluate(net, streamed, attacks: [PGD(linf, steps: 3)], batch: 7)
let b = evaluate(net, memory, attacks: [PGD(linf, steps: 3)], batch: 7)
print(a.clean == b.clean, a.robust == b.robust, a.samples)
let r = retrieval(features(net), streamed, k: [1, 5], batch: 9)
let s = retrieval(features(net), memory, k: [1, 5], batch: 9)
print(r.map == s.map, r.recall == s.recall)
let c = certify(net, streamed.take(3), Smooth(sigma: 0.25), n0: 10, n: 50, seed: 2)
let e = certify(net, memory.take(3), Smooth(sigma: 0.25), n0: 10, n: 50, seed: 2)
print(max(abs(c.radius - e.radius)), c.radius.shape)
let s1 = train(zoo.small_cnn(classes: 10, channels: 3, size: 32, seed: 4), streamed, epochs: 1,
               batch: 8, optimizer: SGD(lr: 0.05), val_split: 0.25, seed: 5)
let m1 = train(zoo.small_cnn(classes: 10, channels: 3, size: 32, seed: 4), memory, epochs: 1,
               batch: 8, optimizer: SGD(lr: 0.05), val_split: 0.25, seed: 5)
print(max(abs(s1(memory.x) - m1(memory.x))))
""", tmp)
    if lines != ["true true 40", "true true", "0 [3]", "0"]:
        return [f"streamed and in-memory figures differ: {lines}"]
    return []


def check_unreadable(perturb, root, tmp):
    bad = os.path.join(root, "class_3", "broken.png")
    with open(bad, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n truncated")
    script = os.path.join(tmp, "error.ptb")
    with open(script, "w") as f:
        f.write(f'let d = image_folder("{root}")\nprint(d.x.shape)\n')
    done = subprocess.run([perturb, "run", script], capture_output=True, text=True, timeout=60)
    failures = []
    if done.returncode == 0 or "broken.png" not in done.stderr:
        failures.append(f"an unreadable image is not an error naming it: {done.stderr}")
    lines = run_script(perturb, f"""
let d = image_folder("{root}", on_error: "skip")
print(d.size, d.x.shape)
""", tmp)
    if lines != [f"{COUNT + 1} [{COUNT}, 3, 32, 32]"]:
        failures.append(f'on_error: "skip" did not leave the unreadable image out: {lines}')
    os.remove(bad)
    return failures


if __name__ == "__main__":
    main()
