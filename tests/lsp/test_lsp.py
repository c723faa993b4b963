"""`perturb lsp` driven as an editor drives it: JSON-RPC over pipes. Each check prints one line;
the script fails when any check does.

usage: test_lsp.py PATH/TO/perturb
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lsp_client import Client  # noqa: E402

PERTURB = os.path.abspath(sys.argv[1])
FAILURES = []
WORKDIR = tempfile.mkdtemp(prefix="perturb_lsp_")


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else ": " + str(detail)))
    if not condition:
        FAILURES.append(name)


def uri(name):
    return "file://" + os.path.join(WORKDIR, name)


def utf16(text):
    """LSP counts characters in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def pos(line, character):
    return {"line": line, "character": character}


def at(doc_uri, line, character, **extra):
    params = {"textDocument": {"uri": doc_uri}, "position": pos(line, character)}
    params.update(extra)
    return params


def open_doc(client, name, text, version=1):
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri(name), "languageId": "perturb", "version": version, "text": text}})
    return uri(name)


DEMO_LINES = [
    "# A document for the language server's tests.",  # 0
    "import std.presets",                              # 1
    "threat t = Linf(eps: 0.1)",                       # 2
    "attack a = PGD(t, steps: 10)",                    # 3
    "fn score(model, steps: 5) {",                     # 4
    "  let inner = steps + 1",                         # 5
    "  return inner",                                  # 6
    "}",                                               # 7
    'let s = "é😀"; let k = s',                        # 8
    "let r = score(none, steps: 3)",                   # 9
    "let p = presets.cifar_linf",                      # 10
    "let e = t.eps",                                   # 11
]
DEMO = "\n".join(DEMO_LINES) + "\n"


def test_initialize(client, spawned):
    reply = client.initialize(WORKDIR)
    elapsed = time.time() - spawned
    caps = reply["result"]["capabilities"]
    for cap in ["hoverProvider", "completionProvider", "signatureHelpProvider",
                "definitionProvider", "referencesProvider", "renameProvider",
                "documentSymbolProvider", "documentFormattingProvider"]:
        check("initialize advertises " + cap, bool(caps.get(cap)), caps)
    check("initialize: incremental sync", caps["textDocumentSync"]["change"] == 2, caps)
    check("initialize: completion triggers on '.'",
          "." in caps["completionProvider"]["triggerCharacters"], caps)
    check("initialize: serverInfo names perturb", reply["result"]["serverInfo"]["name"] == "perturb")
    return elapsed


def test_diagnostics(client):
    demo = open_doc(client, "demo.ptb", DEMO)
    published = client.diagnostics(demo)
    check("didOpen of a clean document publishes no diagnostics", published["diagnostics"] == [],
          published)

    bad_lines = [
        "threat t = Linf(eps: 0.1)",
        "attack x = PGD(t, stepz: 3)",
        "prnt(x)",
        'let s = "😀é"; prnt(s)',
    ]
    bad = open_doc(client, "bad.ptb", "\n".join(bad_lines) + "\n")
    diags = client.diagnostics(bad)["diagnostics"]
    messages = [d["message"] for d in diags]
    check("didOpen publishes all of a file's errors", len(diags) >= 3, messages)
    check("diagnostics carry did-you-mean", any("did you mean 'print'" in m for m in messages),
          messages)
    check("an unknown named argument suggests the right one",
          any("stepz" in m and "steps" in m for m in messages), messages)
    prnt_ranges = [d["range"] for d in diags if "'prnt'" in d["message"]]
    check("a diagnostic's range covers the name",
          {"start": pos(2, 0), "end": pos(2, 4)} in prnt_ranges, prnt_ranges)
    column = utf16('let s = "😀é"; ')
    check("a range after non-ASCII text counts UTF-16 units",
          {"start": pos(3, column), "end": pos(3, column + 4)} in prnt_ranges, prnt_ranges)
    check("diagnostics name their source and severity",
          all(d["severity"] == 1 and d["source"] == "perturb" for d in diags), diags)
    return demo, bad


