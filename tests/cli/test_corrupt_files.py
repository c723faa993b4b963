#!/usr/bin/env python3
"""Corrupt and hostile files (issue 17): each is a located error (file:line:col of the call that
read it) with the exit status that fits, 74 for a file that cannot be read at all and 70 for one
whose content is wrong, naming the file and what is wrong; never a crash, a hang or an
out-of-memory kill. The files are made here, with the standard library only.

usage: test_corrupt_files.py PERTURB
"""
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import threading

MODEL = os.path.abspath("tests/conformance/fmnist_cnn.ts")


def npy(header_dict, declared_length=None):
    header = header_dict.encode() + b" " * (118 - len(header_dict)) + b"\n"
    length = len(header) if declared_length is None else declared_length
    return b"\x93NUMPY\x01\x00" + length.to_bytes(2, "little") + header


def truncated_gzip(data):
    packed = gzip.compress(data)
    return packed[:len(packed) // 2]


def idx_header(dims):
    out = b"\x00\x00\x08" + bytes([len(dims)])
    for d in dims:
        out += d.to_bytes(4, "big")
    return out


def make_files(tmp):
    """(name, bytes) for every corrupt file; directories are made by the cases that need them."""
    with open(MODEL, "rb") as f:
        model = f.read()
    return {
        "truncated.gz": truncated_gzip(idx_header([100, 28, 28]) + bytes(range(256)) * 300),
        "labels.idx": idx_header([100]) + bytes(100),
        "huge.idx": idx_header([10000, 0xFFFFFFFF, 0xFFFFFFFF]),
        "truncated.ts": model[:5000],
        "garbage.ts": b"garbage\n",
        "huge.npy": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000, 1000), }"),
        "long_header.npy": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 65535),
        "bad_dtype.npy": npy("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }"),
        "no_directory.npz": b"PK\x03\x04garbage",
        "garbage.ckpt": b"garbage\n",
        "broken.json": b'{"images": [{"filename": "a.png", "sentences": [}',
        "latin1.json": b'{"images": [{"filename": "caf\xe9.png"}]}',
    }


# (what, script, exit status, words the message must hold)
CASES = [
    ("a truncated gzip IDX file", 'load_idx("truncated.gz", "labels.idx")', 70,
     "'truncated.gz' is not a valid gzip stream"),
    ("an IDX header claiming 10^23 bytes", 'load_idx("huge.idx", "labels.idx")', 70,
     "'huge.idx' is truncated: header says"),
    ("a truncated TorchScript file", 'load("truncated.ts")', 70,
     "'truncated.ts' is neither a Perturb model, a TorchScript module"),
    ("garbage as a model", 'load("garbage.ts")', 70, "'garbage.ts' is neither"),
    ("a directory as a model", 'load("folder.ts")', 74, "cannot open 'folder.ts': Is a directory"),
    ("a missing model", 'load("missing.ts")', 74, "cannot open 'missing.ts'"),
    ("a .npy header claiming 4 EB", 'load("huge.npy")', 70,
     "'huge.npy' is truncated: its header says shape (1000000, 1000000, 1000)"),
    ("a .npy header longer than the file", 'load("long_header.npy")', 70,
     "'long_header.npy' is truncated: its .npy header should be 65535 bytes"),
    ("a .npy dtype we do not read", 'load("bad_dtype.npy")', 70, "'bad_dtype.npy'"),
    ("a .npz without its central directory", 'load("no_directory.npz")', 70,
     "'no_directory.npz' is truncated: a ZIP archive without its central directory"),
    ("a garbage checkpoint",
     'train(zoo.mlp(classes: 10, seed: 0), dataset(zeros([4, 1, 28, 28]), zeros([4])), '
     'checkpoint: "garbage.ckpt", resume: true)', 70,
     "'garbage.ckpt' is not a training checkpoint"),
    ("truncated CIFAR-10 records", 'cifar10(dir: "cifar", split: "test")', 70,
     "not a whole number of 3073-byte CIFAR-10 records"),
    ("an unreadable image in a folder", 'image_folder("images").x', 74,
     "'images/bird/broken.png' is not a readable image"),
    ("a captions file cut mid-array", 'pairs(images: "images/bird", captions: "broken.json")', 70,
     "broken.json:1:"),
    ("captions that are not UTF-8", 'pairs(images: "images/bird", captions: "latin1.json")', 70,
     "latin1.json:1:"),
    ("a JPEG cut short in a folder", 'image_folder("jpegs").x', 74,
     "'jpegs/cat/cut.jpg' is not a readable image: a JPEG cut short"),
    ("certify's out: file holding something else",
     'certify(load("' + MODEL + '"), fashion_mnist(split: "test", limit: 2), Smooth(sigma: 0.25), '
     'n0: 10, n: 20, out: "garbage.ckpt")', 74,
     "'garbage.ckpt' holds something other than certify's rows"),
    ("a named pipe as a model", 'load("pipe.ts")', 74, "'pipe.ts' is not a regular file"),
    ("a device as an array", 'load("zero.npy")', 74, "'zero.npy' is not a regular file"),
]


