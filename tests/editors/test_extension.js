#!/usr/bin/env node
// Tests the VS Code extension (editors/vscode/extension.js) outside VS Code: it is loaded with a
// stub `vscode` module and the real vscode-languageclient from editors/vscode/node_modules.
//
// 1. activate() creates a LanguageClient for `perturb` documents whose server is
//    `<perturb.server.path> lsp <perturb.server.args...>`, and the client's own spawning code
//    (LanguageClient.createMessageTransports) runs exactly that command over stdin/stdout;
//    a missing binary gives an error message naming the setting and creates no client; the
//    restart command and a settings change start a new client with the new settings.
// 2. With PERTURB (the binary, as CTest passes it) whose `perturb lsp` exists: the client spawns
//    `perturb lsp`, and vscode-languageserver-protocol (the client's own JSON-RPC layer)
//    initializes it and receives diagnostics for a document with an unknown name, then shuts it
//    down. Without `perturb lsp` this part is skipped (exit 77) after part 1 passed.
//
// usage: node test_extension.js REPO_ROOT [PERTURB]
'use strict';
const assert = require('assert');
const childProcess = require('child_process');
const fs = require('fs');
const Module = require('module');
const os = require('os');
const path = require('path');

const root = path.resolve(process.argv[2] || path.join(__dirname, '..', '..'));
const perturb = process.argv[3];
const extensionDir = path.join(root, 'editors/vscode');
const extensionMain = path.join(extensionDir, 'extension.js');
const clientModule = path.join(extensionDir, 'node_modules/vscode-languageclient/node');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'perturb-vscode-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));

let failures = 0;
async function check(name, body) {
  try {
    await body();
    console.log(`ok ${name}`);
  } catch (error) {
    failures++;
    console.log(`FAIL ${name}\n  ${(error && error.stack) || error}`);
  }
}

// --- the stub `vscode` module -------------------------------------------------------------------
// What the extension uses is recorded; every other name is an empty class, enough for
// vscode-languageclient to load (it subclasses vscode.CompletionItem and others at load time).
const fake = {
  settings: {},
  errors: [],
  commands: {},
  configListeners: [],
  executed: [],
  output: [],
};
function configuration(section) {
  return {
    get(key, defaultValue) {
      const full = `${section}.${key}`;
      return full in fake.settings ? fake.settings[full] : defaultValue;
    },
  };
}
const disposable = { dispose() {} };
class Disposable {
  constructor(onDispose) { this.onDispose = onDispose; }
  static from(...items) { return new Disposable(() => items.forEach((item) => item.dispose())); }
  dispose() { if (this.onDispose) this.onDispose(); this.onDispose = undefined; }
}
class EventEmitter {
  constructor() {
    this.listeners = new Set();
    this.event = (listener, thisArg) => {
      const bound = listener.bind(thisArg);
      this.listeners.add(bound);
      return new Disposable(() => this.listeners.delete(bound));
    };
  }
  fire(value) { this.listeners.forEach((listener) => listener(value)); }
  dispose() { this.listeners.clear(); }
}
const namedClasses = {};
// Events the client subscribes to in its constructor (onDidOpenTextDocument, ...): never fired.
const withEvents = (namespace) => new Proxy(namespace, {
  get(target, name) {
    if (name in target) return target[name];
    return /^on(Did|Will)/.test(String(name)) ? () => disposable : undefined;
  },
});
const vscodeStub = new Proxy({
  version: '1.82.0',
  Disposable,
  EventEmitter,
  workspace: withEvents({
    workspaceFolders: undefined,
    getConfiguration: configuration,
    onDidChangeConfiguration(listener) {
      fake.configListeners.push(listener);
      return disposable;
    },
  }),
  window: withEvents({
    createOutputChannel(name) {
      return {
        name,
        append: (text) => fake.output.push(text),
        appendLine: (text) => fake.output.push(text + '\n'),
        show() {},
        dispose() {},
      };
    },
    showErrorMessage(message, ...items) {
      fake.errors.push({ message, items });
      return Promise.resolve(undefined);
    },
  }),
  commands: {
    registerCommand(id, handler) {
      fake.commands[id] = handler;
      return disposable;
    },
    executeCommand(...args) {
      fake.executed.push(args);
      return Promise.resolve();
    },
  },
}, {
  get(target, name) {
    if (name in target) return target[name];
    if (!(name in namedClasses)) namedClasses[name] = class {};
    return namedClasses[name];
  },
});
const stubFile = path.join(scratch, 'vscode.js');
fs.writeFileSync(stubFile, 'module.exports = global.__perturbVscodeStub;\n');
global.__perturbVscodeStub = vscodeStub;
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? stubFile : resolveFilename.call(this, request, ...rest);
};

