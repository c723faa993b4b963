#!/usr/bin/env python3
"""perturb run --nproc N on loopback: a script's output appears once; an error on the workers,
a killed worker and a group that never forms each end the run with a clear error and a non-zero
exit in bounded time; under torchrun perturb joins torchrun's group (issue 14).

usage: test_launch.py PERTURB
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from workers import Expectations, children, environment_without_group, write_script


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def main():
    perturb = sys.argv[1]
    checks = Expectations()
    expect = checks.expect

    env = environment_without_group()
    with tempfile.TemporaryDirectory() as tmp:
        def script(name, text):
            return write_script(tmp, name, text)

        hello = script("hello.ptb", 'print("hello")\n')
        r = subprocess.run([perturb, "run", hello, "--nproc", "2"], capture_output=True,
                           text=True, timeout=60, env=env)
        expect(r.returncode == 0 and r.stdout == "hello\n",
               f"two workers print once: rc {r.returncode}, stdout {r.stdout!r}, {r.stderr}")

        boom = script("boom.ptb", 'let x = error("boom")\n')
        r = subprocess.run([perturb, "run", boom, "--nproc", "2"], capture_output=True,
                           text=True, timeout=60, env=env)
        expect(r.returncode == 70 and "boom.ptb:1:9: error: boom" in r.stderr
               and "of 2 exited with status 70" in r.stderr,
               f"a script error ends the run with 70 and names the worker: {r.stderr}")

        # A worker killed mid-run: the launcher stops the other and exits non-zero.
        slow = script("slow.ptb", "let s = 0\nfor i in range(100000000) { s = s + 1 }\n")
        p = subprocess.Popen([perturb, "run", slow, "--nproc", "2"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.time() + 30
        while len(children(p.pid)) < 2 and time.time() < deadline:
            time.sleep(0.1)
        workers = children(p.pid)
        expect(len(workers) == 2, f"two workers started: {workers}")
        if len(workers) == 2:
            time.sleep(1)
            killed_at = time.time()
            os.kill(workers[1], signal.SIGKILL)
            try:
                _, err = p.communicate(timeout=60)
                took = time.time() - killed_at
                expect(p.returncode != 0 and "worker 1 of 2 was killed by signal 9" in err
                       and took < 60, f"a killed worker ends the run ({took:.1f} s): {err}")
            except subprocess.TimeoutExpired:
                p.kill()
                expect(False, "a killed worker ends the run within 60 s")
        else:
            p.kill()

        # Under torchrun (Debian's python3-torch, when installed) perturb joins the launcher's
        # group, whose store torchrun's agent serves. Debian's torchrun 1.13 on Python 3.11
        # needs --redirects/--tee values that are single flags (its Std enum fails on 0).
        torchrun = shutil.which("torchrun", path="/usr/bin")
        if torchrun:
            r = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port",
                                str(free_port()), "--redirects", "2", "--tee", "2",
                                "--log_dir", os.path.join(tmp, "torchrun"), "--no_python",
                                perturb, "run", hello], capture_output=True, text=True,
                               timeout=120, env=env)
            expect(r.returncode == 0 and r.stdout == "hello\n",
                   f"under torchrun: rc {r.returncode}, stdout {r.stdout!r}, {r.stderr[-2000:]}")
        else:
            print("torchrun not installed: its case skipped")

        # A rank whose master never comes up fails within its timeout, naming the address.
        port = free_port()
        lonely = dict(env, WORLD_SIZE="2", RANK="1", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port), PERTURB_DIST_TIMEOUT="3")
        start = time.time()
        r = subprocess.run([perturb, "run", hello], capture_output=True, text=True, timeout=60,
                           env=lonely)
        expect(r.returncode != 0 and f"127.0.0.1:{port}" in r.stderr
               and time.time() - start < 30,
               f"a missing master ends the rank with an error: rc {r.returncode}, {r.stderr}")

    checks.finish()


if __name__ == "__main__":
    main()
