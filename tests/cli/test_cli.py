#!/usr/bin/env python3
"""The command line: usage errors exit 64, a missing script 74, --help/--version 0, and
`check` touches no tensors (a script that would fail at run time passes check).

usage: test_cli.py PERTURB
"""
import subprocess
import sys
import tempfile
import os


def run(*args):
    result = subprocess.run(list(args), capture_output=True, timeout=60)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def main():
    perturb = sys.argv[1]
    failures = []

    def expect(condition, what):
        if not condition:
            failures.append(what)

    code, out, _ = run(perturb, "--help")
    expect(code == 0 and "usage: perturb" in out, "--help prints usage and exits 0")
    code, out, _ = run(perturb, "--version")
    expect(code == 0 and out.startswith("perturb "), "--version exits 0")
    code, _, err = run(perturb)
    expect(code == 64 and "missing command" in err, "no command exits 64")
    code, _, err = run(perturb, "frobnicate", "x.ptb")
    expect(code == 64 and "unknown command" in err, "unknown command exits 64")
    code, _, err = run(perturb, "run", "x.ptb", "--seed", "minus")
    expect(code == 64 and "--seed" in err, "a bad --seed exits 64")
    code, _, err = run(perturb, "run", "x.ptb", "--device", "tpu")
    expect(code == 64, "a bad --device exits 64")
    code, _, err = run(perturb, "run", "does/not/exist.ptb")
    expect(code == 74 and "does/not/exist.ptb" in err, "a missing script exits 74 and names it")
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "later.ptb")
        with open(script, "w") as f:
            f.write('let m = load("no/such/model.ts")\nprint(m)\n')
        code, out, err = run(perturb, "check", script)
        expect(code == 0 and out == "" and err == "", "check does not run the script")
        code, out, err = run(perturb, "run", script)
        expect(code == 74 and "later.ptb:1:" in err, "loading a missing model exits 74 at its line")
        seeded = os.path.join(tmp, "seeded.ptb")
        with open(seeded, "w") as f:
            f.write("print(sum(rand([1000])))\n")
        runs = [run(perturb, "run", seeded, "--seed", s)[1] for s in ("1", "1", "2")]
        expect(runs[0] == runs[1] and runs[0] != runs[2], "the same --seed gives the same numbers")
    if failures:
        print("FAIL cli\n  " + "\n  ".join(failures))
        return 1
    print("ok cli")
    return 0


if __name__ == "__main__":
    sys.exit(main())