// --- the real client, with start/stop recorded instead of run (they need all of VS Code) -------
const { LanguageClient } = require(clientModule);
const started = [];
const stopped = [];
let startFailure; // an Error the next start() rejects with, as the client's does for a dead server
LanguageClient.prototype.start = async function () {
  started.push(this);
  const failure = startFailure;
  startFailure = undefined;
  if (failure) throw failure;
};
LanguageClient.prototype.stop = async function () { stopped.push(this); };

// A fresh copy of the extension (its module state: the client) with these settings.
function loadExtension(settings) {
  delete require.cache[require.resolve(extensionMain)];
  Object.assign(fake, { settings, errors: [], commands: {}, configListeners: [], executed: [] });
  started.length = 0;
  stopped.length = 0;
  return require(extensionMain);
}

function fakeContext() {
  return { subscriptions: [], extensionPath: extensionDir };
}

// An executable that writes its arguments, one a line, to ARGS_FILE and exits.
function writeFakeServer(dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, '#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_FILE"\n');
  fs.chmodSync(file, 0o755);
  return file;
}

function waitForExit(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`the server did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
}

async function partOne() {
  const pkg = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
  const fakeServer = writeFakeServer(path.join(scratch, 'bin'), 'perturb');

  await check('package.json: main, activation, commands, settings, pinned client', () => {
    assert.strictEqual(path.resolve(extensionDir, pkg.main), extensionMain);
    assert.ok(pkg.activationEvents.includes('onLanguage:perturb'), 'activates on perturb documents');
    assert.ok(pkg.contributes.commands.some((c) => c.command === 'perturb.restartServer'));
    const props = pkg.contributes.configuration.properties;
    assert.strictEqual(props['perturb.server.path'].default, 'perturb');
    assert.deepStrictEqual(props['perturb.server.args'].default, []);
    assert.ok(props['perturb.trace.server'].enum.includes('verbose'));
    const installed = require(path.join(extensionDir, 'node_modules/vscode-languageclient/package.json'));
    assert.strictEqual(pkg.dependencies['vscode-languageclient'], installed.version, 'the client is pinned');
    // The extension may not ask for an older VS Code than its client needs.
    assert.strictEqual(pkg.engines.vscode, installed.engines.vscode);
    assert.ok(pkg.contributes.languages.some((l) => l.id === 'perturb' && l.extensions.includes('.ptb')));
  });

  await check('activate() starts `<perturb.server.path> lsp <perturb.server.args>` for perturb documents', async () => {
    const extension = loadExtension({ 'perturb.server.path': fakeServer, 'perturb.server.args': ['--log', 'debug'] });
    await extension.activate(fakeContext());
    assert.deepStrictEqual(fake.errors, []);
    assert.strictEqual(started.length, 1, 'one client started');
    const client = started[0];
    assert.ok(client instanceof LanguageClient);
    assert.strictEqual(client.name, 'Perturb Language Server');
    assert.deepStrictEqual(client._serverOptions, { command: fakeServer, args: ['lsp', '--log', 'debug'] });
    const selector = client.clientOptions.documentSelector;
    assert.ok(selector.some((s) => s.language === 'perturb' && s.scheme === 'file'), JSON.stringify(selector));
    assert.ok(selector.every((s) => s.language === 'perturb'), 'only perturb documents');
    assert.ok(typeof fake.commands['perturb.restartServer'] === 'function', 'restart command registered');
  });

  await check('the client spawns exactly that command and talks over its stdin/stdout', async () => {
    const client = started[0];
    const argsFile = path.join(scratch, 'args.txt');
    process.env.ARGS_FILE = argsFile;
    const transports = await client.createMessageTransports('utf-8');
    assert.ok(transports.reader && transports.writer, 'a reader and a writer');
    assert.strictEqual(transports.reader.constructor.name, 'StreamMessageReader', 'stdio, not a pipe or socket');
    assert.strictEqual(await waitForExit(client._serverProcess, 5000), 0);
    assert.deepStrictEqual(fs.readFileSync(argsFile, 'utf8').split('\n').filter(Boolean), ['lsp', '--log', 'debug']);
  });

  await check('default setting: `perturb` found on PATH; deactivate() stops the client', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = path.dirname(fakeServer) + path.delimiter + savedPath;
    try {
      const extension = loadExtension({});
      await extension.activate(fakeContext());
      assert.strictEqual(started.length, 1);
      assert.deepStrictEqual(started[0]._serverOptions, { command: 'perturb', args: ['lsp'] });
      await extension.deactivate();
      assert.deepStrictEqual(stopped, started);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  await check('a missing binary: an error naming the setting, no client', async () => {
    const missing = path.join(scratch, 'no-such-dir', 'perturb');
    const extension = loadExtension({ 'perturb.server.path': missing });
    await extension.activate(fakeContext());
    assert.strictEqual(started.length, 0);
    assert.strictEqual(fake.errors.length, 1);
    const { message, items } = fake.errors[0];
    assert.ok(message.includes(missing) && message.includes('perturb.server.path'), message);
    assert.deepStrictEqual(items, ['Open Settings']);

    const savedPath = process.env.PATH;
    process.env.PATH = path.join(scratch, 'empty');
    try {
      loadExtension({});
      await require(extensionMain).activate(fakeContext());
      assert.strictEqual(started.length, 0);
      assert.ok(/"perturb" was not found on PATH/.test(fake.errors[0].message), fake.errors[0].message);
    } finally {
      process.env.PATH = savedPath;
    }
    // A directory is not a server either.
    assert.strictEqual(extension.findExecutable(scratch), undefined);
    assert.strictEqual(extension.findExecutable(fakeServer), fakeServer);
  });

  await check('a server that fails to start: an error pointing at the output channel', async () => {
    const extension = loadExtension({ 'perturb.server.path': fakeServer });
    startFailure = new Error('Pending response rejected since connection got disposed');
    await extension.activate(fakeContext());
    assert.strictEqual(started.length, 1);
    assert.strictEqual(fake.errors.length, 1);
    const { message } = fake.errors[0];
    assert.ok(message.includes(`${fakeServer} lsp`) && message.includes('connection got disposed'), message);
    assert.ok(message.includes('Perturb Language Server'), message);
    // The restart command still works after a failed start.
    await fake.commands['perturb.restartServer']();
    assert.strictEqual(started.length, 2);
    assert.strictEqual(fake.errors.length, 1, 'the second start succeeded');
  });

  await check('restart command and settings changes start a new client with the new settings', async () => {
    const extension = loadExtension({ 'perturb.server.path': fakeServer });
    await extension.activate(fakeContext());
    const first = started[0];
    fake.settings['perturb.server.args'] = ['--verbose'];
    await fake.commands['perturb.restartServer']();
    assert.deepStrictEqual(stopped, [first], 'the old client is stopped');
    assert.strictEqual(started.length, 2);
    assert.deepStrictEqual(started[1]._serverOptions.args, ['lsp', '--verbose']);

    const change = (section) => ({ affectsConfiguration: (s) => s === section || section.startsWith(s + '.') });
    fake.configListeners.forEach((listener) => listener(change('editor.fontSize')));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.strictEqual(started.length, 2, 'an unrelated setting restarts nothing');
    fake.configListeners.forEach((listener) => listener(change('perturb.server.path')));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.strictEqual(started.length, 3, 'perturb.server.* restarts the server');
    assert.deepStrictEqual(stopped, [first, started[1]]);
  });
}

// --- part 2: the real server ----------------------------------------------------------------------

// `perturb lsp --help` succeeds and mentions lsp (a perturb without the server prints its general
// usage, which does not).
function lspAvailable(binary) {
  const result = childProcess.spawnSync(binary, ['lsp', '--help'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
  return result.status === 0 && /\blsp\b/.test(`${result.stdout}${result.stderr}`);
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms); }),
  ]);
}

async function partTwo(binary) {
  const protocol = require(path.join(extensionDir, 'node_modules/vscode-languageserver-protocol/node'));
  const extension = loadExtension({ 'perturb.server.path': binary });
  await extension.activate(fakeContext());
  const client = started[0];
  const { reader, writer } = await client.createMessageTransports('utf-8');
  const server = client._serverProcess;
  const connection = protocol.createProtocolConnection(reader, writer);
  const diagnostics = new Map(); // uri -> resolvers waiting for the next publish
  const published = [];
  connection.onNotification('textDocument/publishDiagnostics', (params) => {
    published.push(params);
    const waiting = diagnostics.get(params.uri) || [];
    diagnostics.delete(params.uri);
    waiting.forEach((resolve) => resolve(params));
  });
  const nextDiagnostics = (uri) => withTimeout(new Promise((resolve) => {
    diagnostics.set(uri, [...(diagnostics.get(uri) || []), resolve]);
  }), 10000, `publishDiagnostics for ${uri}`);
  connection.listen();
  const uri = 'file://' + path.join(scratch, 'unknown_name.ptb');

  await check('perturb lsp: initialize', async () => {
    const result = await withTimeout(connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      clientInfo: { name: 'test_extension.js' },
      capabilities: { textDocument: { publishDiagnostics: { relatedInformation: true } } },
    }), 10000, 'initialize result');
    assert.ok(result.capabilities, JSON.stringify(result));
    assert.ok(result.capabilities.textDocumentSync !== undefined, 'textDocumentSync advertised');
    connection.sendNotification('initialized', {});
  });

  await check('perturb lsp: diagnostics for an unknown name, then none once it is fixed', async () => {
    const opened = nextDiagnostics(uri);
    connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'perturb', version: 1, text: 'let epsilon = 0.03\nprint(epsilom)\n' },
    });
    const first = await opened;
    assert.strictEqual(first.diagnostics.length, 1, JSON.stringify(first));
    const [diagnostic] = first.diagnostics;
    assert.ok(/unknown name 'epsilom'/.test(diagnostic.message), diagnostic.message);
    assert.ok(/did you mean 'epsilon'/.test(diagnostic.message), diagnostic.message);
    assert.deepStrictEqual(diagnostic.range.start, { line: 1, character: 6 });
    assert.strictEqual(diagnostic.severity, 1, 'an error');

    // Diagnostics are debounced: wait for the publish of version 2, which has none.
    let fixed;
    const change = nextDiagnostics(uri);
    connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ text: 'let epsilon = 0.03\nprint(epsilon)\n' }],
    });
    for (fixed = await change; fixed.diagnostics.length > 0 && fixed.version !== 2;) fixed = await nextDiagnostics(uri);
    assert.deepStrictEqual(fixed.diagnostics, []);
  });

  await check('perturb lsp: shutdown and exit (status 0)', async () => {
    await withTimeout(connection.sendRequest('shutdown'), 10000, 'shutdown result');
    connection.sendNotification('exit');
    assert.strictEqual(await waitForExit(server, 10000), 0);
  });
  connection.dispose();
  if (server.exitCode === null) server.kill();
}

async function main() {
  await partOne();
  if (failures > 0) return 1;
  if (!perturb) {
    console.log('skipped: no perturb binary given, so the extension was not run against `perturb lsp`');
    return 77;
  }
  if (!lspAvailable(perturb)) {
    console.log(`skipped: ${perturb} has no \`lsp\` command (\`perturb lsp --help\` failed or does not mention lsp); ` +
      'the extension was checked against a stub server only');
    return 77;
  }
  await partTwo(perturb);
  return failures > 0 ? 1 : 0;
}

main().then((status) => {
  if (status === 0) console.log('all extension tests passed');
  process.exit(status);
}, (error) => {
  console.log(`FAIL ${(error && error.stack) || error}`);
  process.exit(1);
});
