"""What the tests of perturb's process groups share: the launcher's workers, an environment free
of any outer group, and a list of failed expectations."""
import os
import sys


def children(pid):
    """The pids of a process's children (the workers of perturb run --nproc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def write_script(folder, name, text):
    """A script file `name` in `folder` holding `text`; its path."""
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def environment_without_group():
    """This environment without the variables that would make perturb join an outer group."""
    return {k: v for k, v in os.environ.items()
            if k not in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT",
                         "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT")}


class Expectations:
    """expect(condition, what) collects what failed; finish() prints it and exits."""

    def __init__(self):
        self.failures = []

    def expect(self, condition, what):
        if not condition:
            self.failures.append(what)

    def finish(self):
        for f in self.failures:
            print("FAIL", f)
        sys.exit(1 if self.failures else 0)
