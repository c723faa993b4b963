#!/usr/bin/env python3
"""Runs one golden script and checks it against its `# expect` comments.

usage: run_golden.py PERTURB SCRIPT   (run from the repository root)

Comments a script may carry:
  # expect: TEXT                the next line of stdout is exactly TEXT
  # expect error: MESSAGE       `perturb` exits 65 and reports MESSAGE (a substring)
  # expect runtime error: MSG   `perturb` exits 70 and reports MSG
  # expect exit: N              overrides the exit code (74 for I/O errors)
  # expect stderr: TEXT         stderr contains TEXT (e.g. a traceback line)
  # args: ARGS                  extra command-line arguments
  # mode: check                 runs `perturb check` instead of `perturb run`
An error comment written after code on a line expects the diagnostic at that line
(`file:LINE:col: error: MESSAGE`); on a line of its own it may be anywhere.
"""
import re
import subprocess
import sys

DIRECTIVE = re.compile(r"#\s*(expect(?: runtime)?(?: error)?|expect exit|expect stderr|args|mode):\s?(.*)$")


def parse_expectations(path):
    text = open(path, "rb").read().decode("utf-8", errors="replace")
    spec = {"stdout": [], "errors": [], "exit": None, "stderr": [], "args": [], "mode": "run"}
    for number, line in enumerate(text.splitlines(), start=1):
        match = DIRECTIVE.search(line)
        if not match:
            continue
        kind, value = match.group(1), match.group(2).rstrip()
        trailing = line[: match.start()].strip() != ""
        if kind == "expect":
            spec["stdout"].append(value)
        elif kind in ("expect error", "expect runtime error"):
            spec["errors"].append((number if trailing else None, value))
            if spec["exit"] is None:
                spec["exit"] = 65 if kind == "expect error" else 70
        elif kind == "expect exit":
            spec["exit"] = int(value)
        elif kind == "expect stderr":
            spec["stderr"].append(value)
        elif kind == "args":
            spec["args"] += value.split()
        elif kind == "mode":
            spec["mode"] = value.strip()
    if spec["exit"] is None:
        spec["exit"] = 0
    return spec


def main():
    perturb, script = sys.argv[1], sys.argv[2]
    spec = parse_expectations(script)
    command = [perturb, spec["mode"], script] + spec["args"]
    try:
        result = subprocess.run(command, capture_output=True, timeout=600)
    except subprocess.TimeoutExpired:
        print(f"FAIL {script}: timed out (a hang)")
        return 1
    stdout = result.stdout.decode("utf-8", errors="replace")
    stderr = result.stderr.decode("utf-8", errors="replace")
    failures = []
    if result.returncode < 0 or result.returncode > 128:
        failures.append(f"crashed with signal/exit {result.returncode}")
    if result.returncode != spec["exit"]:
        failures.append(f"exit code {result.returncode}, expected {spec['exit']}")
    lines = stdout.splitlines()
    if lines != spec["stdout"]:
        failures.append("stdout differs:\n  expected: %r\n  got:      %r" % (spec["stdout"], lines))
    for line, message in spec["errors"]:
        where = rf"{re.escape(script)}:{line}:\d+" if line else rf"{re.escape(script)}:\d+:\d+"
        if not re.search(where + r": error: .*" + re.escape(message), stderr):
            failures.append(f"no diagnostic {where}: error: ...{message}")
    for text in spec["stderr"]:
        if text not in stderr:
            failures.append(f"stderr lacks {text!r}")
    if spec["exit"] == 0 and stderr.strip() and not spec["stderr"]:
        failures.append("unexpected stderr")
    if "Exception raised from" in stderr or "terminate called" in stderr:
        failures.append("a C++ stack dump reached the user")
    if failures:
        print(f"FAIL {script}")
        for f in failures:
            print("  " + f)
        print("--- stderr ---\n" + stderr)
        return 1
    print(f"ok {script}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
