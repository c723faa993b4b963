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


def run_env(env, *args):
    """Runs with `env` over the current environment; a None value removes the variable."""
    merged = {**os.environ, **env}
    merged = {name: value for name, value in merged.items() if value is not None}
    result = subprocess.run(list(args), capture_output=True, timeout=60, env=merged)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def check_threads(perturb, script, expect):
    """--threads, PERTURB_THREADS and OMP_NUM_THREADS, in that order of precedence; the default
    is every core of the process's CPU affinity (taskset limits it); --verbose says what won."""
    clean = {"PERTURB_THREADS": None, "OMP_NUM_THREADS": None}
    code, _, err = run_env(clean, perturb, "run", script, "--threads", "1", "--verbose")
    expect(code == 0 and "threads: 1 intra-op and inter-op (--threads" in err,
           "--threads 1 is applied and --verbose names it: " + err)
    code, _, err = run_env({"PERTURB_THREADS": "2", "OMP_NUM_THREADS": "1"}, perturb, "run",
                           script, "--verbose")
    expect(code == 0 and "threads: 2 intra-op and inter-op (PERTURB_THREADS" in err,
           "PERTURB_THREADS wins over OMP_NUM_THREADS: " + err)
    code, _, err = run_env(clean, perturb, "run", script, "--verbose")
    cores = len(os.sched_getaffinity(0))
    expect(code == 0 and f"threads: {cores} intra-op and inter-op (CPU affinity; {cores} usable"
           in err, "the default is every usable core: " + err)
    if cores > 1 and os.path.exists("/usr/bin/taskset"):
        code, _, err = run_env(clean, "/usr/bin/taskset", "-c", "0", perturb, "run", script,
                               "--verbose")
        expect(code == 0 and "threads: 1 intra-op and inter-op (CPU affinity; 1 usable" in err,
               "taskset -c 0 limits the default to one thread: " + err)
    code, _, err = run(perturb, "run", script, "--threads", "0")
    expect(code == 64 and "--threads" in err, "--threads 0 exits 64")
    code, _, err = run_env({"PERTURB_THREADS": "many"}, perturb, "run", script)
    expect(code == 64 and "PERTURB_THREADS" in err and "many" in err,
           "a bad PERTURB_THREADS exits 64 and names it: " + err)


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
        check_threads(perturb, seeded, expect)
        # Brackets nested past the parser's limit: a located error, not a stack overflow.
        deep = os.path.join(tmp, "deep.ptb")
        with open(deep, "w") as f:
            f.write("let a = " + "(" * 100000 + "1" + ")" * 100000 + "\n")
        code, _, err = run(perturb, "check", deep)
        expect(code == 65 and "deep.ptb:1:10009: error: brackets nested too deeply" in err,
               f"100,000 nested parentheses are a located error: {code} {err[:200]}")
        # So are a million chained operators (each one more level of the expression's tree).
        with open(deep, "w") as f:
            f.write("let a = " + "- " * 1000000 + "1\n")
        code, _, err = run(perturb, "check", deep)
        expect(code == 65 and "deep.ptb:1:200009: error: expression nested too deeply" in err,
               f"a million unary minuses are a located error: {code} {err[:200]}")
    if failures:
        print("FAIL cli\n  " + "\n  ".join(failures))
        return 1
    print("ok cli")
    return 0


if __name__ == "__main__":
    sys.exit(main())
