#!/usr/bin/env python3
"""Runs one golden script and checks it against its `# expect` comments.

usage: run_golden.py PERTURB SCRIPT   (run from the repository root)

Comments a script may carry:
  # expect: TEXT                the next line of stdout is exactly TEXT
  # expect value: CHECK, ...    the next line of stdout holds one word per CHECK: a number
                                satisfying it, or a word without x as written (`true`)
  # expect error: MESSAGE       `perturb` exits 65 and reports MESSAGE (a substring)
  # expect runtime error: MSG   `perturb` exits 70 and reports MSG
  # expect exit: N              overrides the exit code (74 for I/O errors)
  # expect stderr: TEXT         stderr contains TEXT (e.g. a traceback line)
  # reference: FILE.json        value checks may name FILE's numbers by path (accuracy.clean)
  # args: ARGS                  extra command-line arguments
  # mode: check                 runs `perturb check` instead of `perturb run`
An error comment written after code on a line expects the diagnostic at that line
(`file:LINE:col: error: MESSAGE`); on a line of its own it may be anywhere.

Every diagnostic on stderr (`file:line:col: error: ...`) must be expected: by an error
comment whose message it contains (at its line, if the comment gives one), or by an
`# expect stderr:` text it contains. A run that exits 0 may write to stderr only where
`# expect stderr:` says so.

Chunks: a line `# ---` splits a file into chunks, each run as its own script with its
own comments (so one file holds many small error cases). A chunk runs with the other
chunks' lines blanked, so its diagnostics carry the file's line numbers; it runs from a
temporary copy, whose path is written back as the file's path before checking.

Value checks: a property check prints the number it tests, and `# expect value:` states
the bound, written as Perturb would compare it, with `x` for the printed number:
  print(acc)                    # expect value: x > 0.5
  print(mean(a))                # expect value: abs(x - 0.5) < 0.05
  print(min(p), max(p))         # expect value: x >= 0, x <= 1
  print(clean, robust < clean)  # expect value: x > 0.7, true
A check is one or more comparisons of `x` or `abs(x - C)` with a constant (`+ - * /` of
numbers allowed), joined by `and`; `abs(...)` only from above. So each check holds on one
interval of numbers. A constant may be a number of the `# reference:` file, named by its
path (`abs(x - accuracy.clean) <= 0.02`), so a reference number lives in one file only. `print` shows six significant digits: a check passes only if every
number that prints as the printed text satisfies it, so it is never weaker than the
comparison made in the script; a value within print rounding of its bound fails (keep such
a check a boolean).
"""
import ast
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from fractions import Fraction

DIRECTIVE = re.compile(
    r"#\s*(expect(?: runtime)?(?: error)?|expect value|expect exit|expect stderr|reference|args|mode):\s?(.*)$")
CHUNK_SEPARATOR = re.compile(r"^#\s*---\s*$")
DIAGNOSTIC = re.compile(r"^(.*?):(\d+):\d+: error: (.*)$")
PRINTED_DIGITS = 6  # format_number in interpreter/value.cpp prints "%.6g"


def split_chunks(text):
    """The file's chunks, each the whole file with every line outside the chunk blanked."""
    lines = text.splitlines()
    starts = [0] + [i + 1 for i, line in enumerate(lines) if CHUNK_SEPARATOR.match(line)]
    ends = [i for i, line in enumerate(lines) if CHUNK_SEPARATOR.match(line)] + [len(lines)]
    return [
        [line if start <= i < end else "" for i, line in enumerate(lines)]
        for start, end in zip(starts, ends)
    ]


def parse_expectations(lines):
    spec = {"stdout": [], "errors": [], "exit": None, "stderr": [], "args": [], "mode": "run",
            "reference": {}}
    for number, line in enumerate(lines, start=1):
        match = DIRECTIVE.search(line)
        if not match:
            continue
        kind, value = match.group(1), match.group(2).rstrip()
        trailing = line[: match.start()].strip() != ""
        if kind == "expect":
            spec["stdout"].append(value)
        elif kind == "expect value":
            spec["stdout"].append(ValueChecks(value, number, spec["reference"]))
        elif kind in ("expect error", "expect runtime error"):
            spec["errors"].append((number if trailing else None, value))
            if spec["exit"] is None:
                spec["exit"] = 65 if kind == "expect error" else 70
        elif kind == "expect exit":
            spec["exit"] = int(value)
        elif kind == "expect stderr":
            spec["stderr"].append(value)
        elif kind == "reference":
            with open(value.strip(), encoding="utf-8") as reference:
                spec["reference"] = json.load(reference)
        elif kind == "args":
            spec["args"] += value.split()
        elif kind == "mode":
            spec["mode"] = value.strip()
    if spec["exit"] is None:
        spec["exit"] = 0
    return spec


