#!/usr/bin/env python3
"""The REPL, driven through a pipe: expressions print their values, a function typed over
three lines works, :help shows a builtin's parameters, :doc its long entry, :type names a
value's kind, :load runs a file and names the image it saved, an error does not end the session,
and no colour escapes reach a pipe.

usage: test_repl.py PERTURB
"""
import os
import re
import subprocess
import sys
import tempfile

SESSION = """1 + 2
fn double(x) {
  x * 2
}
double(21)
let t = Linf(eps: 0.1)
t
:type t
:type zeros([2, 3])
:help PGD
:doc Linf
:load {script}
loaded_value + 1
undefined_name
"still " + "alive"
:quit
"""

EXPECTED_STDOUT = [
    "3",
    "42",
    "Linf(eps: 0.1, domain: [0, 1])",
    "threat",
    "tensor [2, 3] float32",
    "PGD(threat: threat, steps: number = 10, step: number = 2.5*eps/steps",
    "Linf(eps: number, domain: list = [0, 1]) -> threat",
    "parameters:",
    "eps     number  (required)",
    "grid written",
    "saved {image}",
    "loaded {script}",
    "42",
    '"still alive"',
]


# Names the keyword examples of :doc may use.
KEYWORD_PRELUDE = """\
threat linf = Linf(eps: 0.1)
let xs = [1, -2, 3]
let a = 1
let b = 2
let n = 3
let e = 0.2
let acc = 0.9
let done = false
"""


def keywords():
    here = os.path.dirname(os.path.abspath(__file__))
    grammar = open(os.path.join(here, "..", "..", "grammar", "Perturb.g4"), encoding="utf-8").read()
    return re.findall(r"^[A-Z_]+\s*:\s*'([a-z_]+)'\s*;", grammar, re.M)


def check_keyword_docs(perturb):
    """:doc KEYWORD explains every keyword of the grammar with an example that passes check."""
    words = keywords()
    result = subprocess.run([perturb, "repl"], input="".join(":doc %s\n" % w for w in words).encode(),
                            capture_output=True, timeout=60)
    out = result.stdout.decode()
    failures = []
    entries = re.split(r"^(?=\S+ \(keyword\)$)", out, flags=re.M)
    documented = {}
    for entry in entries:
        m = re.match(r"(\S+) \(keyword\)\n  (.+)\n  example:\n    (.+)\n", entry)
        if m:
            documented[m.group(1)] = m.group(3)
    def check(examples):
        with tempfile.NamedTemporaryFile("w", suffix=".ptb", delete=False) as f:
            f.write(KEYWORD_PRELUDE + "".join(
                "fn example_%d() {\n  %s\n}\n" % (i, ex) for i, ex in enumerate(examples)))
        r = subprocess.run([perturb, "check", f.name], capture_output=True, timeout=60)
        os.unlink(f.name)
        return r.returncode, r.stderr.decode().strip()

    for w in words:
        if w not in documented:
            failures.append(":doc %s gives no explanation with an example" % w)
    # All examples in one `perturb check`; when that fails, one by one to name the broken ones.
    if check(list(documented.values()))[0] != 0:
        for w, example in documented.items():
            status, err = check([example])
            if status != 0:
                failures.append(":doc %s example `%s` fails check: %s" % (w, example, err))
    return failures


def main():
    perturb = sys.argv[1]
    keyword_failures = check_keyword_docs(perturb)
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home)
        script = os.path.join(home, "grid.ptb")
        image = os.path.join(home, "grid.png")
        with open(script, "w") as f:
            f.write('let d = fashion_mnist(split: "test", limit: 4)\n'
                    'show(Linf(eps: 0.1), d.x, "%s", rows: 1)\n'
                    'let loaded_value = 41\n'
                    'print("grid written")\n' % image)
        session = SESSION.replace("{script}", script)
        result = subprocess.run([perturb, "repl"], input=session.encode(), capture_output=True,
                                timeout=120, env=env)
        if not os.path.exists(image):
            print("FAIL repl: :load did not write " + image)
            return 1
    out = result.stdout.decode()
    err = result.stderr.decode()
    failures = []
    if result.returncode != 0:
        failures.append(f"exit code {result.returncode}")
    position = 0
    for expected in EXPECTED_STDOUT:
        expected = expected.replace("{script}", script).replace("{image}", image)
        found = out.find(expected, position)
        if found < 0:
            failures.append(f"stdout lacks {expected!r} (in order)")
        else:
            position = found + len(expected)
    if "\033[" in out or "\033[" in err:
        failures.append("colour escapes written to a pipe")
    if "unknown name 'undefined_name'" not in err:
        failures.append("the unknown name was not reported on stderr")
    failures += keyword_failures
    if failures:
        print("FAIL repl\n  " + "\n  ".join(failures))
        print("--- stdout ---\n" + out + "--- stderr ---\n" + err)
        return 1
    print("ok repl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
