"""docs/recipes/robustbench.md, end to end on a small model: a WideResNet-10-1 with random
weights is saved as a RobustBench-style checkpoint (under "state_dict", keys prefixed
"module."), exported by docs/recipes/export_robustbench.py with CIFAR-10 normalisation inside
the module, and the TorchScript file computes what the module does. Perturb loads it, runs a
shortened AutoAttack (std.autoattack) on random [0, 1] images labelled with the model's own
classes, with keep: true; Python's copy of the model misclassifies every example marked fooled.

Runs under /usr/bin/python3 (Debian's, with python3-numpy and python3-torch); skips without.
Usage: test_robustbench_recipe.py PERTURB
"""
import os
import subprocess
import sys
import tempfile

from perturb_script import import_or_skip, run_script

np = import_or_skip("numpy")
torch = import_or_skip("torch")

RECIPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "recipes")
sys.path.insert(0, RECIPES)
import export_robustbench  # noqa: E402  (the recipe's own module)

MEAN, STD = [0.4914, 0.4822, 0.4465], [0.2471, 0.2435, 0.2616]
SAMPLES = 16


def main():
    torch.set_num_threads(1)
    perturb = os.path.abspath(sys.argv[1])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        def path(name):
            return os.path.join(tmp, name)

        torch.manual_seed(1)
        module = export_robustbench.Normalized(MEAN, STD, depth=10, widen=1).eval()
        with torch.no_grad():
            # A random network's bias alone decides its class; without it the classes are
            # close enough for 8/255 to change some, so the fooled check has samples to check.
            module.fc.bias.zero_()
        weights = {"module." + k: v for k, v in module.state_dict().items()
                   if k not in ("mu", "sigma")}  # as a checkpoint without normalisation keeps it
        torch.save({"state_dict": weights}, path("ckpt.pt"))
        subprocess.run([sys.executable, os.path.join(RECIPES, "export_robustbench.py"),
                        path("model.ts"), "--checkpoint", path("ckpt.pt"), "--depth", "10",
                        "--widen", "1", "--mean", *map(str, MEAN), "--std", *map(str, STD)],
                       check=True, capture_output=True, timeout=120)
        model = torch.jit.load(path("model.ts"))
        x = torch.rand(SAMPLES, 3, 32, 32, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            y = module(x).argmax(1)
            gap = (model(x) - module(x)).abs().max().item()
        if gap > 1e-5:
            failures.append(f"the TorchScript model differs from the module by {gap}")
        np.savez(path("data.npz"), x=x.numpy(), y=y.numpy())
        out = run_script(perturb, f"""
import std.autoattack
let model = load("{path('model.ts')}")
let arrays = load("{path('data.npz')}")
let test = dataset(arrays.x, arrays.y)
threat linf = Linf(eps: 8 / 255)
let r = evaluate(model, test, attacks: autoattack.AutoAttack(linf, steps: 5, targets: 2, queries: 20), batch: 8, keep: true)
save(r.examples, "{path('adv.npz')}")
print(r.clean, r.robust, r.attacks)
""", tmp)
        clean, robust = (float(v) for v in out[-1].split()[:2])
        if clean != 1.0:
            failures.append(f"Perturb's clean accuracy is {clean}; the labels are the module's "
                            "own classes, so it should be 1")
        adv = np.load(path("adv.npz"))
        fooled = adv["fooled_by"] >= 0
        with torch.no_grad():
            pred = model(torch.from_numpy(adv["x_adv"])).argmax(1).numpy()
        if (pred[fooled] == adv["y"][fooled]).any():
            failures.append("an example Perturb marks fooled is classified correctly in Python")
        if fooled.sum() != round(SAMPLES * (clean - robust)):
            failures.append(f"{fooled.sum()} fooled, the report says {SAMPLES * (clean - robust)}")
        linf = float(np.abs(adv["x_adv"] - adv["x"]).max())
        if linf > 8 / 255 + 1e-6:
            failures.append(f"x_adv is {linf} from x, more than 8/255")
        if not fooled.any():
            failures.append("no sample was fooled: the check above checked nothing")
        print(f"{out[-1]}; {fooled.sum()} of {SAMPLES} fooled, Linf {linf:.4f}")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
