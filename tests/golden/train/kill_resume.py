#!/usr/bin/env python3
"""A training run killed with SIGKILL in the middle of an epoch and resumed ends with the same
weights as an uninterrupted run with the same seed, through the command line; so does one
stopped with Ctrl-C (SIGINT), which checkpoints its last complete step and exits 130.

usage: kill_resume.py PERTURB   (run from the repository root; CTest does)

1. An uninterrupted run (no checkpoint at all) saves its model.
2. The same script with checkpoint:/resume: is started and killed with SIGKILL from outside as
   soon as it has written a checkpoint in the middle of epoch 2 (after the log shows epoch 1).
3. The same command again resumes from that checkpoint and finishes.
4. A third script loads both models and checks that their outputs are identical, and the CSV log
   holds every epoch exactly once.
5. Steps 2-4 again with SIGINT instead of SIGKILL and no checkpoint_every: the checkpoint in
   epoch 2 is the one the interrupt writes.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

SCRIPT = """
let data = fashion_mnist(split: "train", limit: 480)
threat linf = Linf(eps: 0.1)
attack adv = PGD(linf, steps: 2, step: 0.06)
let net = zoo.small_cnn(classes: 10, seed: 4)
train(net, data, epochs: 3, batch: 16, optimizer: SGD(lr: 0.05, momentum: 0.9),
      lr_schedule: "cosine", method: "madry", adversary: adv, seed: 7, val_split: 0.1{extra})
save(net, "{out}")
"""

COMPARE = """
let test = fashion_mnist(split: "test", limit: 200)
let a = load("{a}")
let b = load("{b}")
print(norm(a(test.x) - b(test.x)) == 0)
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def fail(message):
    print("FAIL kill_resume: " + message)
    sys.exit(1)


def main():
    perturb = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="perturb-kill-resume-") as tmp:
        ckpt = os.path.join(tmp, "run.ckpt")
        log = os.path.join(tmp, "run.csv")
        ref_model = os.path.join(tmp, "reference.pt")
        resumed_model = os.path.join(tmp, "resumed.pt")
        write(os.path.join(tmp, "reference.ptb"), SCRIPT.format(extra="", out=ref_model))
        extra = f', log: "{log}", checkpoint: "{ckpt}", checkpoint_every: 2, resume: true'
        write(os.path.join(tmp, "resumable.ptb"), SCRIPT.format(extra=extra, out=resumed_model))

        ref = subprocess.run([perturb, "run", os.path.join(tmp, "reference.ptb")],
                             capture_output=True, text=True, timeout=300)
        if ref.returncode != 0:
            fail("the reference run failed:\n" + ref.stderr)

        # The run to kill: wait for epoch 1 in the log, then for the next checkpoint (one
        # written mid-epoch 2, every 2 batches), and kill it at once from outside.
        command = [perturb, "run", os.path.join(tmp, "resumable.ptb"), "--verbose"]
        victim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 300
        # The log is written before the end-of-epoch checkpoint, so the first checkpoint change
        # after the log shows epoch 1 may be that one; the second is inside epoch 2.
        last_mtime = None
        changes = 0
        while time.time() < deadline and victim.poll() is None:
            if last_mtime is None:
                if os.path.exists(log) and "\n1," in open(log).read():
                    last_mtime = os.stat(ckpt).st_mtime_ns
            elif os.stat(ckpt).st_mtime_ns != last_mtime:
                last_mtime = os.stat(ckpt).st_mtime_ns
                changes += 1
                if changes == 2:
                    victim.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.002)
        victim.wait()
        if victim.returncode != -signal.SIGKILL:
            fail(f"the run was not killed mid-run (exit status {victim.returncode})")
        leftovers = [n for n in os.listdir(tmp) if n not in (
            "reference.ptb", "resumable.ptb", "reference.pt", "run.ckpt", "run.csv")]
        if leftovers:
            fail("the kill left files behind: " + ", ".join(leftovers))
        if "\n2," in open(log).read():
            fail("the log holds epoch 2 although the run was killed during it")

        batch = resume_and_compare(perturb, tmp, command, log, ref_model, resumed_model)

        # Ctrl-C in epoch 2: the run saves its last complete step itself and exits 130.
        ckpt, log = os.path.join(tmp, "int.ckpt"), os.path.join(tmp, "int.csv")
        extra = f', log: "{log}", checkpoint: "{ckpt}", resume: true'
        write(os.path.join(tmp, "interrupted.ptb"), SCRIPT.format(extra=extra, out=resumed_model))
        command = [perturb, "run", os.path.join(tmp, "interrupted.ptb"), "--verbose"]
        victim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        deadline = time.time() + 300
        while time.time() < deadline and victim.poll() is None:
            if os.path.exists(log) and "\n1," in open(log).read():
                time.sleep(0.05)  # into epoch 2
                victim.send_signal(signal.SIGINT)
                break
            time.sleep(0.002)
        _, err = victim.communicate(timeout=300)
        if victim.returncode != 130 or not re.search(
                r"training interrupted by Ctrl-C \(SIGINT\) (in epoch 2 after batch \d+ of \d+|"
                r"after epoch 1); checkpoint written to .*int.ckpt", err):
            fail(f"Ctrl-C did not stop the run with a checkpoint (exit {victim.returncode}):\n{err}")
        # Under load the signal may land between the epochs: then the run resumes at epoch 2's
        # start.
        stopped = resume_and_compare(perturb, tmp, command, log, ref_model, resumed_model,
                                     mid_epoch=False)
        print(f"ok kill_resume: killed in epoch 2 after batch {batch}, interrupted after batch "
              f"{stopped}, both resumed to identical weights")
    return 0


def resume_and_compare(perturb, tmp, command, log, ref_model, resumed_model, mid_epoch=True):
    """Runs `command` again: it must resume in epoch 2 (in its middle when mid_epoch), log every
    epoch once and end with the reference run's weights. Returns the batch it resumed at."""
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if resumed.returncode != 0:
        fail("the resumed run failed:\n" + resumed.stderr)
    where = re.search(r"resuming from .* at epoch (\d+), batch (\d+)",
                      resumed.stdout + resumed.stderr)
    if not where:
        fail("the second run did not resume:\n" + resumed.stderr)
    epoch, batch = int(where.group(1)), int(where.group(2))
    if epoch != 2 or (mid_epoch and batch == 0):
        fail(f"expected a resume in the middle of epoch 2, got epoch {epoch}, batch {batch}")

    rows = [line.split(",")[0] for line in open(log).read().splitlines()[1:]]
    if rows != ["1", "2", "3"]:
        fail("the log should hold epochs 1, 2, 3 once each, holds " + str(rows))

    write(os.path.join(tmp, "compare.ptb"), COMPARE.format(a=ref_model, b=resumed_model))
    same = subprocess.run([perturb, "run", os.path.join(tmp, "compare.ptb")],
                          capture_output=True, text=True, timeout=300)
    if same.returncode != 0 or same.stdout.strip() != "true":
        fail("the resumed model differs from the uninterrupted one: " + same.stdout +
             same.stderr)
    return batch


if __name__ == "__main__":
    sys.exit(main())
