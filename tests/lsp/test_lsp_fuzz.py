"""`perturb lsp` under seeded streams of malformed messages: garbage headers, missing, negative
and huge lengths, truncated bodies, invalid and deeply nested JSON, huge ids, wrong types in
params, invalid UTF-8, hostile documents. After each stream the server must still answer a
well-formed request, then shut down with status 0: it answers or ignores, and never crashes.

usage: test_lsp_fuzz.py PATH/TO/perturb [ROUNDS] [SEED]
"""

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lsp_client import Client, frame  # noqa: E402

PERTURB = os.path.abspath(sys.argv[1])
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 12
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1234
URI = "file:///tmp/perturb_lsp_fuzz/doc.ptb"
DOC = "threat t = Linf(eps: 0.1)\nattack a = PGD(t, steps: 10)\nprint(a)\n"
METHODS = ["textDocument/hover", "textDocument/completion", "textDocument/signatureHelp",
           "textDocument/definition", "textDocument/references", "textDocument/rename",
           "textDocument/documentSymbol", "textDocument/didChange", "textDocument/didOpen",
           "textDocument/didClose", "initialize", "$/cancelRequest", "workspace/symbol", ""]


def random_json(rng, depth=0):
    kinds = ["null", "bool", "int", "huge", "float", "string", "list", "object"]
    kind = rng.choice(kinds if depth < 3 else kinds[:6])
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.randint(-5, 50)
    if kind == "huge":
        return rng.choice([2**63, -2**63 - 1, 10**30, 2**64 + 7])
    if kind == "float":
        return rng.choice([0.5, -1e308, 1e-300, 3.0])
    if kind == "string":
        return rng.choice(["", "x", "é😀", "\u0000", "file:///", URI, "a" * 1000])
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["textDocument", "position", "uri", "line", "character", "text",
                        "contentChanges", "range", "start", "end", "newName", "context"]):
            random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def mutated_params(rng):
    """Well-shaped params with one part replaced by the wrong type."""
    params = {"textDocument": {"uri": URI, "version": rng.randint(2, 9), "text": DOC},
              "position": {"line": rng.randint(0, 4), "character": rng.randint(0, 40)},
              "newName": "renamed", "context": {"includeDeclaration": True},
              "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                            "end": {"line": 0, "character": 3}},
                                  "text": rng.choice(["let", "(((", "é😀", ""])}]}
    target = rng.choice([params, params["textDocument"], params["position"],
                         params["contentChanges"][0], params["contentChanges"][0]["range"]])
    key = rng.choice(list(target.keys()))
    target[key] = random_json(rng)
    return params


def hostile_document(rng):
    return rng.choice([
        "(" * 5000,
        "let x = " + "[" * 3000 + "]" * 3000,
        "let x = " + "1 + " * 20000 + "1",
        "fn f(" + ", ".join("p%d" % i for i in range(2000)) + ") { f }",
        '"unterminated\n' * 50,
        "\u00e9\U0001F600" * 500 + "\nprnt(1)",
        "import std.nothing\nimport std.presets as p\np.",
        "let = = =\n}}}{{{",
    ])


def chunk(rng, request_id):
    """One piece of a hostile stream."""
    kind = rng.randrange(14)
    if kind == 0:
        return b"Content-Length: abc\r\n\r\n{}"
    if kind == 1:
        return b"Content-Length: -5\r\n\r\n"
    if kind == 2:
        return b"Content-Length: 99999999999999999999\r\n\r\n"
    if kind == 3:
        return b"Content-Length: 70000000\r\n\r\n" + b"x" * rng.randint(0, 100)
    if kind == 4:
        return b"garbage without a colon\r\n\r\n"
    if kind == 5:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
    if kind == 6:  # a body cut short: the next message's bytes fill it
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "shutdown"}).encode()
        return b"Content-Length: %d\r\n\r\n" % (len(body) + 40) + body[: len(body) // 2]
    if kind == 7:
        depth = rng.choice([300, 5000, 100000])
        body = (b"[" * depth) + (b"]" * depth)
        return b"Content-Length: %d\r\n\r\n" % len(body) + body
    if kind == 8:
        body = b'{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{"x":"\xff\xfe"}}'
        return b"Content-Length: %d\r\n\r\n" % len(body) + body
    if kind == 9:
        return frame({"jsonrpc": "2.0", "id": random_json(rng), "method": rng.choice(METHODS),
                      "params": random_json(rng)})
    if kind == 10:
        return frame({"jsonrpc": "2.0", "id": rng.choice([2**64 + 1, 10**30, -1, "id", 1.5]),
                      "method": rng.choice(METHODS), "params": mutated_params(rng)})
    if kind == 11:
        return frame({"jsonrpc": "2.0", "method": rng.choice(METHODS),
                      "params": mutated_params(rng)})
    if kind == 12:
        return frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": URI, "version": 100},
            "contentChanges": [{"text": hostile_document(rng)}]}})
    return frame(random_json(rng))


