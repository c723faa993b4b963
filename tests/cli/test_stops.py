#!/usr/bin/env python3
"""Runs that stop early lose nothing (issue 17):
1. certify with out: stopped by Ctrl-C (SIGINT) keeps every finished row in its TSV file, exits
   130 saying how to go on; running the script again continues after those rows, and the
   certificate equals an uninterrupted run's (same seed: input i's noise is keyed by i). A file
   of another certification is refused, not overwritten.
2. --timeout stops a runaway loop with a located error (exit 70); --max-memory refuses a tensor,
   list or string larger than what is left under the limit before allocating it, and stops a
   script whose memory grows past it.

usage: test_stops.py PERTURB   (run from the repository root; CTest does)
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

CERTIFY = """
let net = load("tests/conformance/fmnist_cnn.ts")
let test = fashion_mnist(split: "test", limit: 12)
let cert = certify(net, test, Smooth(sigma: 0.25), n0: 50, n: {n}, batch: 250, seed: 3{extra})
save(cert, "{json}")
"""


def fail(message):
    print("FAIL stops: " + message)
    sys.exit(1)


def run(perturb, *args, timeout=300):
    return subprocess.run([perturb, *args], capture_output=True, text=True, timeout=timeout)


def rows_of(path):
    with open(path) as f:
        cert = json.load(f)
    return [{k: v for k, v in row.items() if k != "time"} for row in cert["rows"]]


def certify_interrupt_and_continue(perturb, tmp):
    script = os.path.join(tmp, "certify.ptb")
    reference = os.path.join(tmp, "reference.json")
    with open(script, "w") as f:
        f.write(CERTIFY.format(n=4000, extra="", json=reference))
    done = run(perturb, "run", script)
    if done.returncode != 0:
        fail("the uninterrupted certify failed:\n" + done.stderr)

    table = os.path.join(tmp, "rows.tsv")
    continued = os.path.join(tmp, "continued.json")
    with open(script, "w") as f:
        f.write(CERTIFY.format(n=4000, extra=f', out: "{table}"', json=continued))
    victim = subprocess.Popen([perturb, "run", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and victim.poll() is None:
        if os.path.exists(table) and open(table).read().count("\n") >= 2 + 3:
            victim.send_signal(signal.SIGINT)
            break
        time.sleep(0.002)
    _, err = victim.communicate(timeout=300)
    if victim.returncode != 130 or not re.search(
            r"certify interrupted by Ctrl-C \(SIGINT\) after \d+ of 12 inputs; their rows are in "
            r".*rows.tsv: run the script again to continue after them", err):
        fail(f"Ctrl-C did not stop certify keeping its rows (exit {victim.returncode}):\n{err}")
    kept = open(table).read().splitlines()[2:]
    if not 3 <= len(kept) < 12:
        fail(f"{len(kept)} rows kept after Ctrl-C, expected between 3 and 11")

    done = run(perturb, "run", script)
    if done.returncode != 0:
        fail("continuing certify failed:\n" + done.stderr)
    if rows_of(continued) != rows_of(reference):
        fail("the continued certificate differs from the uninterrupted one")
    lines = open(table).read().splitlines()
    if len(lines) != 2 + 12 or lines[1].split("\t")[:4] != ["idx", "label", "predict", "radius"]:
        fail("the out: file does not hold the 12 rows under its header:\n" + "\n".join(lines))

    # A damaged row is an error naming the file and line; the file is left as it is.
    with open(table, "w") as f:
        f.write("\n".join(lines[:2] + ["0\t9\t9\tnot-a-radius\t1\t0.1\t30"]) + "\n")
    damaged = run(perturb, "run", script)
    if damaged.returncode != 74 or "rows.tsv', line 3: not a row" not in damaged.stderr:
        fail(f"a damaged row was not a located error (exit {damaged.returncode}):\n"
             f"{damaged.stderr}")
    with open(table, "w") as f:
        f.write("\n".join(lines) + "\n")

    # Another n: the file belongs to another certification and is left as it is.
    with open(script, "w") as f:
        f.write(CERTIFY.format(n=2000, extra=f', out: "{table}"', json=continued))
    before = open(table).read()
    other = run(perturb, "run", script)
    if other.returncode != 74 or "holds rows of another certification" not in other.stderr or \
            not re.search(r"certify\.ptb:\d+:\d+: error", other.stderr):
        fail(f"a file of other settings was not refused (exit {other.returncode}):\n{other.stderr}")
    if open(table).read() != before:
        fail("the refused out: file was changed")


def limits(perturb, tmp):
    loop = os.path.join(tmp, "loop.ptb")
    with open(loop, "w") as f:
        f.write("let i = 0\nwhile true {\n  i = i + 1\n}\n")
    start = time.time()
    done = run(perturb, "run", "--timeout", "1", loop, timeout=60)
    if done.returncode != 70 or not re.search(
            r"loop\.ptb:2:7: error: the script ran past its limit \(--timeout 1 s\)", done.stderr):
        fail(f"--timeout did not stop a loop (exit {done.returncode}):\n{done.stderr}")
    if time.time() - start > 20:
        fail("--timeout 1 took more than 20 s to stop the loop")

    big = os.path.join(tmp, "big.ptb")
    with open(big, "w") as f:
        f.write("let x = zeros([1000, 1000, 1000])\n")
    done = run(perturb, "run", "--max-memory", "1G", big, timeout=60)
    if done.returncode != 70 or "left under the --max-memory limit of 1.0 GB" not in done.stderr:
        fail(f"--max-memory did not refuse a 4 GB tensor (exit {done.returncode}):\n{done.stderr}")

    grow = os.path.join(tmp, "grow.ptb")
    with open(grow, "w") as f:
        f.write("let kept = []\nwhile true {\n  kept = kept + [zeros([64, 1024, 1024])]\n}\n")
    done = run(perturb, "run", "--max-memory", "1500M", grow, timeout=120)
    # Either the watchdog stops the loop or the next tensor is refused for what is left.
    if done.returncode != 70 or not re.search(
            r"grow\.ptb:\d+:\d+: error: (the script ran past its limit \(--max-memory 1\.5 GB\)|"
            r"zeros of this shape would take .* left under the --max-memory limit of 1\.5 GB)",
            done.stderr):
        fail(f"--max-memory did not stop a growing script (exit {done.returncode}):\n"
             f"{done.stderr}")
    # A list or a string doubled in a loop stops before it outgrows the limit.
    for kind, start in (("list", "[1]"), ("string", '"ab"')):
        double = os.path.join(tmp, "double.ptb")
        with open(double, "w") as f:
            f.write(f"let x = {start}\nwhile true {{\n  x = x + x\n}}\n")
        done = run(perturb, "run", "--max-memory", "1G", double, timeout=120)
        # Refused before it is built, or stopped by the watchdog when the last copy grew past it.
        if done.returncode != 70 or not re.search(
                rf"double\.ptb:\d+:\d+: error: (a {kind} of [\d.e+]+ items would take .* left "
                r"under the --max-memory limit of 1\.0 GB|the script ran past its limit "
                r"\(--max-memory 1\.0 GB\))", done.stderr):
            fail(f"a {kind} doubled in a loop was not stopped (exit {done.returncode}):\n"
                 f"{done.stderr}")

    bad = run(perturb, "run", "--max-memory", "lots", loop)
    if bad.returncode != 64 or "--max-memory needs a size such as 2G" not in bad.stderr:
        fail(f"a bad --max-memory was not a usage error:\n{bad.stderr}")


def main():
    perturb = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="perturb-stops-") as tmp:
        limits(perturb, tmp)
        certify_interrupt_and_continue(perturb, tmp)
    print("ok stops")


if __name__ == "__main__":
    main()
