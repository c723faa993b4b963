"""What the data round-trip tests share: running a Perturb script and reading what it printed."""
import importlib
import os
import subprocess
import sys


def import_or_skip(module):
    """The module, or the test ends as skipped (exit 0) when this Python has none: Debian's
    /usr/bin/python3 has numpy, torch and pandas with python3-numpy, python3-torch and
    python3-pandas (scripts/setup.sh installs them where it can)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        print(f"skipped: {sys.executable} has no {module} (install python3-{module})")
        sys.exit(0)


def run_script(perturb, source, directory):
    """Runs `source` as script.ptb in `directory`; its printed lines. Exits the test when
    perturb fails."""
    script = os.path.join(directory, "script.ptb")
    with open(script, "w") as f:
        f.write(source)
    env = dict(os.environ, PERTURB_THREADS="1")
    done = subprocess.run([perturb, "run", script], capture_output=True, text=True, env=env,
                          timeout=60)
    if done.returncode != 0:
        sys.exit(f"perturb exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout.splitlines()