def test_changes(client, bad):
    # Three changes in quick succession: full text, then two incremental edits. Only the last
    # version's diagnostics are published (debounced), and they see every edit.
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": bad, "version": 2},
        "contentChanges": [{"text": "prnt(1)\n"}]})
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": bad, "version": 3},
        "contentChanges": [{"range": {"start": pos(0, 0), "end": pos(0, 4)}, "text": "print"}]})
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": bad, "version": 4},
        "contentChanges": [{"range": {"start": pos(1, 0), "end": pos(1, 0)},
                            "text": "let later = undefined_thing\n"}]})
    published = client.diagnostics(bad, version=4)
    messages = [d["message"] for d in published["diagnostics"]]
    check("after fast changes the newest version's diagnostics arrive",
          len(messages) == 1 and "undefined_thing" in messages[0], messages)
    client.drain(0.6)
    stale = [m for m in client.notifications
             if m.get("method") == "textDocument/publishDiagnostics"
             and m["params"]["uri"] == bad and m["params"].get("version") in (2, 3)]
    check("changes typed quickly are debounced (no diagnostics for versions 2 and 3)",
          not stale, stale)
    reply = client.request("textDocument/hover", at(bad, 1, 5))
    check("requests see the changed text", reply["result"] is not None
          and "later" in reply["result"]["contents"]["value"], reply)


def test_hover(client, demo):
    reply = client.request("textDocument/hover", at(demo, 3, 12))
    text = reply["result"]["contents"]["value"]
    check("hover on a builtin shows its signature", "PGD(threat: threat, steps: number = 10" in text,
          text)
    check("hover on a builtin shows its doc", "Projected gradient descent" in text, text)
    check("hover lists parameters with defaults", "- `steps`: a number = `10`" in text, text)
    check("hover range covers the word", reply["result"]["range"] == {
        "start": pos(3, 11), "end": pos(3, 14)}, reply["result"].get("range"))

    text = client.request("textDocument/hover", at(demo, 3, 15))["result"]["contents"]["value"]
    check("hover on a variable shows its kind and declaration line",
          "threat t" in text and "declared at line 3" in text, text)

    k_column = utf16('let s = "é😀"; let ')
    reply = client.request("textDocument/hover", at(demo, 8, k_column))
    text = reply["result"]["contents"]["value"] if reply["result"] else ""
    check("hover after non-ASCII text finds the name (UTF-16 columns)",
          "k" in text and "declared at line 9" in text, reply)

    text = client.request("textDocument/hover", at(demo, 6, 10))["result"]["contents"]["value"]
    check("hover on a local shows where it was declared", "declared at line 6" in text, text)

    text = client.request("textDocument/hover", at(demo, 2, 1))["result"]["contents"]["value"]
    check("hover on a keyword documents it", "threat" in text, text)

    text = client.request("textDocument/hover", at(demo, 11, 11))["result"]["contents"]["value"]
    check("hover on a field of a known kind", "eps" in text and "a threat" in text, text)

    text = client.request("textDocument/hover", at(demo, 3, 20))["result"]["contents"]["value"]
    check("hover on a named argument names its parameter", "Parameter `steps` of PGD" in text, text)

    reply = client.request("textDocument/hover", at(demo, 0, 5))
    check("hover in a comment is null", reply["result"] is None, reply)


def labels(reply):
    return [item["label"] for item in reply["result"]["items"]]