def changing_while_read(perturb, tmp):
    """A file rewritten (truncated, then refilled with other shapes) while perturb reads it: each
    run ends with its value or a located error, never a crash or a hang."""
    path = os.path.join(tmp, "moving.npy")
    versions = [npy("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 1000), }" % rows) +
                bytes(4000 * rows) for rows in (300, 50, 1000)]
    stop = threading.Event()

    def rewrite():
        k = 0
        while not stop.is_set():
            with open(path, "wb") as f:  # truncates, then writes in pieces
                data = versions[k % len(versions)]
                for start in range(0, len(data), 65536):
                    f.write(data[start:start + 65536])
            k += 1

    with open(path, "wb") as f:
        f.write(versions[0])
    writer = threading.Thread(target=rewrite)
    writer.start()
    problems, outcomes = [], {}
    try:
        with open(os.path.join(tmp, "moving.ptb"), "w") as f:
            f.write('let x = load("moving.npy")\nprint(x.shape)\n')
        for _ in range(20):
            done = subprocess.run([perturb, "run", "moving.ptb"], capture_output=True, text=True,
                                  cwd=tmp, timeout=120)
            outcomes[done.returncode] = outcomes.get(done.returncode, 0) + 1
            located = "moving.ptb:1:9: error" in done.stderr
            if done.returncode not in (0, 70, 74) or (done.returncode != 0 and not located) or \
                    "internal error" in done.stderr:
                problems.append(f"exit {done.returncode}: {done.stderr.strip()[:300]!r}")
    finally:
        stop.set()
        writer.join()
    return problems, outcomes


def main():
    perturb = os.path.abspath(sys.argv[1])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in make_files(tmp).items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(content)
        os.makedirs(os.path.join(tmp, "folder.ts"))
        os.makedirs(os.path.join(tmp, "cifar", "cifar-10-batches-bin"))
        with open(os.path.join(tmp, "cifar", "cifar-10-batches-bin", "test_batch.bin"), "wb") as f:
            f.write(bytes(5000))
        shutil.copytree(os.path.abspath("tests/fixtures/image_folder/sizes"),
                        os.path.join(tmp, "images"))
        with open(os.path.join(tmp, "images", "bird", "broken.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n truncated")
        os.makedirs(os.path.join(tmp, "jpegs", "cat"))
        with open(os.path.abspath("tests/fixtures/jpeg/tiny.jpg"), "rb") as f:
            jpeg = f.read()
        with open(os.path.join(tmp, "jpegs", "cat", "cut.jpg"), "wb") as f:
            f.write(jpeg[:500])
        with open(os.path.join(tmp, "jpegs", "cat", "whole.jpg"), "wb") as f:
            f.write(jpeg)
        os.mkfifo(os.path.join(tmp, "pipe.ts"))
        os.symlink("/dev/zero", os.path.join(tmp, "zero.npy"))
        cases = list(CASES)
        if os.geteuid() != 0:  # root reads any file: there is no unreadable file to make
            with open(os.path.join(tmp, "unreadable.ts"), "wb") as f:
                f.write(b"secret")
            os.chmod(os.path.join(tmp, "unreadable.ts"), 0)
            cases.append(("an unreadable file", 'load("unreadable.ts")', 74,
                          "cannot open 'unreadable.ts'"))
        for what, call, status, words in cases:
            script = os.path.join(tmp, "case.ptb")
            with open(script, "w") as f:
                f.write(f"let x = {call}\n")
            done = subprocess.run([perturb, "run", "case.ptb"], capture_output=True, text=True,
                                  cwd=tmp, timeout=120)
            # (OpenCV's libpng may print its own lines first.)
            located = "\ncase.ptb:1:" in "\n" + done.stderr
            if done.returncode != status or not located or words not in done.stderr:
                failures.append(f"{what}: exit {done.returncode} (expected {status}), "
                                f"{done.stderr.strip()[:300]!r} should hold {words!r}")
        problems, outcomes = changing_while_read(perturb, tmp)
        failures += ["a file changing while read: " + p for p in problems]
    if failures:
        print("FAIL corrupt files\n  " + "\n  ".join(failures))
        return 1
    print(f"ok corrupt files: {len(cases)} cases, each a located error; a file rewritten while "
          f"read 20 times: exit statuses {outcomes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