class ValueChecks:
    """The checks of one `# expect value:` line, one per printed number."""

    def __init__(self, text, line, reference):
        self.text = text
        self.sources = [part.strip() for part in text.split(",")]
        self.checks = [None if is_literal(source) else compile_check(source, line, reference)
                       for source in self.sources]

    def failure(self, printed):
        words = printed.split()
        if len(words) != len(self.checks):
            return f"printed {printed!r}, expected {len(self.checks)} words for {self.text!r}"
        for word, check, source in zip(words, self.checks, self.sources):
            if check is None:
                if word != source:
                    return f"printed {word!r} where {source!r} was expected"
                continue
            lowest, highest = printed_range(word)
            if lowest is None:
                return f"printed {word!r}, not a number, for {source!r}"
            if not check(lowest) or not check(highest):
                return f"printed {word}, which fails {source!r}" + (
                    " at six significant digits" if check(float(word)) else "")
        return None


def is_literal(source):
    """A word without x (`true`, `darkness`) is printed as it stands."""
    return re.search(r"\bx\b", source) is None


def printed_range(word):
    """The least and greatest doubles that `print` shows as word (None if not a number)."""
    if word in ("inf", "-inf"):
        return float(word), float(word)
    try:
        shown = Fraction(word)
    except ValueError:
        return None, None
    if shown == 0:
        return 0.0, 0.0  # only an exact zero prints as 0
    digits = re.sub(r"[^0-9]", "", word.split("e")[0].lstrip("-0.")) or "0"
    if re.fullmatch(r"-?\d+", word) and len(digits) > PRINTED_DIGITS:
        return float(word), float(word)  # whole numbers beyond six digits print exactly
    exponent = math.floor(math.log10(abs(shown)))
    half_unit = Fraction(10) ** (exponent - PRINTED_DIGITS + 1) / 2
    return double_at_least(shown - half_unit), double_at_most(shown + half_unit)


def double_at_least(exact):
    nearest = float(exact)
    return nearest if Fraction(nearest) >= exact else math.nextafter(nearest, math.inf)


def double_at_most(exact):
    nearest = float(exact)
    return nearest if Fraction(nearest) <= exact else math.nextafter(nearest, -math.inf)


def compile_check(text, line, reference):
    """A function of x for one check; refuses a check that is not one interval of numbers."""
    try:
        tree = ast.fix_missing_locations(ReferenceNumbers(reference, line).visit(
            ast.parse(text, mode="eval")))
    except SyntaxError as error:
        raise SystemExit(f"line {line}: cannot read value check {text!r}: {error.msg}")
    comparisons = tree.body.values if isinstance(tree.body, ast.BoolOp) else [tree.body]
    if isinstance(tree.body, ast.BoolOp) and not isinstance(tree.body.op, ast.And):
        raise SystemExit(f"line {line}: value checks join comparisons with 'and' only: {text!r}")
    for comparison in comparisons:
        if not is_interval_comparison(comparison):
            raise SystemExit(
                f"line {line}: {ast.unparse(comparison)!r} is not a comparison of x or "
                "abs(x - C) (from above) with constants")
    code = compile(tree, f"<value check, line {line}>", "eval")
    return lambda x: bool(eval(code, {"__builtins__": {}}, {"x": x, "abs": abs}))


class ReferenceNumbers(ast.NodeTransformer):
    """Replaces each path into the reference file (accuracy.clean) by its number."""

    def __init__(self, reference, line):
        self.reference, self.line = reference, line

    def visit_Name(self, node):
        return node if node.id in ("x", "abs") else self.number_at(node)

    def visit_Attribute(self, node):
        return self.number_at(node)

    def number_at(self, node):
        value = self.reference
        for key in ast.unparse(node).split("."):
            if not isinstance(value, dict) or key not in value:
                raise SystemExit(f"line {self.line}: the reference has no number "
                                 f"{ast.unparse(node)!r}")
            value = value[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise SystemExit(f"line {self.line}: {ast.unparse(node)!r} is not a number")
        return ast.copy_location(ast.Constant(value), node)


def is_interval_comparison(node):
    if not isinstance(node, ast.Compare):
        return False
    operands = [node.left] + node.comparators
    for op, left, right in zip(node.ops, operands, operands[1:]):
        if not isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
            return False
        if is_constant(left) == is_constant(right):
            return False
        term = right if is_constant(left) else left
        if not (is_x(term) or is_abs_distance(term)):
            return False
        bounded_above = isinstance(op, (ast.Lt, ast.LtE)) == (term is left)
        if is_abs_distance(term) and not bounded_above:
            return False
    return True


def is_x(node):
    return isinstance(node, ast.Name) and node.id == "x"


def is_abs_distance(node):
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs"
            and len(node.args) == 1 and not node.keywords
            and (is_x(node.args[0]) or (isinstance(node.args[0], ast.BinOp)
                                         and isinstance(node.args[0].op, ast.Sub)
                                         and is_x(node.args[0].left)
                                         and is_constant(node.args[0].right))))


