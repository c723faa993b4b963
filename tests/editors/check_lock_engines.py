#!/usr/bin/env python3
"""Checks that every package in the given npm lock files runs on Debian 12's Node.js.

usage: check_lock_engines.py [--node VERSION] LOCK.json...

Debian 12 ships Node.js 18.19, and `make test` must pass there with only what scripts/setup.sh
installs. npm installs a package whose `engines.node` excludes the running Node with a warning
only, and then it fails at run time (vsce 3 and undici 7 need Node 20), so each package's
`engines.node` range in the lock files must admit 18.19.0. Pinning (a version in package.json,
`overrides` for transitive dependencies) keeps the locks so; this test fails, naming the package
and its range, when a lock update brings in one that does not.

The ranges are npm's semver ranges: `||` alternatives of space-separated comparators (<, <=, >,
>=, =), caret and tilde ranges, x-ranges (`18`, `18.x`, `*`) and hyphen ranges (`1.2 - 3`).
"""
import argparse
import json
import re
import sys

DEBIAN_12_NODE = "18.19.0"
PARTIAL = r"v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"


def parse_partial(text):
    """'18.2' -> [18, 2, None]: the numbers given, None for a missing or wildcard part."""
    m = re.fullmatch(PARTIAL, text)
    if not m:
        raise ValueError(f"not a version: {text!r}")
    return [None if g is None or g in "xX*" else int(g) for g in m.groups()]


def filled(parts):
    return tuple(p if p is not None else 0 for p in parts)


def bump(parts):
    """The smallest version above every version the partial names: 18 -> 19.0.0, 1.2 -> 1.3.0."""
    given = [p for p in parts if p is not None]
    if not given:
        return None
    upper = given[:-1] + [given[-1] + 1]
    return tuple(upper + [0] * (3 - len(upper)))


def comparator_bounds(op, text):
    """The comparator as a list of (op, version) primitives on complete versions."""
    parts = parse_partial(text)
    if parts[0] is None:
        return []  # '*', 'x': anything
    if op == "^":
        first = next((i for i, p in enumerate(parts) if p), len([p for p in parts if p is not None]) - 1)
        keep = [p if p is not None else 0 for p in parts[: first + 1]]
        upper = keep[:-1] + [keep[-1] + 1]
        return [(">=", filled(parts)), ("<", tuple(upper + [0] * (3 - len(upper))))]
    if op == "~":
        given = [p for p in parts if p is not None]
        upper = [given[0], given[1] + 1] if len(given) >= 2 else [given[0] + 1]
        return [(">=", filled(parts)), ("<", tuple(upper + [0] * (3 - len(upper))))]
    partial = None in parts
    if op in ("", "="):
        return [(">=", filled(parts)), ("<", bump(parts))] if partial else [("=", filled(parts))]
    if op == ">" and partial:
        return [(">=", bump(parts))]
    if op == "<=" and partial:
        return [("<", bump(parts))]
    return [(op, filled(parts))]


def satisfies(version, range_text):
    v = filled(parse_partial(version))
    tests = {"<": v.__lt__, "<=": v.__le__, ">": v.__gt__, ">=": v.__ge__, "=": v.__eq__}
    for alternative in range_text.split("||"):
        alternative = alternative.strip()
        hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", alternative)
        if hyphen:
            bounds = comparator_bounds(">=", hyphen.group(1)) + comparator_bounds("<=", hyphen.group(2))
        else:
            # '>= 16' and '>=16' are the same comparator: join an operator to its version.
            tokens = re.sub(r"(<=|>=|<|>|=|\^|~)\s+", r"\1", alternative).split()
            bounds = []
            for token in tokens or ["*"]:
                m = re.fullmatch(r"(<=|>=|<|>|=|\^|~)?(.+)", token)
                bounds += comparator_bounds(m.group(1) or "", m.group(2))
        if all(tests[op](bound) for op, bound in bounds):
            return True
    return False


def self_test():
    cases = [
        (">=18", True), (">= 20", False), (">=20.18.1", False), ("18 || 20 || >=22", True),
        ("20 || >=22", False), ("^16.14.0 || >=18.0.0", True), ("^12.20.0 || ^14.13.1 || >=16.0.0", True),
        (">=0.6.11 <=0.7.0 || >=0.7.3", True), (">=16 || 14 >=14.17", True), ("*", True), ("", True),
        (">=18.17", True), (">=18.20", False), ("^18.19.0", True), ("~18.18.0", False), ("18.x", True),
        ("<18.19", False), ("<=18.19", True), (">18", False), (">18.18", True), ("16 - 18", True),
        ("16 - 18.18", False), (">= 0.4", True), (">=12 <18", False),
    ]
    for range_text, expected in cases:
        assert satisfies(DEBIAN_12_NODE, range_text) == expected, (range_text, expected)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", default=DEBIAN_12_NODE, help="the Node.js version to admit")
    parser.add_argument("locks", nargs="+")
    args = parser.parse_args()
    self_test()
    bad = 0
    for lock_path in args.locks:
        with open(lock_path, encoding="utf-8") as f:
            packages = json.load(f).get("packages", {})
        for where, package in packages.items():
            node_range = (package.get("engines") or {}).get("node") if isinstance(package.get("engines"), dict) else None
            if node_range is None:
                continue
            try:
                ok = satisfies(args.node, node_range)
            except ValueError as error:
                print(f"FAIL {lock_path}: {where or '(root)'}: engines.node {node_range!r}: {error}")
                bad += 1
                continue
            if not ok:
                print(f"FAIL {lock_path}: {where} {package.get('version')} needs Node {node_range}, "
                      f"not {args.node} (pin an older version in package.json or its overrides)")
                bad += 1
        print(f"checked {len(packages) - 1} packages of {lock_path} against Node {args.node}")
    if bad:
        return 1
    print(f"ok: every package in the lock files accepts Node {args.node}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
