#!/usr/bin/env python3
"""Every code block of docs/tutorial.md runs.

usage: test_tutorial.py PERTURB [MARKDOWN]   (from the repository root)

The ```perturb blocks of the tutorial read as one program, in order, as a reader typing them into
`perturb repl` or one file would run them. The test writes that program with every block on the
same line numbers as in the markdown (prose becomes blank lines), so a diagnostic's
`file:LINE:col` is a line of docs/tutorial.md, runs it with `perturb run`, and checks:
  - it exits 0 with nothing on stderr;
  - each `# expect: TEXT` comment in a block is a line of stdout, in the order written (the
    tutorial shows only deterministic output that way; other lines may come in between);
  - every block is reached: the program prints a marker after each block.
A block fenced ```perturb-norun is shown but not run (none should be needed).
"""
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\S*)\s*$")
EXPECT = re.compile(r"#\s*expect:\s?(.*)$")


def blocks(lines):
    """(first line index, lines) of each ```perturb block."""
    out, current, start, lang = [], None, 0, None
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if m and current is None:
            lang, current, start = m.group(1), [], i + 1
        elif m and current is not None and m.group(1) == "":
            if lang == "perturb":
                out.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        sys.exit("test_tutorial.py: a code block is not closed")
    return out


def main():
    perturb = sys.argv[1]
    markdown = sys.argv[2] if len(sys.argv) > 2 else "docs/tutorial.md"
    lines = open(markdown, encoding="utf-8").read().splitlines()
    found = blocks(lines)
    if not found:
        print("FAIL: no ```perturb blocks in " + markdown)
        return 1
    program = [""] * len(lines)
    expected = []
    for number, (start, body) in enumerate(found):
        for k, line in enumerate(body):
            program[start + k] = line
            m = EXPECT.search(line)
            if m:
                expected.append((start + k + 1, m.group(1).rstrip()))
        # The closing fence's line carries the marker that the block was reached.
        marker = "@block %d" % (number + 1)
        program[start + len(body)] = 'print("%s")' % marker
        expected.append((start + len(body) + 1, marker))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, os.path.basename(markdown) + ".ptb")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(program) + "\n")
        result = subprocess.run([perturb, "run", path], capture_output=True, timeout=900)
    out = result.stdout.decode("utf-8", "replace").splitlines()
    err = result.stderr.decode("utf-8", "replace").replace(path, markdown)
    failures = []
    if result.returncode != 0:
        failures.append("exit code %d" % result.returncode)
    if err.strip():
        failures.append("stderr:\n    " + err.strip().replace("\n", "\n    "))
    position = 0
    for line, text in expected:
        try:
            position = out.index(text, position) + 1
        except ValueError:
            what = "block ending at line %d was not reached" % line if text.startswith("@block") \
                else "%s:%d: expected the output line %r (in order)" % (markdown, line, text)
            failures.append(what)
            break
    if failures:
        print("FAIL " + markdown)
        for f in failures:
            print("  " + f)
        print("--- stdout ---\n" + "\n".join(out))
        return 1
    if os.environ.get("VERBOSE"):
        print("\n".join(out))
    print("ok %s: %d blocks ran, %d expected lines seen" %
          (markdown, len(found), len(expected) - len(found)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
