"""The repository's Perturb scripts, and those that perturb fmt must leave alone."""

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _listed(name):
    """Paths from a list file in tests/fmt: one per line, `#` starts a comment (the reason)."""
    paths = []
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        for line in f:
            path = line.split("#", 1)[0].strip()
            if path:
                paths.append(path)
    return paths


def unparsable():
    """Scripts written to contain syntax errors: they cannot be formatted."""
    return _listed("unparsable.txt")


def unformatted():
    """Scripts whose layout is what their test is about: kept as written."""
    return _listed("unformatted.txt")


def repository_scripts():
    """Every .ptb under version control (every .ptb outside build folders without git)."""
    try:
        out = subprocess.run(["git", "ls-files", "*.ptb"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        return sorted(line for line in out.splitlines() if line)
    except (OSError, subprocess.CalledProcessError):
        found = []
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
            found += [os.path.relpath(os.path.join(folder, f), ROOT)
                      for f in files if f.endswith(".ptb")]
        return sorted(found)


def formattable():
    """The scripts perturb fmt --check covers: all but the two lists above."""
    skipped = set(unparsable()) | set(unformatted())
    return [path for path in repository_scripts() if path not in skipped]
