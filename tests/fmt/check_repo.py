#!/usr/bin/env python3
"""fmt/check: `perturb fmt --check` over the repository's scripts (CI runs it through CTest).

Skips exactly the scripts named in tests/fmt/unparsable.txt and tests/fmt/unformatted.txt.
Fix a failure with `build/perturb fmt FILE`.

usage: check_repo.py PERTURB
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scripts  # noqa: E402


def main():
    perturb = sys.argv[1]
    paths = scripts.formattable()
    status = subprocess.run([perturb, "fmt", "--check"] + paths, cwd=scripts.ROOT).returncode
    if status == 0:
        print(f"{len(paths)} scripts are formatted")
    else:
        print("run `build/perturb fmt FILE` on the files above", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
