#!/usr/bin/env python3
"""The Jupyter kernel, driven with Debian's jupyter_client as a notebook would drive it: the
kernelspec installed into a temporary directory, a KernelManager starting `perturb kernel`, then
cells that keep state, print() as a stdout stream, images() and an image-valued cell as PNG
displays, an error with its location, source line and caret, completion, inspection,
is_complete, an interrupted endless loop and an interrupted training run (the kernel answers the
next cell), and a shutdown.

usage: test_kernel.py PERTURB PROJECT_ROOT
Exits 77 (skipped) when jupyter_client is not installed.
"""
import base64
import json
import os
import re
import struct
import sys
import tempfile
import time

SKIP = 77
TIMEOUT = 30
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def install_kernelspec(perturb, prefix):
    import subprocess
    done = subprocess.run([perturb, "kernel", "install", "--prefix", prefix, "--name", "perturb"],
                          capture_output=True, text=True, timeout=60)
    check(done.returncode == 0, "kernel install failed: " + done.stderr)
    spec_dir = os.path.join(prefix, "share", "jupyter", "kernels", "perturb")
    check(spec_dir in done.stdout, "install does not say where it wrote: " + done.stdout)
    with open(os.path.join(spec_dir, "kernel.json")) as f:
        spec = json.load(f)
    check(spec["argv"] == [os.path.realpath(perturb), "kernel", "-f", "{connection_file}"],
          "kernel.json argv: %r" % spec["argv"])
    check(spec["language"] == "perturb" and spec["interrupt_mode"] == "signal",
          "kernel.json: %r" % spec)
    # A second install replaces the first; a bad name is refused.
    again = subprocess.run([perturb, "kernel", "install", "--prefix", prefix],
                           capture_output=True, text=True, timeout=60)
    check(again.returncode == 0, "a second install failed: " + again.stderr)
    bad = subprocess.run([perturb, "kernel", "install", "--prefix", prefix, "--name", "a/b"],
                         capture_output=True, text=True, timeout=60)
    check(bad.returncode == 64 and "--name" in bad.stderr, "a bad --name: " + bad.stderr)
    return spec_dir


class Cell:
    """What one execute request produced: its reply and its iopub messages in order."""

    def __init__(self, reply, messages):
        self.reply = reply["content"]
        self.messages = messages

    def of_type(self, msg_type):
        return [m["content"] for m in self.messages if m["msg_type"] == msg_type]

    def stream(self, name):
        return "".join(c["text"] for c in self.of_type("stream") if c["name"] == name)

    def result(self):
        results = self.of_type("execute_result")
        return results[0]["data"] if results else None