def test_completion(client):
    text = "threat t = Linf(eps: 0.1)\nattack b = PGD(t, st"
    doc = open_doc(client, "complete_args.ptb", text)
    reply = client.request("textDocument/completion", at(doc, 1, len("attack b = PGD(t, st")))
    got = labels(reply)
    check("completion of a call's named arguments (PGD(t, st → steps:, step:)",
          got[:2] == ["step:", "steps:"] or got[:2] == ["steps:", "step:"], got[:6])
    item = reply["result"]["items"][0]
    check("a completion replaces the word typed", item["textEdit"]["range"] == {
        "start": pos(1, 18), "end": pos(1, 20)}, item)

    doc = open_doc(client, "complete_zoo.ptb", "let net = zoo.")
    got = labels(client.request("textDocument/completion", at(doc, 0, 14)))
    check("completion of a module's members (zoo.)", "small_cnn" in got, got)

    doc = open_doc(client, "complete_std.ptb", "import std.presets\nlet x = presets.ci")
    got = labels(client.request("textDocument/completion", at(doc, 1, 18)))
    check("completion of an imported module's members", "cifar_linf" in got, got)

    scope_text = ("threat t = Linf(eps: 0.1)\nlet my_value = 3\nfn helper(x) {\n  let local = x\n"
                  "  \n}\n\n")
    doc = open_doc(client, "complete_scope.ptb", scope_text)
    got = labels(client.request("textDocument/completion", at(doc, 6, 0)))
    for name in ["t", "my_value", "helper", "let", "PGD", "zoo"]:
        check("completion offers " + name, name in got, got[:20])
    check("a function's locals are not in scope outside it", "local" not in got, got[:20])
    got = labels(client.request("textDocument/completion", at(doc, 4, 2)))
    check("a function's parameters and locals are in scope inside it",
          "x" in got and "local" in got, got[:20])

    doc = open_doc(client, "complete_prefix.ptb", "let my_value = 3\nlet other = my")
    got = labels(client.request("textDocument/completion", at(doc, 1, 14)))
    check("completion filters by the word typed", "my_value" in got and "PGD" not in got, got)

    doc = open_doc(client, "complete_field.ptb", "threat t = Linf(eps: 0.1)\nt.")
    got = labels(client.request("textDocument/completion", at(doc, 1, 2)))
    check("completion of a known kind's fields and methods",
          "eps" in got and "project" in got, got)

    doc = open_doc(client, "complete_comment.ptb", "# PGD(t, st")
    got = labels(client.request("textDocument/completion", at(doc, 0, 11)))
    check("no completion inside a comment", got == [], got)


def test_signature_help(client):
    doc = open_doc(client, "signature.ptb", "threat t = Linf(eps: 0.1)\nattack b = PGD(t, ")
    reply = client.request("textDocument/signatureHelp", at(doc, 1, 18))["result"]
    sig = reply["signatures"][0]
    check("signature help shows the callee's signature", sig["label"].startswith("PGD(threat"), sig)
    active = reply.get("activeParameter")
    start, end = sig["parameters"][active]["label"] if active is not None else (0, 0)
    check("signature help: the second argument is active (steps)",
          sig["label"][start:end] == "steps", (active, sig["label"][start:end]))

    client.notify("textDocument/didChange", {
        "textDocument": {"uri": doc, "version": 2},
        "contentChanges": [{"text": "threat t = Linf(eps: 0.1)\nattack b = PGD(t, step: 0."}]})
    reply = client.request("textDocument/signatureHelp", at(doc, 1, 27))["result"]
    sig = reply["signatures"][0]
    start, end = sig["parameters"][reply["activeParameter"]]["label"]
    check("signature help: a named argument is active by name", sig["label"][start:end] == "step",
          sig["label"][start:end])

    doc = open_doc(client, "signature_fn.ptb", "fn f(model, steps: 5) { model }\nf(1, ")
    reply = client.request("textDocument/signatureHelp", at(doc, 1, 5))["result"]
    check("signature help for a script function",
          reply["signatures"][0]["label"].startswith("f(model, steps") and
          reply["activeParameter"] == 1, reply)


