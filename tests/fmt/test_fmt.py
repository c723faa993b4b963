#!/usr/bin/env python3
"""perturb fmt: the layout cases, the repository round trip, the command line.

usage: test_fmt.py PERTURB FMT_ROUNDTRIP
"""

import os
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scripts  # noqa: E402

CASES = os.path.join(scripts.HERE, "cases")
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def fmt(perturb, *args, stdin=None, cwd=None):
    return subprocess.run([perturb, "fmt", *args], input=stdin, capture_output=True, text=True,
                          errors="replace",
                          cwd=cwd, timeout=60)


def test_cases(perturb):
    """cases/NAME.input formats to cases/NAME.expected, which formats to itself."""
    names = sorted(f[:-len(".input")] for f in os.listdir(CASES) if f.endswith(".input"))
    check(len(names) >= 5, f"the layout cases are there ({len(names)})")
    for name in names:
        with open(os.path.join(CASES, name + ".input"), encoding="utf-8") as f:
            source = f.read()
        with open(os.path.join(CASES, name + ".expected"), encoding="utf-8") as f:
            expected = f.read()
        got = fmt(perturb, stdin=source)
        check(got.returncode == 0, f"{name}: exit 0, got {got.returncode}: {got.stderr}")
        if got.stdout != expected:
            print(f"--- {name}: expected\n{expected}--- got\n{got.stdout}---")
        check(got.stdout == expected, f"{name}: formats as cases/{name}.expected")
        again = fmt(perturb, "-", stdin=expected)
        check(again.stdout == expected, f"{name}: the expected layout is a fixed point")


def test_repository(roundtrip):
    """Every script of the repository keeps its tree and comments, and formats idempotently."""
    skipped = set(scripts.unparsable())
    paths = [p for p in scripts.repository_scripts() if p not in skipped]
    check(len(paths) > 100, f"the repository's scripts are found ({len(paths)})")
    got = subprocess.run([roundtrip, *paths], cwd=scripts.ROOT, capture_output=True, text=True,
                          errors="replace",
                         timeout=300)
    print(got.stdout.strip().splitlines()[-1] if got.stdout.strip() else got.stderr)
    check(got.returncode == 0, "round trip over the repository:\n" + got.stdout[-3000:])


def test_lists_are_current(perturb):
    """Each script listed as unparsable fails to parse; each listed one exists."""
    for path in scripts.unparsable():
        check(os.path.exists(os.path.join(scripts.ROOT, path)), f"{path} (unparsable.txt) exists")
        got = fmt(perturb, "--check", path, cwd=scripts.ROOT)
        check(got.returncode == 65, f"{path} is listed as unparsable and exits 65, got "
                                    f"{got.returncode}")
    for path in scripts.unformatted():
        check(os.path.exists(os.path.join(scripts.ROOT, path)), f"{path} (unformatted.txt) exists")


UGLY = "let x=1+2   # one\nfn f(a){a*2}\n\n\n\nprint( f(x) )\n"
PRETTY = "let x = 1 + 2  # one\nfn f(a) { a * 2 }\n\nprint(f(x))\n"


def test_command_line(perturb):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ugly.ptb")
        with open(path, "w", encoding="utf-8") as f:
            f.write(UGLY)
        os.chmod(path, 0o640)

        # --check: exit 1, names the file and the first differing line, changes nothing.
        got = fmt(perturb, "--check", path)
        check(got.returncode == 1, f"--check on an unformatted file exits 1, got {got.returncode}")
        check(path in got.stdout and "line 1" in got.stdout and "- let x=1+2" in got.stdout
              and "+ let x = 1 + 2" in got.stdout, f"--check shows the first difference: {got.stdout}")
        check(open(path, encoding="utf-8").read() == UGLY, "--check rewrites nothing")

        # In place: formatted, mode kept, no temporary file left beside it.
        got = fmt(perturb, path)
        check(got.returncode == 0, f"fmt FILE exits 0, got {got.returncode}: {got.stderr}")
        check(open(path, encoding="utf-8").read() == PRETTY, "fmt FILE rewrites it in place")
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o640, "fmt FILE keeps the file's mode")
        check(os.listdir(tmp) == ["ugly.ptb"], f"no temporary file is left: {os.listdir(tmp)}")
        got = fmt(perturb, "--check", path)
        check(got.returncode == 0 and got.stdout == "", "--check on a formatted file: exit 0, quiet")

        # stdin to stdout, with no FILE and with -.
        for args in ([], ["-"]):
            got = fmt(perturb, *args, stdin=UGLY)
            check(got.returncode == 0 and got.stdout == PRETTY, f"fmt {args} filters stdin")
        got = fmt(perturb, "--check", "-", stdin=UGLY)
        check(got.returncode == 1 and "<stdin>" in got.stdout, "--check - reads stdin")

        # A file that does not parse: caret diagnostics, exit 65, the file untouched; the other
        # files of the command are still formatted.
        bad = os.path.join(tmp, "bad.ptb")
        broken = "let x = (1 +\nprint(x)\nlet y=2\n"
        with open(bad, "w", encoding="utf-8") as f:
            f.write(broken)
        before = os.stat(bad).st_mtime_ns
        other = os.path.join(tmp, "other.ptb")
        with open(other, "w", encoding="utf-8") as f:
            f.write(UGLY)
        got = fmt(perturb, bad, other)
        check(got.returncode == 65, f"a file that does not parse exits 65, got {got.returncode}")
        check(f"{bad}:" in got.stderr and "error:" in got.stderr and "^" in got.stderr,
              f"its errors are located, with a caret: {got.stderr}")
        check(open(bad, encoding="utf-8").read() == broken and os.stat(bad).st_mtime_ns == before,
              "a file that does not parse is left untouched")
        check(open(other, encoding="utf-8").read() == PRETTY, "the other files are formatted")

        got = fmt(perturb, os.path.join(tmp, "missing.ptb"))
        check(got.returncode == 74 and "cannot read" in got.stderr, "a missing file exits 74")
        got = fmt(perturb, "--bogus")
        check(got.returncode == 64 and "unknown option" in got.stderr, "a bad option exits 64")
        got = fmt(perturb, "--help")
        check(got.returncode == 0 and "--check" in got.stdout, "--help explains --check")


def test_bounded_time(perturb):
    """Inputs that once took quadratic or exponential time format in well under a second."""
    nested = "1"
    for _ in range(25):  # each level may try its call on one line and then break it after all
        nested = "g(fn(x) {\n  let y = " + nested + "\n  y\n}, " + "a" * 90 + ")"
    inputs = {
        "25 nested function literals in long calls": "let z = " + nested + "\n",
        "one line of 50,000 operators": "let x = " + " + ".join(["f(1)"] * 50000) + "\n",
        "lists nested 3,000 deep": "let x = " + "[" * 3000 + "1" + "]" * 3000 + "\n",
    }
    for what, source in inputs.items():
        try:
            got = fmt(perturb, stdin=source)
            check(got.returncode == 0, f"{what}: formatted, got exit {got.returncode}")
        except subprocess.TimeoutExpired:
            check(False, f"{what}: formatted within 60 s")


def main():
    perturb, roundtrip = sys.argv[1], sys.argv[2]
    test_cases(perturb)
    test_repository(roundtrip)
    test_lists_are_current(perturb)
    test_command_line(perturb)
    test_bounded_time(perturb)
    print(f"{len(failures)} failures" if failures else "all fmt tests passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
