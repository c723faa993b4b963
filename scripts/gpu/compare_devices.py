#!/usr/bin/env python3
"""Runs scripts on --device cpu and --device cuda and compares what they print.

usage: compare_devices.py PERTURB SCRIPT...   (from the repository root)

A script must print the same words on both devices, and numbers within 1e-3 (absolute, or
relative above 1): the issue 15 bar for accuracies. Scripts that fail on the CPU in this build
(image files need OpenCV, which the GPU kit leaves out) or expect errors are skipped, and said so.
Prints one line per script and a summary; exits 1 when any script differs or fails on CUDA.
"""
import re
import subprocess
import sys

NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?$")
TOLERANCE = 1e-3


def run(perturb, script, device):
    proc = subprocess.run([perturb, "run", script, "--seed", "0", "--device", device],
                          capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def same(a, b):
    if NUMBER.match(a) and NUMBER.match(b):
        x, y = float(a.rstrip("%")), float(b.rstrip("%"))
        return abs(x - y) <= TOLERANCE * max(1.0, abs(x))
    return a == b


def differences(cpu, cuda):
    words_cpu = re.split(r"[\s,()\[\]{}:=]+", cpu)
    words_cuda = re.split(r"[\s,()\[\]{}:=]+", cuda)
    if len(words_cpu) != len(words_cuda):
        return [f"{len(words_cpu)} words on the CPU, {len(words_cuda)} on CUDA"]
    return [f"{a} vs {b}" for a, b in zip(words_cpu, words_cuda) if not same(a, b)]


def main():
    perturb, scripts = sys.argv[1], sys.argv[2:]
    bad = compared = 0
    for script in scripts:
        text = open(script).read()
        if "# ---" in text or "expect error" in text or "expect runtime error" in text:
            print(f"skip   {script}: expects errors")
            continue
        code, cpu, err = run(perturb, script, "cpu")
        if code != 0:
            print(f"skip   {script}: fails on the CPU in this build: {err.strip()[-160:]}")
            continue
        compared += 1
        code, cuda, err = run(perturb, script, "cuda")
        if code != 0:
            bad += 1
            print(f"FAIL   {script}: exit {code} on CUDA: {err.strip()[-300:]}")
            continue
        diff = differences(cpu, cuda)
        if diff:
            bad += 1
            print(f"DIFFER {script}: {'; '.join(diff[:5])}")
        else:
            print(f"same   {script}")
    print(f"compare_devices: {compared - bad} of {compared} scripts print the same on cpu and cuda")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