def probe(client, attempts=6):
    """A well-formed hover: the server is alive and back in step. A frame cut short may swallow
    a probe, so a few are sent."""
    for _ in range(attempts):
        client.send_raw(b"\r\n")
        request_id = client.request_async("textDocument/documentSymbol",
                                          {"textDocument": {"uri": URI}})
        try:
            return client.response(request_id, timeout=15)
        except TimeoutError:
            continue
    return None


def run_round(rng, number):
    client = Client(PERTURB)
    started = time.time()
    client.initialize()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": URI, "languageId": "perturb", "version": 1, "text": DOC}})
    stream = b"".join(chunk(rng, 1000 + i) for i in range(rng.randint(20, 60)))
    # Written in random slices: the server must cope with partial reads.
    at = 0
    while at < len(stream):
        step = rng.randint(1, 4096)
        client.send_raw(stream[at:at + step])
        at += step
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": URI, "languageId": "perturb", "version": 500, "text": DOC}})
    reply = probe(client)
    alive = client.process.poll() is None
    shutdown = client.request("shutdown", None, timeout=15) if alive and reply else None
    client.notify("exit", None)
    code = client.close(timeout=15)
    elapsed = time.time() - started
    ok = reply is not None and shutdown is not None and code in (0, 1) and elapsed < 60
    # After a cut-short frame the shutdown may itself be swallowed; status 1 then is no crash.
    print(("ok   " if ok else "FAIL ") +
          "round %d: %d bytes, exit status %s, %.1fs" % (number, len(stream), code, elapsed))
    if not ok:
        print(client.stderr.decode("utf-8", "replace")[-2000:])
    return ok


def mutate(rng, text):
    """A script with slices deleted, duplicated or swapped: what a half-typed document holds."""
    for _ in range(rng.randint(1, 6)):
        if not text:
            break
        a = rng.randrange(len(text))
        b = min(len(text), a + rng.randint(1, 40))
        op = rng.randrange(4)
        if op == 0:
            text = text[:a] + text[b:]
        elif op == 1:
            text = text[:a] + text[a:b] * 2 + text[b:]
        elif op == 2:
            text = text[:a] + rng.choice(["(", ")", "{", "}", ".", ",", ":", '"', "é😀", "\n"]) + text[a:]
        else:
            c = rng.randrange(len(text))
            text = text[:a] + text[c:c + 20] + text[b:]
    return text


def analysis_round(rng, scripts):
    """Mutated golden scripts, each asked every position-based question at random places: every
    request is answered (a result or an error), none crashes the server."""
    client = Client(PERTURB)
    client.initialize()
    methods = ["textDocument/hover", "textDocument/completion", "textDocument/signatureHelp",
               "textDocument/definition", "textDocument/references", "textDocument/rename",
               "textDocument/documentSymbol"]
    answered = asked = 0
    started = time.time()
    for i in range(8):
        with open(rng.choice(scripts), encoding="utf-8") as f:
            text = mutate(rng, f.read())
        doc_uri = "file:///tmp/perturb_lsp_fuzz/m%d.ptb" % i
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": doc_uri, "languageId": "perturb", "version": 1, "text": text}})
        lines = text.split("\n")
        for _ in range(12):
            line = rng.randrange(len(lines) + 1)
            character = rng.randint(0, len(lines[line]) + 2 if line < len(lines) else 3)
            params = {"textDocument": {"uri": doc_uri},
                      "position": {"line": line, "character": character},
                      "newName": "renamed", "context": {"includeDeclaration": True}}
            asked += 1
            reply = client.request(rng.choice(methods), params, timeout=30)
            answered += ("result" in reply) or ("error" in reply)
    client.request("shutdown", None)
    client.notify("exit", None)
    code = client.close()
    ok = answered == asked and code == 0
    print(("ok   " if ok else "FAIL ") + "analysis round: %d of %d requests on mutated scripts "
          "answered, exit status %s, %.1fs" % (answered, asked, code, time.time() - started))
    if not ok:
        print(client.stderr.decode("utf-8", "replace")[-2000:])
    return ok


def golden_scripts():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
    found = []
    for directory, _, files in os.walk(root):
        found += [os.path.join(directory, f) for f in files if f.endswith(".ptb")]
    return sorted(found)


def main():
    rng = random.Random(SEED)
    failures = sum(not run_round(rng, i) for i in range(ROUNDS))
    scripts = golden_scripts()
    if scripts:
        failures += sum(not analysis_round(rng, scripts) for _ in range(3))
    print("%d rounds failed" % failures if failures else "all rounds passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