def execute(client, code, timeout=TIMEOUT, after_send=None):
    msg_id = client.execute(code)
    if after_send:
        after_send()
    messages = []
    deadline = time.time() + timeout
    while True:
        msg = client.get_iopub_msg(timeout=max(1, deadline - time.time()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        messages.append(msg)
    reply = client.get_shell_msg(timeout=timeout)
    check(reply["parent_header"]["msg_id"] == msg_id, "a reply to another request")
    return Cell(reply, messages)


def png_size(data):
    """(width, height) of a base64 PNG, after checking its signature and header chunk."""
    raw = base64.b64decode(data)
    check(raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature: %r" % raw[:8])
    check(raw[12:16] == b"IHDR", "the PNG starts with no IHDR chunk")
    return struct.unpack(">II", raw[16:24])


def test_state_and_output(client, out_dir):
    check(execute(client, "let x = 2").reply["status"] == "ok", "let x = 2 failed")
    cell = execute(client, "x + 1")
    check(cell.reply["status"] == "ok", "x + 1 failed: %r" % cell.reply)
    check(cell.result() is not None and cell.result()["text/plain"] == "3",
          "x + 1 gave %r" % cell.result())
    check(cell.of_type("execute_result")[0]["execution_count"] == cell.reply["execution_count"],
          "execute_result and reply disagree on the count")
    cell = execute(client, 'print("hello", x)\nprint("again")')
    check(cell.stream("stdout") == "hello 2\nagain\n", "stdout: %r" % cell.stream("stdout"))
    check(cell.result() is None, "a print() cell has a value: %r" % cell.result())
    print("state kept across cells, print() streamed")


def test_images(client, out_dir):
    path = os.path.join(out_dir, "grid.png")
    cell = execute(client, 'images(rand([6, 1, 16, 16]), "%s")\nprint("done")' % path)
    check(cell.reply["status"] == "ok", "images cell failed: %r" % cell.reply)
    displays = cell.of_type("display_data")
    check(len(displays) == 1, "images() gave %d displays" % len(displays))
    width, height = png_size(displays[0]["data"]["image/png"])
    check(width >= 48 and height >= 16, "the grid is %dx%d" % (width, height))
    check(base64.b64decode(displays[0]["data"]["image/png"]) == open(path, "rb").read(),
          "the display is not the file images() wrote")
    cell = execute(client, "rand([3, 1, 16, 16])")
    data = cell.result()
    check(data is not None and "image/png" in data and "text/plain" in data,
          "an image batch's value has no image: %r" % (data and list(data)))
    png_size(data["image/png"])
    cell = execute(client, "rand([2, 3])")
    check("image/png" not in cell.result(), "a small matrix was drawn as an image")
    print("images() and image-valued cells displayed as PNG (%dx%d grid)" % (width, height))


def test_errors(client):
    cell = execute(client, "let y = 1\nlet z = x + undefined_name")
    check(cell.reply["status"] == "error", "an undefined name did not fail")
    errors = cell.of_type("error")
    check(len(errors) == 1, "%d error messages" % len(errors))
    trace = ANSI.sub("", "\n".join(errors[0]["traceback"]))
    check(re.search(r"In\[\d+\]:2:13: error: .*undefined_name", trace),
          "no file:line:col in %r" % trace)
    check("let z = x + undefined_name" in trace, "no source line in %r" % trace)
    check(re.search(r"\n\s*\|?\s*\^", trace), "no caret in %r" % trace)
    check(errors[0]["ename"] == "ScriptError", "ename %r" % errors[0]["ename"])
    cell = execute(client, 'let w = zeros([2]) + zeros([3])')
    check(cell.reply["status"] == "error" and cell.reply["ename"] == "RuntimeError",
          "a runtime error: %r" % cell.reply)
    check(execute(client, "x").result()["text/plain"] == "2", "an error lost the session")
    print("errors reported with location, source line and caret")


def test_completion_and_inspection(client):
    client.complete("PG", 2)
    reply = client.get_shell_msg(timeout=TIMEOUT)["content"]
    check("PGD" in reply["matches"], "PG completes to %r" % reply["matches"])
    check(reply["cursor_start"] == 0 and reply["cursor_end"] == 2, "cursor %r" % reply)
    code = "threat linf = Linf(eps: 0.1)\nPGD(linf, st"
    client.complete(code, len(code))
    reply = client.get_shell_msg(timeout=TIMEOUT)["content"]
    check("steps:" in reply["matches"], "PGD(linf, st completes to %r" % reply["matches"])
    check(reply["cursor_start"] == len(code) - 2, "cursor_start %r" % reply["cursor_start"])
    execute(client, "let epsilon_value = 0.3")
    client.complete("eps", 3)
    reply = client.get_shell_msg(timeout=TIMEOUT)["content"]
    check("epsilon_value" in reply["matches"], "session names not completed: %r" % reply)
    client.inspect("Linf(", 2)
    reply = client.get_shell_msg(timeout=TIMEOUT)["content"]
    check(reply["found"] and "Linf(eps" in reply["data"]["text/plain"], "inspect Linf: %r" % reply)
    # Inspection is the language server's hover: a name from an earlier cell says what it is.
    execute(client, "threat budget = Linf(eps: 0.2)")
    client.inspect("PGD(budget)", 6)
    reply = client.get_shell_msg(timeout=TIMEOUT)["content"]
    check(reply["found"] and "threat" in reply["data"]["text/plain"],
          "inspect of a session threat: %r" % reply)
    client.inspect("nothing_here", 3)
    reply = client.get_shell_msg(timeout=TIMEOUT)["content"]
    check(not reply["found"], "inspect of an unknown name found %r" % reply)
    for code, status in [("fn f(a) {", "incomplete"), ("1 + 1", "complete"), ("let = )", "invalid")]:
        client.is_complete(code)
        reply = client.get_shell_msg(timeout=TIMEOUT)["content"]
        check(reply["status"] == status, "is_complete(%r) = %r" % (code, reply))
    print("completion, inspection and is_complete answer")


def test_interrupts(manager, client):
    started = time.time()
    cell = execute(client, "let i = 0\nwhile true {\n  i = i + 1\n}", timeout=60,
                   after_send=lambda: (time.sleep(1.5), manager.interrupt_kernel()))
    check(cell.reply["status"] == "error", "the endless loop ended with %r" % cell.reply)
    check(cell.reply["ename"] == "Interrupted" and "interrupted" in cell.reply["evalue"],
          "the loop's error: %r %r" % (cell.reply["ename"], cell.reply["evalue"]))
    loop_seconds = time.time() - started
    check(execute(client, "i > 0").result()["text/plain"] == "true", "the loop did not run")
    check(execute(client, "x + 1").result()["text/plain"] == "3", "no answer after interrupt")
    started = time.time()
    cell = execute(client, """let model = load("tests/conformance/fmnist_cnn.ts")
let data = fashion_mnist(split: "train", limit: 128)
train(model, data, epochs: 10000, batch: 64, optimizer: SGD(lr: 0.01))""", timeout=60,
                   after_send=lambda: (time.sleep(5), manager.interrupt_kernel()))
    check(cell.reply["status"] == "error" and "interrupted" in cell.reply["evalue"],
          "training ended with %r" % cell.reply)
    progress = cell.stream("stderr")
    check("epoch " in progress, "no progress from train: %r" % progress[:300])
    check(len(cell.of_type("stream")) < 200, "progress flooded: %d messages" % len(cell.of_type("stream")))
    check(execute(client, "x * 10").result()["text/plain"] == "20", "no answer after train")
    print("interrupts: the loop stopped in %.1f s, training in %.1f s; the kernel went on"
          % (loop_seconds, time.time() - started))


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 64
    perturb, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    try:
        from jupyter_client import KernelManager
    except ImportError:
        print("SKIP: jupyter_client is not installed (Debian: python3-jupyter-client)")
        return SKIP
    with tempfile.TemporaryDirectory() as tmp:
        install_kernelspec(perturb, tmp)
        os.environ["JUPYTER_PATH"] = os.path.join(tmp, "share", "jupyter")
        os.environ["JUPYTER_DATA_DIR"] = os.path.join(tmp, "data")
        os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "runtime")
        manager = KernelManager(kernel_name="perturb")
        manager.start_kernel(cwd=root)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            info = client.kernel_info(reply=True, timeout=TIMEOUT)["content"]
            check(info["language_info"]["name"] == "perturb", "kernel_info: %r" % info)
            test_state_and_output(client, tmp)
            test_images(client, tmp)
            test_errors(client)
            test_completion_and_inspection(client)
            test_interrupts(manager, client)
            client.shutdown()  # on the control channel
            reply = client.get_control_msg(timeout=TIMEOUT)
            check(reply["msg_type"] == "shutdown_reply", "shutdown answered %r" % reply["msg_type"])
            for _ in range(100):
                if not manager.is_alive():
                    break
                time.sleep(0.1)
            check(not manager.is_alive(), "the kernel is alive after shutdown")
            print("shutdown: the kernel exited")
        finally:
            client.stop_channels()
            if manager.is_alive():
                manager.shutdown_kernel(now=True)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
