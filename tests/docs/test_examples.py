#!/usr/bin/env python3
"""Every example in the builtins table passes `perturb check`.

usage: test_examples.py PERTURB   (from the repository root)

Each example is one line of Perturb that may use the names a reader of docs/reference.md would
have at hand (a threat `linf`, a model `net`, tensors `x`, `y`, a dataset `test_set`, ...): they
are bound by PRELUDE. Examples are checked together in one script, each inside its own function so
their bindings do not meet; when that fails, each is checked alone to name the broken ones.
"""
import json
import os
import subprocess
import sys
import tempfile

PRELUDE = """\
threat linf = Linf(eps: 0.1)
threat l2 = L2(eps: 1.5)
attack pgd = PGD(linf, steps: 2)
attack fgsm = FGSM(linf)
policy light = Flip(p: 0.5)
let net = zoo.small_cnn(classes: 10)
let model = net
let train_set = fashion_mnist(split: "train", limit: 64)
let test_set = fashion_mnist(split: "test", limit: 64)
let x = test_set.x
let y = test_set.y
let x_adv = x
let g = x
let p = x
let eps = 0.1
let acc = 0.9
let report = evaluate(net, test_set)
let cert = certify(net, test_set.take(1), Smooth(sigma: 0.25))
"""


def check(perturb, text):
    with tempfile.NamedTemporaryFile("w", suffix=".ptb", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        r = subprocess.run([perturb, "check", path], capture_output=True, timeout=120)
        return r.returncode, r.stderr.decode("utf-8", "replace").replace(path, "<example>")
    finally:
        os.unlink(path)


def main():
    perturb = sys.argv[1]
    data = json.loads(subprocess.run([perturb, "reference", "--json"], capture_output=True,
                                     check=True).stdout)
    examples = [(b["name"], b["example"]) for b in data["builtins"]]
    missing = [name for name, ex in examples if not ex.strip()]
    body = PRELUDE + "".join(
        "fn example_%d() {\n  %s\n}\n" % (i, ex) for i, (name, ex) in enumerate(examples) if ex.strip())
    status, err = check(perturb, body)
    failures = []
    if status != 0:
        for name, ex in examples:
            if not ex.strip():
                continue
            s, e = check(perturb, PRELUDE + ex + "\n")
            if s != 0:
                failures.append("%s: `%s`\n    %s" % (name, ex, e.strip().replace("\n", "\n    ")))
        if not failures:
            failures.append("the examples together fail `perturb check`:\n" + err)
    for name in missing:
        failures.append("%s has no example" % name)
    if failures:
        print("FAIL: %d builtin examples do not pass `perturb check`" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    print("ok: all %d builtin examples pass `perturb check`" % len(examples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
