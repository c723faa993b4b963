#!/usr/bin/env python3
"""Turns a lesson script (docs/lessons/NN_name.ptb) into a notebook for the Perturb kernel and
runs it, so the notebook carries its outputs (printed lines, inline images).

The lesson's comment blocks become Markdown cells and the code between them code cells: the
header, each numbered step ("# 2. One signed step ...") and the closing "Try:" notes. The
`# expect:` lines the lesson tests read are left out. Cells run in order in one kernel started
from the project root, as `perturb run` would run the script.

usage: make_notebook.py PERTURB LESSON.ptb OUT.ipynb
"""
import json
import os
import re
import subprocess
import sys
import tempfile

EXPECT = re.compile(r"#\s*expect:")
STEP = re.compile(r"#\s*\d+\.\s")


def comment_text(line):
    return re.sub(r"^#\s?", "", line.rstrip("\n"))


def split_lesson(text):
    """[(kind, source)] with kind "markdown" or "code", in the lesson's order."""
    cells = []
    markdown, code = [], []

    def flush_code():
        while code and code[-1].strip() in ("", "#"):
            code.pop()
        while code and not code[0].strip():
            code.pop(0)
        if code:
            cells.append(("code", "\n".join(code)))
        code.clear()

    def flush_markdown():
        if markdown:
            cells.append(("markdown", "\n".join(markdown).strip("\n")))
        markdown.clear()

    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#") and EXPECT.match(stripped):
            continue
        is_comment = stripped.startswith("#")
        starts_prose = is_comment and (not code or STEP.match(stripped) or stripped.startswith("# Try"))
        if is_comment and (markdown or starts_prose) and not (code and not starts_prose):
            flush_code()
            text_line = comment_text(stripped)
            if not markdown and text_line.startswith("Lesson"):
                text_line = "# " + text_line
            markdown.append(text_line)
            continue
        flush_markdown()
        # Inline end-of-line `# expect:` comments are for the lesson tests too.
        line = re.sub(r"\s*#\s*expect:.*$", "", line)
        code.append(line)
    flush_code()
    flush_markdown()
    return cells


def outputs_of(client, source):
    """Runs one cell; returns its nbformat outputs and execution count."""
    msg_id = client.execute(source)
    outputs = []
    while True:
        msg = client.get_iopub_msg(timeout=600)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status" and content["execution_state"] == "idle":
            break
        if kind == "stream":
            if outputs and outputs[-1]["output_type"] == "stream" and outputs[-1]["name"] == content["name"]:
                outputs[-1]["text"] += content["text"]
            else:
                outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
        elif kind in ("display_data", "execute_result"):
            out = {"output_type": kind, "data": content["data"], "metadata": content.get("metadata", {})}
            if kind == "execute_result":
                out["execution_count"] = content["execution_count"]
            outputs.append(out)
        elif kind == "error":
            outputs.append({"output_type": "error", "ename": content["ename"],
                            "evalue": content["evalue"], "traceback": content["traceback"]})
    reply = client.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:  # e.g. wait_for_ready's kernel_info
        reply = client.get_shell_msg(timeout=60)
    reply = reply["content"]
    if reply["status"] != "ok":
        raise SystemExit("a cell failed: %s: %s" % (reply.get("ename"), reply.get("evalue")))
    return outputs, reply["execution_count"]


def source_lines(text):
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 64
    perturb, lesson, out_path = (os.path.abspath(a) for a in sys.argv[1:])
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    from jupyter_client import KernelManager
    with open(lesson) as f:
        cells = split_lesson(f.read())
    notebook_cells = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([perturb, "kernel", "install", "--prefix", tmp], check=True)
        os.environ["JUPYTER_PATH"] = os.path.join(tmp, "share", "jupyter")
        os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "runtime")
        manager = KernelManager(kernel_name="perturb")
        manager.start_kernel(cwd=root)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            for kind, source in cells:
                cell = {"cell_type": kind, "metadata": {}, "source": source_lines(source)}
                if kind == "code":
                    cell["outputs"], cell["execution_count"] = outputs_of(client, source)
                notebook_cells.append(cell)
        finally:
            client.stop_channels()
            manager.shutdown_kernel()
    notebook = {
        "cells": notebook_cells,
        "metadata": {
            "kernelspec": {"name": "perturb", "display_name": "Perturb", "language": "perturb"},
            "language_info": {"name": "perturb", "file_extension": ".ptb",
                              "mimetype": "text/x-perturb"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, cell in enumerate(notebook["cells"]):
        cell["id"] = "cell-%d" % i
    with open(out_path, "w") as f:
        json.dump(notebook, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %s: %d cells" % (out_path, len(notebook_cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