def test_navigation(client, demo):
    reply = client.request("textDocument/definition", at(demo, 3, 15))["result"]
    check("definition of a threat", reply == {"uri": demo, "range": {
        "start": pos(2, 7), "end": pos(2, 8)}}, reply)
    reply = client.request("textDocument/definition", at(demo, 9, 9))["result"]
    check("definition of a fn", reply["range"]["start"] == pos(4, 3), reply)
    reply = client.request("textDocument/definition", at(demo, 6, 10))["result"]
    check("definition of a local let", reply["range"]["start"] == pos(5, 6), reply)
    reply = client.request("textDocument/definition", at(demo, 5, 15))["result"]
    check("definition of a parameter", reply["range"]["start"] == pos(4, 16), reply)

    reply = client.request("textDocument/definition", at(demo, 10, 10))["result"]
    path = reply["uri"][len("file://"):] if reply else ""
    check("definition of an imported stdlib module opens a file",
          path.endswith("presets.ptb") and os.path.isfile(path), reply)
    reply = client.request("textDocument/definition", at(demo, 10, 20))["result"]
    path = reply["uri"][len("file://"):] if reply else ""
    line = reply["range"]["start"]["line"] if reply else -1
    stdlib_line = open(path).read().split("\n")[line] if os.path.isfile(path) else ""
    check("definition of a module member lands on its declaration",
          stdlib_line.startswith("threat cifar_linf"), (reply, stdlib_line))

    refs = client.request("textDocument/references", at(demo, 2, 7, context={
        "includeDeclaration": True}))["result"]
    lines = sorted(r["range"]["start"]["line"] for r in refs)
    check("references of a threat: its declaration and every use", lines == [2, 3, 11], refs)
    refs = client.request("textDocument/references", at(demo, 2, 7, context={
        "includeDeclaration": False}))["result"]
    check("references without the declaration", len(refs) == 2, refs)

    reply = client.request("textDocument/rename", at(demo, 3, 15, newName="budget"))
    edits = reply["result"]["changes"][demo]
    check("rename edits every place the name is written",
          sorted(e["range"]["start"]["line"] for e in edits) == [2, 3, 11]
          and all(e["newText"] == "budget" for e in edits), edits)
    reply = client.request("textDocument/rename", at(demo, 4, 17, newName="iterations"))
    edits = reply["result"]["changes"][demo]
    check("renaming a parameter renames its named arguments at calls",
          sorted((e["range"]["start"]["line"], e["range"]["start"]["character"]) for e in edits)
          == [(4, 16), (5, 14), (9, 20)], edits)
    reply = client.request("textDocument/rename", at(demo, 3, 12, newName="X"))
    check("a builtin cannot be renamed", "error" in reply, reply)
    reply = client.request("textDocument/rename", at(demo, 2, 7, newName="let"))
    check("a keyword is no new name", "error" in reply and "keyword" in reply["error"]["message"],
          reply)

    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": demo}})
    symbols = symbols["result"]
    names = [s["name"] for s in symbols]
    check("document symbols list the top-level bindings",
          names == ["presets", "t", "a", "score", "s", "k", "r", "p", "e"], names)
    score = next((s for s in symbols if s["name"] == "score"), {})
    check("a function's symbol holds its parameters and locals",
          score.get("kind") == 12 and [c["name"] for c in score.get("children", [])] ==
          ["model", "steps", "inner"], score)
    t = next((s for s in symbols if s["name"] == "t"), {})
    check("a threat's symbol says so", t.get("detail") == "threat", t)


