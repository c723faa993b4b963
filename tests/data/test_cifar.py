"""Perturb reads CIFAR-10 and CIFAR-100 binary files as numpy reads them: numpy writes small
files in the distributed layout (label byte(s), then 1024 R, 1024 G, 1024 B bytes per record),
a Perturb script loads them and saves x and y as .npy, and these must equal numpy's own
decoding exactly (pixels / 255 in float32, channels R, G, B).

Runs under /usr/bin/python3 (Debian's, with python3-numpy); skips when numpy is missing.
Usage: test_cifar.py PERTURB
"""
import os
import sys
import tempfile

from perturb_script import import_or_skip, run_script

np = import_or_skip("numpy")

RECORDS = 7  # per file: small, but more than one so record order matters



def write_records(path, labels, pixels):
    """labels [N, k] uint8, pixels [N, 3, 32, 32] uint8 → the binary version's records."""
    records = np.concatenate([labels, pixels.reshape(len(pixels), -1)], axis=1)
    records.astype(np.uint8).tofile(path)


def main():
    perturb = os.path.abspath(sys.argv[1])
    rng = np.random.default_rng(16)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        ten = os.path.join(tmp, "cifar-10-batches-bin")
        hundred = os.path.join(tmp, "cifar-100-binary")
        os.makedirs(ten)
        os.makedirs(hundred)

        # CIFAR-10: five training files and one test file.
        c10 = {}
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            labels = rng.integers(0, 10, size=(RECORDS, 1), dtype=np.uint8)
            pixels = rng.integers(0, 256, size=(RECORDS, 3, 32, 32), dtype=np.uint8)
            write_records(os.path.join(ten, name + ".bin"), labels, pixels)
            c10[name] = (labels[:, 0], pixels)
        train10 = [c10[f"data_batch_{i}"] for i in range(1, 6)]
        c10_train = (np.concatenate([l for l, _ in train10]),
                     np.concatenate([p for _, p in train10]))

        # CIFAR-100: coarse then fine label byte.
        c100 = {}
        for name, count in [("train", 2 * RECORDS), ("test", RECORDS)]:
            coarse = rng.integers(0, 20, size=(count, 1), dtype=np.uint8)
            fine = rng.integers(0, 100, size=(count, 1), dtype=np.uint8)
            pixels = rng.integers(0, 256, size=(count, 3, 32, 32), dtype=np.uint8)
            write_records(os.path.join(hundred, name + ".bin"),
                          np.concatenate([coarse, fine], axis=1), pixels)
            c100[name] = (coarse[:, 0], fine[:, 0], pixels)

        # name → (the Perturb call, expected labels, expected uint8 pixels)
        cases = {
            # The parent folder, all five training files in order.
            "train10": (f'cifar10(dir: "{tmp}")', *c10_train),
            # The folder itself; a limit that ends inside the second file.
            "train10_limit": (f'cifar10(dir: "{ten}", limit: {RECORDS + 3})',
                              c10_train[0][:RECORDS + 3], c10_train[1][:RECORDS + 3]),
            "test10": (f'cifar10(dir: "{ten}", split: "test")', *c10["test_batch"]),
            "train100_fine": (f'cifar100(dir: "{tmp}")', c100["train"][1], c100["train"][2]),
            "train100_coarse": (f'cifar100(dir: "{hundred}", labels: "coarse")',
                                c100["train"][0], c100["train"][2]),
            "test100_limit": (f'cifar100(dir: "{hundred}", split: "test", limit: 3)',
                              c100["test"][1][:3], c100["test"][2][:3]),
        }
        source = ""
        for name, (call, _, _) in cases.items():
            source += f"""
let {name} = {call}
print({name}.name, {name}.size, sum({name}.y))
save({name}.x, "{tmp}/{name}_x.npy")
save({name}.y, "{tmp}/{name}_y.npy")
"""
        got = run_script(perturb, source, tmp)
        names = {
            "train10": "cifar10(train)", "train10_limit": "cifar10(train)",
            "test10": "cifar10(test)", "train100_fine": "cifar100(train, fine)",
            "train100_coarse": "cifar100(train, coarse)", "test100_limit": "cifar100(test, fine)",
        }
        expected = [f"{names[name]} {len(labels)} {int(labels.astype(np.int64).sum())}"
                    for name, (_, labels, _) in cases.items()]
        if got != expected:
            failures.append("perturb printed\n  " + "\n  ".join(got) +
                            "\nexpected\n  " + "\n  ".join(expected))

        for name, (_, labels, pixels) in cases.items():
            x = np.load(os.path.join(tmp, f"{name}_x.npy"))
            y = np.load(os.path.join(tmp, f"{name}_y.npy"))
            want_x = pixels.astype(np.float32) / np.float32(255)
            want_y = labels.astype(np.int64)
            if x.dtype != np.float32 or x.shape != want_x.shape or not np.array_equal(x, want_x):
                failures.append(f"{name}: x is {x.dtype} {x.shape}, expected float32 "
                                f"{want_x.shape}; equal: {x.shape == want_x.shape and np.array_equal(x, want_x)}")
            if y.dtype != np.int64 or not np.array_equal(y, want_y):
                failures.append(f"{name}: y is {y.dtype} {y.tolist()}, expected {want_y.tolist()}")
        # One pixel spelled out, so a channel mix-up cannot hide behind a symmetric check.
        x = np.load(os.path.join(tmp, "test10_x.npy"))
        raw = np.fromfile(os.path.join(ten, "test_batch.bin"), dtype=np.uint8)
        green_row2_col5 = raw[3073 * 4 + 1 + 1024 + 2 * 32 + 5]
        if x[4, 1, 2, 5] != np.float32(green_row2_col5) / np.float32(255):
            failures.append(f"test10 x[4, 1, 2, 5] is {x[4, 1, 2, 5]}, expected green byte "
                            f"{green_row2_col5} / 255")

    if failures:
        sys.exit("\n".join(failures))
    print("perturb reads CIFAR-10 and CIFAR-100 binary files as numpy decodes them")


if __name__ == "__main__":
    main()