def is_constant(node):
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd)) and is_constant(node.operand)
    if isinstance(node, ast.BinOp):
        return (isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div))
                and is_constant(node.left) and is_constant(node.right))
    return False


def run_perturb(perturb, script, lines, spec, chunked):
    """Runs one chunk; returns (exit code, stdout, stderr) with the chunk's path as script."""
    if not chunked:
        return run_command([perturb, spec["mode"], script] + spec["args"])
    with tempfile.TemporaryDirectory(prefix="perturb-golden-") as folder:
        copy = os.path.join(folder, os.path.basename(script))
        with open(copy, "w", encoding="utf-8", errors="surrogateescape") as out:
            out.write("\n".join(lines) + "\n")
        code, stdout, stderr = run_command([perturb, spec["mode"], copy] + spec["args"])
        return code, stdout.replace(copy, script), stderr.replace(copy, script)


def run_command(command):
    try:
        result = subprocess.run(command, capture_output=True, timeout=600)
    except subprocess.TimeoutExpired:
        return None, "", ""
    decode = lambda data: data.decode("utf-8", errors="replace")
    return result.returncode, decode(result.stdout), decode(result.stderr)


def check_chunk(perturb, script, lines, chunked):
    spec = parse_expectations(lines)
    code, stdout, stderr = run_perturb(perturb, script, lines, spec, chunked)
    if code is None:
        return ["timed out (a hang)"], ""
    failures = []
    if code < 0 or code > 128:
        failures.append(f"crashed with signal/exit {code}")
    if code != spec["exit"]:
        failures.append(f"exit code {code}, expected {spec['exit']}")
    failures += stdout_failures(spec["stdout"], stdout.splitlines())
    for line, message in spec["errors"]:
        where = rf"{re.escape(script)}:{line}:\d+" if line else rf"{re.escape(script)}:\d+:\d+"
        if not re.search(where + r": error: .*" + re.escape(message), stderr):
            failures.append(f"no diagnostic {where}: error: ...{message}")
    for text in spec["stderr"]:
        if text not in stderr:
            failures.append(f"stderr lacks {text!r}")
    failures += [f"unexpected diagnostic: {d}" for d in unexpected_diagnostics(script, spec, stderr)]
    if spec["exit"] == 0 and stderr.strip() and not spec["stderr"]:
        failures.append("unexpected stderr")
    if "Exception raised from" in stderr or "terminate called" in stderr:
        failures.append("a C++ stack dump reached the user")
    return failures, stderr


def stdout_failures(expected, lines):
    if len(expected) != len(lines):
        return ["stdout differs:\n  expected: %r\n  got:      %r" % (
            [e.text if isinstance(e, ValueChecks) else e for e in expected], lines)]
    failures = []
    for number, (want, got) in enumerate(zip(expected, lines), start=1):
        if isinstance(want, ValueChecks):
            failure = want.failure(got)
            if failure:
                failures.append(f"stdout line {number}: {failure}")
        elif want != got:
            failures.append(f"stdout line {number}:\n  expected: {want!r}\n  got:      {got!r}")
    return failures


def unexpected_diagnostics(script, spec, stderr):
    unexpected = []
    for line in stderr.splitlines():
        match = DIAGNOSTIC.match(line)
        if not match:
            continue
        at_line, message = int(match.group(2)), match.group(3)
        by_error = any(text in message and (where is None or where == at_line)
                       for where, text in spec["errors"])
        if not by_error and not any(text in line for text in spec["stderr"]):
            unexpected.append(line)
    return unexpected


def main():
    perturb, script = sys.argv[1], sys.argv[2]
    text = open(script, "rb").read().decode("utf-8", errors="surrogateescape")
    chunks = split_chunks(text)
    failed = False
    for index, lines in enumerate(chunks, start=1):
        failures, stderr = check_chunk(perturb, script, lines, chunked=len(chunks) > 1)
        if failures:
            failed = True
            where = f" chunk {index} (line {first_line(lines)})" if len(chunks) > 1 else ""
            print(f"FAIL {script}{where}")
            for f in failures:
                print("  " + f)
            print("--- stderr ---\n" + stderr)
    if not failed:
        print(f"ok {script}" + (f" ({len(chunks)} chunks)" if len(chunks) > 1 else ""))
    return 1 if failed else 0


def first_line(lines):
    return next((i for i, line in enumerate(lines, start=1) if line.strip()), 1)


if __name__ == "__main__":
    sys.exit(main())
