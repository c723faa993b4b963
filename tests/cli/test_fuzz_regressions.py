#!/usr/bin/env python3
"""Replays what the fuzzers found (issue 17; docs/hardening.md): every file under
tests/fuzz_regressions/ once crashed, hung or reached an internal error in one of the fuzz
targets. Each must now end within 20 s with a located diagnostic (FILE:LINE:COL) or success,
never a signal, an "internal error" or a C++ backtrace. Files found by fuzz_eval also run.

usage: test_fuzz_regressions.py PERTURB
"""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz_regressions")
LOCATED = re.compile(r"^.+:\d+:\d+: error: ", re.M)


def replay(perturb, command, path):
    try:
        done = subprocess.run([perturb, command, "--timeout", "10", path], capture_output=True,
                              timeout=20)
    except subprocess.TimeoutExpired:
        return "did not end within 20 s"
    err = done.stderr.decode("utf-8", "replace")
    if done.returncode < 0 or done.returncode > 128:
        return "ended by a signal (status %d): %s" % (done.returncode, err[-400:])
    if "internal error" in err:
        return "internal error: " + err[-400:]
    if done.returncode not in (0, 65, 70, 74):
        return "exit status %d: %s" % (done.returncode, err[-400:])
    if done.returncode != 0 and not LOCATED.search(err):
        return "unlocated error: " + err[-400:]
    return None


def main():
    perturb = os.path.abspath(sys.argv[1])
    failures, count = [], 0
    for target in sorted(os.listdir(ROOT)):
        folder = os.path.join(ROOT, target)
        if not os.path.isdir(folder):
            continue
        commands = ["check", "run"] if target == "fuzz_eval" else ["check"]
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            for command in commands:
                count += 1
                problem = replay(perturb, command, path)
                if problem:
                    failures.append("%s %s/%s: %s" % (command, target, name, problem))
    for failure in failures:
        print("FAIL", failure)
    print("%d replays, %d failed" % (count, len(failures)))
    return 1 if failures or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