def test_protocol_errors(perturb):
    client = Client(perturb)
    reply = client.request("textDocument/hover", at(uri("x.ptb"), 0, 0))
    check("a request before initialize is refused with -32002",
          reply.get("error", {}).get("code") == -32002, reply)
    client.initialize(WORKDIR)
    reply = client.request("textDocument/nonsense", {})
    check("an unknown method is -32601", reply.get("error", {}).get("code") == -32601, reply)
    open_doc(client, "p.ptb", "let x = 1\n")
    reply = client.request("textDocument/hover", {"textDocument": {"uri": uri("p.ptb")},
                                                  "position": {"line": "zero", "character": 0}})
    check("invalid params are -32602", reply.get("error", {}).get("code") == -32602, reply)
    reply = client.request("textDocument/hover", at(uri("never_opened.ptb"), 0, 0))
    check("a document never opened is -32602", reply.get("error", {}).get("code") == -32602, reply)
    body = b"{not json"
    client.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    reply = client.wait_for(lambda m: m.get("error", {}).get("code") == -32700)
    check("invalid JSON is -32700 with a null id", reply["id"] is None, reply)
    client.send_raw(b"Content-Length: 2\r\n\r\n[]")
    reply = client.wait_for(lambda m: m.get("error", {}).get("code") == -32600)
    check("a message that is not an object is -32600", reply["id"] is None, reply)
    client.notify("$/cancelRequest", {"id": 1})
    client.notify("textDocument/unknownNotification", {})
    reply = client.request("shutdown", None)
    check("shutdown answers null", "result" in reply and reply["result"] is None, reply)
    reply = client.request("textDocument/hover", at(uri("p.ptb"), 0, 4))
    check("requests after shutdown are refused", "error" in reply, reply)
    client.notify("exit", None)
    code = client.process.wait(timeout=10)
    check("exit after shutdown ends with status 0", code == 0, code)

    client = Client(perturb)
    client.initialize(WORKDIR)
    client.notify("exit", None)
    code = client.process.wait(timeout=10)
    check("exit without shutdown ends with status 1", code == 1, code)
    client.stderr_reader.join(10)
    check("logs go to stderr", b"perturb lsp: ready" in client.stderr, client.stderr)


def apply_edits(text, edits):
    """Applies whole-line-range TextEdits (the formatter sends one for the whole document)."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: (e["range"]["start"]["line"],
                                             e["range"]["start"]["character"]), reverse=True):
        start, end = edit["range"]["start"], edit["range"]["end"]
        before = "\n".join(lines[:start["line"]] + [lines[start["line"]][:start["character"]]])
        after = "\n".join([lines[end["line"]][end["character"]:]] + lines[end["line"] + 1:]) \
            if end["line"] < len(lines) else ""
        text = before + edit["newText"] + after
        lines = text.split("\n")
    return text


def test_formatting(client):
    messy = 'threat   t=Linf(eps:0.1)  # budget\nattack a = PGD( t,steps : 3 )\n\n\n\nprint( a )\n'
    doc = open_doc(client, "messy.ptb", messy)
    options = {"tabSize": 8, "insertSpaces": False}
    edits = client.request("textDocument/formatting", {"textDocument": {"uri": doc},
                                                       "options": options})["result"]
    formatted = apply_edits(messy, edits)
    expected = ("threat t = Linf(eps: 0.1)  # budget\nattack a = PGD(t, steps: 3)\n\n"
                "print(a)\n")
    check("formatting lays the document out as perturb fmt does", formatted == expected,
          (edits, formatted))
    tidy = open_doc(client, "tidy.ptb", expected)
    edits = client.request("textDocument/formatting", {"textDocument": {"uri": tidy},
                                                       "options": options})["result"]
    check("formatting a formatted document sends no edit", edits == [], edits)
    broken = open_doc(client, "broken.ptb", "let x = (1 +\n")
    reply = client.request("textDocument/formatting", {"textDocument": {"uri": broken},
                                                       "options": options})
    check("a document that does not parse is not formatted, with the reason",
          "error" in reply and "line 2" in reply["error"]["message"]
          or "line 1" in reply.get("error", {}).get("message", ""), reply)


def main():
    spawned = time.time()
    client = Client(PERTURB, cwd=WORKDIR)
    startup = test_initialize(client, spawned)
    demo, bad = test_diagnostics(client)
    test_changes(client, bad)
    test_hover(client, demo)
    test_completion(client)
    test_signature_help(client)
    test_navigation(client, demo)
    test_formatting(client)
    rounds = 20
    started = time.time()
    for _ in range(rounds):
        client.request("textDocument/hover", at(demo, 3, 12))
    hover_ms = (time.time() - started) / rounds * 1000
    client.request("shutdown", None)
    client.notify("exit", None)
    check("the main session exits 0", client.process.wait(timeout=10) == 0)
    test_protocol_errors(PERTURB)
    print("startup (spawn to initialize reply): %.0f ms; hover round trip: %.1f ms"
          % (startup * 1000, hover_ms))
    print("%d failed" % len(FAILURES) if FAILURES else "all passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
