"""Adversarial examples out of evaluate (issue 16): Python trains and exports a small CNN with
TorchScript, Perturb loads it, runs evaluate(..., keep: true) with PGD and saves report.examples
as .npz; Python loads that with NumPy and checks, on its own copy of the model, that every
sample Perturb marks fooled is misclassified (as many as the report says), that x_adv stays
within eps of x in L-infinity and that x is the Fashion-MNIST test images. The PNG grid
(report.grid) has one column per sample drawn and two captioned rows.

Runs under /usr/bin/python3 (Debian's, with python3-numpy and python3-torch); skips when
either is missing, or without Fashion-MNIST.
Usage: test_adversarial_examples.py PERTURB
"""
import gzip
import os
import struct
import sys
import tempfile

from perturb_script import import_or_skip, run_script

np = import_or_skip("numpy")
torch = import_or_skip("torch")

FMNIST = "/usr/share/datasets/fashion-mnist"
EPS = 0.1
SAMPLES = 64
COLUMNS = 8


def idx(name):
    """An IDX file's array (uint8), as Perturb's fashion_mnist reads it."""
    with gzip.open(os.path.join(FMNIST, name)) as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def trained_cnn(steps=300):
    """A small CNN, a few hundred Adam steps on 20,000 training images (a few seconds)."""
    torch.manual_seed(0)
    x = torch.from_numpy(idx("train-images-idx3-ubyte.gz")[:20000].copy()).float() / 255
    y = torch.from_numpy(idx("train-labels-idx1-ubyte.gz")[:20000].astype(np.int64))
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 10))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for step in range(steps):
        rows = torch.randint(0, x.shape[0], (128,))
        loss = torch.nn.functional.cross_entropy(net(x[rows].unsqueeze(1)), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return torch.jit.trace(net.eval(), torch.zeros(1, 1, 28, 28))


def png_size(path):
    with open(path, "rb") as f:
        header = f.read(24)
    return struct.unpack(">II", header[16:24])


def main():
    if not os.path.isdir(FMNIST):
        print(f"skipped: no Fashion-MNIST in {FMNIST}")
        return
    torch.set_num_threads(1)
    perturb = os.path.abspath(sys.argv[1])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        def path(name):
            return os.path.join(tmp, name)

        trained_cnn().save(path("m.ts"))
        out = run_script(perturb, f"""
let model = load("{path('m.ts')}")
let d = fashion_mnist(split: "test", limit: {SAMPLES})
attack pgd = PGD(Linf(eps: {EPS}), steps: 10, step: 0.025)
let r = evaluate(model, d, attacks: [pgd], batch: 24, keep: true)
save(r.examples, "{path('adv.npz')}")
r.grid("{path('adv.png')}", n: {COLUMNS})
print(r.clean, r.robust, sum(r.examples.fooled_by >= 0))
""", tmp)
        clean, robust, fooled_count = out[-1].split()
        model = torch.jit.load(path("m.ts"))
        adv = np.load(path("adv.npz"))
        x, x_adv, y = adv["x"], adv["x_adv"], adv["y"]
        fooled = adv["fooled_by"] >= 0
        images = idx("t10k-images-idx3-ubyte.gz")[:SAMPLES].astype(np.float32) / 255
        if not np.array_equal(x, images[:, None]):
            failures.append("x is not the first Fashion-MNIST test images")
        if not np.array_equal(y, idx("t10k-labels-idx1-ubyte.gz")[:SAMPLES]):
            failures.append("y is not the Fashion-MNIST test labels")
        gap = float(np.abs(x_adv - x).max())
        if gap > EPS + 1e-6:
            failures.append(f"x_adv is {gap} from x in Linf, more than eps {EPS}")
        with torch.no_grad():
            pred = model(torch.from_numpy(x_adv)).argmax(1).numpy()
            pred_clean = model(torch.from_numpy(x)).argmax(1).numpy()
        missed = np.flatnonzero(fooled & (pred == y))
        if missed.size:
            failures.append(f"samples {missed.tolist()} are marked fooled but Python's model "
                            "classifies their x_adv correctly")
        expected = round(SAMPLES * (float(clean) - float(robust)))
        if not (fooled.sum() == int(fooled_count) == expected and expected > 0):
            failures.append(f"{fooled.sum()} fooled in adv.npz, {fooled_count} in Perturb, "
                            f"the report's accuracies say {expected}")
        if not np.array_equal(pred_clean, adv["pred_clean"]):
            failures.append("pred_clean differs from Python's predictions on x")
        if not np.array_equal(pred[fooled], adv["pred_adv"][fooled]):
            failures.append("pred_adv differs from Python's predictions on the fooled x_adv")
        width, height = png_size(path("adv.png"))
        # 28x28 images drawn 3x: 84-pixel cells, widened by captions, two rows.
        if not (COLUMNS * 84 <= width <= COLUMNS * 200 and 2 * 84 < height < 2 * 160):
            failures.append(f"the grid is {width}x{height}")
        print(f"clean {clean}, robust {robust}, {fooled.sum()} of {SAMPLES} fooled, "
              f"Linf {gap:.4f}, grid {width}x{height}")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
