#!/usr/bin/env python3
"""A black-box mutational fuzz of `perturb check` and `perturb run` over the golden scripts
(docs/hardening.md): each mutant is one golden script with a few random edits (numbers swapped
for extreme ones, strings for hostile paths, lines dropped or doubled, bytes inserted, the text
cut short). A finding is a run that ends by a signal, reaches an "internal error", fails without
a FILE:LINE:COL diagnostic, exits with a status outside 0/64/65/70/74/130, or outlives
--timeout by more than its grace. Findings are written to OUT/ with what happened.

usage: fuzz/blackbox.py PERTURB SECONDS [OUT] [--seed N]   (from the repository root)
"""
import os
import random
import re
import subprocess
import sys
import tempfile
import time

NUMBERS = ["0", "-1", "1e9", "1e308", "-1e308", "0.5", "65536", "1e-300", "3", "100000",
           "9007199254740993", "-0"]
STRINGS = ['""', '"/dev/zero"', '"/tmp"', '"x.npy"', '"\\u0000"', '"' + "a" * 300 + '"',
           '"tests"', '"nonexistent/deep/path.pt"']
LOCATED = re.compile(r"^\S.*:\d+:\d+: (error|warning)", re.M)
RUN_TIMEOUT = 10  # --timeout given to perturb run
GRACE = 30        # seconds beyond it before a run counts as hung


def mutate(text, rng):
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(7)
        if choice == 0:
            spots = list(re.finditer(r"(?<![\w.])\d+(\.\d+)?(e-?\d+)?", text))
            if spots:
                m = rng.choice(spots)
                text = text[:m.start()] + rng.choice(NUMBERS) + text[m.end():]
        elif choice == 1:
            spots = list(re.finditer(r'"[^"\n]*"', text))
            if spots:
                m = rng.choice(spots)
                text = text[:m.start()] + rng.choice(STRINGS) + text[m.end():]
        elif choice == 2:
            lines = text.split("\n")
            del lines[rng.randrange(len(lines))]
            text = "\n".join(lines)
        elif choice == 3:
            lines = text.split("\n")
            k = rng.randrange(len(lines))
            lines.insert(k, lines[k])
            text = "\n".join(lines)
        elif choice == 4:
            k = rng.randrange(len(text) + 1)
            text = text[:k] + rng.choice(["(", ")", "[", "]", "{", "}", ",", ":", "..", "-",
                                          "\x00", "\xff", "fn", "let", "**"]) + text[k:]
        elif choice == 5:
            text = text[:rng.randrange(len(text) + 1)]
        else:
            words = re.findall(r"\b[a-z_][a-z_0-9]*\b", text)
            spots = list(re.finditer(r"\b[a-z_][a-z_0-9]*\b", text))
            if words and spots:
                m = rng.choice(spots)
                text = text[:m.start()] + rng.choice(words) + text[m.end():]
    return text


def verdict(command, done, seconds):
    err = done.stderr.decode("utf-8", "replace")
    if done.returncode < 0 or done.returncode > 130 or done.returncode in (124, 134, 137, 139):
        return f"ended by a signal or abort (status {done.returncode})"
    if "internal error" in err:
        return "internal error"
    if done.returncode not in (0, 64, 65, 70, 74, 130):
        return f"exit status {done.returncode}"
    if done.returncode not in (0, 64) and not LOCATED.search(err) and \
            "did not stop within" not in err:
        return "an error without FILE:LINE:COL"
    if command == "run" and seconds > RUN_TIMEOUT + GRACE:
        return f"took {seconds:.0f} s under --timeout {RUN_TIMEOUT}"
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--seed")]
    seed = int(next((a.split("=")[1] for a in sys.argv[1:] if a.startswith("--seed=")), "0"))
    perturb, budget = os.path.abspath(args[0]), float(args[1])
    out = args[2] if len(args) > 2 else "fuzz-blackbox-findings"
    os.makedirs(out, exist_ok=True)
    scripts = sorted(os.path.join(d, f) for d, _, fs in os.walk("tests/golden") for f in fs
                     if f.endswith(".ptb"))
    rng = random.Random(seed)
    counts = {"check": 0, "run": 0}
    findings = 0
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="perturb-blackbox-") as tmp:
        while time.time() - start < budget:
            source = rng.choice(scripts)
            with open(source, encoding="utf-8", errors="surrogateescape") as f:
                text = mutate(f.read(), rng)
            mutant = os.path.join(tmp, "mutant.ptb")
            with open(mutant, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
            for command in ("check", "run"):
                extra = ["--timeout", str(RUN_TIMEOUT)] if command == "run" else []
                began = time.time()
                try:
                    done = subprocess.run([perturb, command, *extra, mutant], capture_output=True,
                                          timeout=RUN_TIMEOUT + GRACE + 30, cwd=os.getcwd())
                    problem = verdict(command, done, time.time() - began)
                except subprocess.TimeoutExpired:
                    done, problem = None, "hung"
                counts[command] += 1
                if problem:
                    findings += 1
                    name = os.path.join(out, f"{command}-{findings}.ptb")
                    with open(name, "w", encoding="utf-8", errors="surrogateescape") as f:
                        f.write(text)
                    with open(name + ".txt", "w") as f:
                        f.write(f"{source}\n{problem}\n")
                        if done is not None:
                            f.write(done.stderr.decode("utf-8", "replace")[-3000:])
                    print(f"finding {name}: {problem} (from {source})", flush=True)
                if command == "check" and done is not None and done.returncode != 0:
                    break  # a script that does not check does not run either
    print(f"{counts['check']} checks, {counts['run']} runs in {time.time() - start:.0f} s, "
          f"{findings} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
