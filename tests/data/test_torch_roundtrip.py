"""PyTorch and Perturb read each other's tensor files: Python's torch.save writes a tensor and a
dict of tensors, a Perturb script prints what it loaded; Perturb saves a tensor and a record to
.pt and Python's torch.load reads them back equal.

Runs under /usr/bin/python3 (Debian's, with python3-torch); skips when torch is missing.
Usage: test_torch_roundtrip.py PERTURB
"""
import os
import sys
import tempfile

from perturb_script import import_or_skip, run_script

torch = import_or_skip("torch")



def main():
    perturb = os.path.abspath(sys.argv[1])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        def path(name):
            return os.path.join(tmp, name)

        images = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 16
        labels = torch.tensor([7, 3], dtype=torch.int64)
        torch.save(images, path("images.pt"))
        torch.save({"images": images, "labels": labels}, path("both.pt"))
        out = run_script(perturb, f"""
let x = load("{path('images.pt')}")
print(x.shape, sum(x), x[1][2][3])
let r = load("{path('both.pt')}")
print(r.labels, sum(r.images))
save(x * 2, "{path('doubled.pt')}")
save({{first: x, labels: r.labels}}, "{path('record.pt')}")
""", tmp)
        expected = [f"[2, 3, 4] {images.sum().item():g} tensor({images[1, 2, 3].item():g})",
                    f"tensor([7, 3]) {images.sum().item():g}"]
        if out != expected:
            failures.append(f"Perturb read torch.save files as {out}, expected {expected}")
        doubled = torch.load(path("doubled.pt"))
        if not torch.equal(doubled, images * 2):
            failures.append(f"torch.load read Perturb's tensor as {doubled}")
        record = torch.load(path("record.pt"))
        if list(record) != ["first", "labels"] or not torch.equal(record["first"], images) \
                or not torch.equal(record["labels"], labels):
            failures.append(f"torch.load read Perturb's record as {record}")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
