// Perturb for VS Code: starts the language server `perturb lsp` (diagnostics, hover, completion,
// signature help, definition, references, symbols, rename) for Perturb documents and talks to it
// over stdio with vscode-languageclient. Plain JavaScript, loaded as is: no build step.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

const CLIENT_ID = 'perturb'; // also the prefix of the `perturb.trace.server` setting
const CLIENT_NAME = 'Perturb Language Server';
const DOCUMENT_SELECTOR = [
  { scheme: 'file', language: 'perturb' },
  { scheme: 'untitled', language: 'perturb' },
];

let client;
let outputChannel;

// The settings the server is started from. `perturb.server.path` and `.args` are restricted in
// untrusted workspaces (package.json), so there VS Code returns the user's values only.
function serverSettings() {
  const config = vscode.workspace.getConfiguration('perturb');
  const configured = config.get('server.path', 'perturb');
  const args = config.get('server.args', []);
  return {
    command: expandHome(typeof configured === 'string' && configured.trim() ? configured.trim() : 'perturb'),
    extraArgs: Array.isArray(args) ? args.map(String) : [],
  };
}

function expandHome(file) {
  return file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
}

// The executable `command` resolves to (a path, or a name searched on PATH as spawn does), or
// undefined; checked before starting so that a missing binary gets a message that says what to
// set, instead of the client's generic "connection closed" after five failed restarts.
function findExecutable(command, searchPath = process.env.PATH || '') {
  const isExecutableFile = (file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch (error) {
      return false;
    }
  };
  if (command.includes('/') || command.includes(path.sep)) {
    return isExecutableFile(command) ? command : undefined;
  }
  const extensions = process.platform === 'win32' ? ['', '.exe', '.cmd'] : [''];
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    for (const ext of extensions) {
      const candidate = path.join(dir, command + ext);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

// `perturb lsp` speaks LSP on its stdin/stdout. No `transport` is given on purpose: with
// TransportKind.stdio the client would append `--stdio` to the arguments; without one it uses
// the same pipes and passes exactly `lsp` and the user's extra arguments.
function serverOptions(settings) {
  return { command: settings.command, args: ['lsp', ...settings.extraArgs] };
}

function clientOptions() {
  return {
    documentSelector: DOCUMENT_SELECTOR,
    diagnosticCollectionName: 'perturb',
    outputChannel,
  };
}

async function showMissingBinary(command) {
  const where = command.includes('/') ? `"${command}" is not an executable file` : `"${command}" was not found on PATH`;
  const choice = await vscode.window.showErrorMessage(
    `Perturb: the language server was not started: ${where}. Install Perturb (its binary runs ` +
      '`perturb lsp`) or set "perturb.server.path" to the perturb binary, then run "Perturb: Restart Language Server".',
    'Open Settings');
  if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'perturb.server');
  }
}

// Starts a client with the current settings; resolves to the client, or undefined when the
// binary is missing or the server failed to start (the user has been told why).
async function startClient() {
  const settings = serverSettings();
  if (!findExecutable(settings.command)) {
    showMissingBinary(settings.command);
    return undefined;
  }
  try {
    client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions(settings), clientOptions());
    await client.start();
  } catch (error) {
    vscode.window.showErrorMessage(
      `Perturb: \`${settings.command} lsp\` did not start (${error && error.message ? error.message : error}). ` +
        'Is this a perturb built with the language server? See the output channel "Perturb Language Server".');
    return undefined;
  }
  return client;
}

async function stopClient() {
  const running = client;
  client = undefined;
  if (!running) return;
  try {
    await running.stop();
  } catch (error) {
    // A client whose start failed has nothing to stop; the restart goes on either way.
  }
}

// Restarts run one after another (the command and a settings change may overlap), each with
// the settings of its time.
let restarts = Promise.resolve();
function restartClient() {
  restarts = restarts.catch(() => undefined).then(async () => {
    await stopClient();
    return startClient();
  });
  return restarts;
}

async function activate(context) {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
  context.subscriptions.push(
    outputChannel,
    vscode.commands.registerCommand('perturb.restartServer', restartClient),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('perturb.server')) restartClient();
    }));
  await startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate, findExecutable, serverOptions, DOCUMENT_SELECTOR };
