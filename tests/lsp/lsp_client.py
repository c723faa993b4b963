"""A minimal Language Server Protocol client over pipes, as an editor drives `perturb lsp`."""

import json
import os
import queue
import subprocess
import threading
import time


def frame(message):
    """A message as it goes over the wire: Content-Length header, blank line, JSON body."""
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Client:
    def __init__(self, perturb, cwd=None, env=None):
        self.process = subprocess.Popen(
            [perturb, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.messages = queue.Queue()
        self.notifications = []
        self.next_id = 0
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.stderr_reader.start()

    def _read_stderr(self):
        self.stderr = self.process.stderr.read()

    def _read(self):
        out = self.process.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self.messages.put(json.loads(body.decode("utf-8")))

    def send_raw(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message):
        self.send_raw(frame(message))

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_async(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def wait_for(self, predicate, timeout=10.0):
        """The first message (kept in order) for which predicate holds; notifications and
        responses that do not match are remembered in self.notifications."""
        for m in list(self.notifications):
            if predicate(m):
                self.notifications.remove(m)
                return m
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no matching message within %.1fs" % timeout)
            try:
                m = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if m is None:
                raise EOFError("the server closed its output")
            if predicate(m):
                return m
            self.notifications.append(m)

    def response(self, request_id, timeout=10.0):
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m, timeout)

    def request(self, method, params, timeout=10.0):
        return self.response(self.request_async(method, params), timeout)

    def diagnostics(self, uri, version=None, timeout=10.0):
        def match(m):
            return (m.get("method") == "textDocument/publishDiagnostics"
                    and m["params"]["uri"] == uri
                    and (version is None or m["params"].get("version") == version))
        return self.wait_for(match, timeout)["params"]

    def drain(self, seconds):
        """Collects what arrives within `seconds` (into self.notifications)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                m = self.messages.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                break
            if m is None:
                break
            self.notifications.append(m)

    def initialize(self, root="/tmp"):
        reply = self.request("initialize", {"processId": os.getpid(), "rootUri": "file://" + root,
                                            "capabilities": {}})
        self.notify("initialized", {})
        return reply

    def close(self, timeout=10.0):
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        code = self.process.wait(timeout=timeout)
        self.stderr_reader.join(timeout)
        return code
