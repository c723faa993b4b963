-- Loads editors/vim into a bare headless Neovim and checks its LSP setup (ftplugin/perturb.vim
-- and lua/perturb/lsp.lua):
-- 1. opening a .ptb file with g:perturb_lsp = 1 starts g:perturb_lsp_cmd (a stand-in server that
--    records its arguments); a missing binary gives one error naming g:perturb_lsp_cmd and no
--    client; without g:perturb_lsp nothing starts.
-- 2. with PERTURB_BIN (the perturb binary) whose `perturb lsp` exists: Neovim's client attaches to
--    a .ptb buffer and receives the diagnostic for an unknown name, none once the buffer is fixed,
--    and :PerturbLspRestart attaches a new server. Skipped (exit 77) without `perturb lsp`.
-- Run from the repository root:
--   PERTURB_BIN=build/perturb nvim --headless -u NONE -i NONE -c "luafile tests/editors/test_nvim_lsp.lua" -c "cquit 1"
vim.opt.runtimepath:prepend(vim.fn.getcwd() .. '/editors/vim')
vim.cmd('filetype plugin on')

local failures = 0
local scratch = vim.fn.tempname()
vim.fn.mkdir(scratch, 'p')

local function say(line)
  io.stdout:write(line .. '\n')
end

local function check(name, body)
  local ok, err = pcall(body)
  if ok then
    say('ok ' .. name)
  else
    failures = failures + 1
    say('FAIL ' .. name .. '\n  ' .. tostring(err))
  end
end

local function finish(code)
  vim.fn.delete(scratch, 'rf')
  io.stdout:flush()
  vim.cmd('cquit ' .. code)
end

local function write_file(path, lines, mode)
  vim.fn.writefile(lines, path)
  if mode then
    vim.fn.setfperm(path, mode)
  end
  return path
end

-- Every notification, to check the error message.
local notes = {}
vim.notify = function(msg, level)
  table.insert(notes, { msg = msg, level = level })
end

local function perturb_clients(bufnr)
  local names = {}
  local attached = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr }) or vim.lsp.buf_get_clients(bufnr)
  for _, client in pairs(attached) do
    if client.name == 'perturb' then
      table.insert(names, client.id)
    end
  end
  return names
end

local function stop_all()
  local ids = require('perturb.lsp').clients()
  vim.lsp.stop_client(ids, true)
  vim.wait(2000, function()
    return #require('perturb.lsp').clients() == 0
  end, 20)
end

local function open(name, lines)
  local path = write_file(scratch .. '/' .. name, lines)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf(), path
end

-- Part 1 --------------------------------------------------------------------------------------

check('without g:perturb_lsp nothing starts', function()
  local bufnr = open('off.ptb', { 'let x = 1' })
  assert(vim.bo[bufnr].filetype == 'perturb', 'filetype ' .. vim.bo[bufnr].filetype)
  assert(#require('perturb.lsp').clients() == 0, 'a client started')
  assert(#notes == 0, 'a message: ' .. vim.inspect(notes))
end)

check('a missing binary: one error naming g:perturb_lsp_cmd, no client', function()
  vim.g.perturb_lsp = 1
  vim.g.perturb_lsp_cmd = { scratch .. '/no-such/perturb', 'lsp' }
  open('missing1.ptb', { 'let x = 1' })
  open('missing2.ptb', { 'let y = 2' })
  assert(#require('perturb.lsp').clients() == 0, 'a client started')
  assert(#notes == 1, 'expected one message, got ' .. vim.inspect(notes))
  assert(notes[1].level == vim.log.levels.ERROR, 'not an error')
  assert(notes[1].msg:find('no-such/perturb', 1, true), notes[1].msg)
  assert(notes[1].msg:find('g:perturb_lsp_cmd', 1, true), notes[1].msg)
end)

check('g:perturb_lsp_cmd is started for a .ptb buffer with its arguments', function()
  local args_file = scratch .. '/args.txt'
  local fake = write_file(scratch .. '/fake-perturb', {
    '#!/bin/sh', 'printf "%s\\n" "$@" > ' .. vim.fn.shellescape(args_file), 'exec cat > /dev/null',
  }, 'rwxr-xr-x')
  vim.g.perturb_lsp_cmd = { fake, 'lsp', '--log', 'debug' }
  local bufnr = open('fake.ptb', { 'let x = 1' })
  assert(vim.wait(5000, function() return vim.fn.filereadable(args_file) == 1 end, 20), 'the server did not run')
  local args = vim.fn.readfile(args_file)
  assert(vim.deep_equal(args, { 'lsp', '--log', 'debug' }), vim.inspect(args))
  -- The ftplugin's client is the one start() returns again for this buffer (one per root).
  local id = require('perturb.lsp').start(bufnr)
  local client = vim.lsp.get_client_by_id(id)
  assert(client and client.name == 'perturb', 'no perturb client ' .. tostring(id))
  vim.lsp.stop_client(id, true)
end)

-- Part 2 --------------------------------------------------------------------------------------

local perturb = os.getenv('PERTURB_BIN') or ''
if failures > 0 then
  finish(1)
end
if perturb == '' then
  say('skipped: no perturb binary given (PERTURB_BIN), so Neovim was not run against `perturb lsp`')
  finish(77)
end
local help = vim.fn.executable(perturb) == 1 and vim.fn.system({ perturb, 'lsp', '--help' }) or ''
if vim.fn.executable(perturb) ~= 1 or vim.v.shell_error ~= 0 or not help:find('lsp', 1, true) then
  say('skipped: ' .. perturb .. ' has no `lsp` command (`perturb lsp --help` failed or does not mention lsp); '
    .. 'Neovim was checked against a stand-in server only')
  finish(77)
end

local function diagnostics_become(bufnr, want, what)
  local ok = vim.wait(10000, function()
    return want(vim.diagnostic.get(bufnr))
  end, 50)
  assert(ok, 'no ' .. what .. ' within 10 s; have ' .. vim.inspect(vim.diagnostic.get(bufnr)))
end

vim.g.perturb_lsp_cmd = { perturb, 'lsp' }
local bufnr = open('unknown_name.ptb', { 'let epsilon = 0.03', 'print(epsilom)' })

check('perturb lsp attaches and reports the unknown name', function()
  assert(vim.wait(10000, function() return #perturb_clients(bufnr) == 1 end, 20), 'not attached within 10 s')
  diagnostics_become(bufnr, function(d) return #d > 0 end, 'diagnostics')
  local d = vim.diagnostic.get(bufnr)
  assert(#d == 1, vim.inspect(d))
  assert(d[1].message:find("unknown name 'epsilom'", 1, true), d[1].message)
  assert(d[1].message:find("did you mean 'epsilon'", 1, true), d[1].message)
  assert(d[1].lnum == 1 and d[1].col == 6, 'at ' .. d[1].lnum .. ':' .. d[1].col)
  assert(d[1].severity == vim.diagnostic.severity.ERROR, 'not an error')
end)

check('an edit that fixes the name clears the diagnostics', function()
  assert(#vim.diagnostic.get(bufnr) == 1, 'no diagnostic to clear')
  vim.api.nvim_buf_set_lines(bufnr, 1, 2, false, { 'print(epsilon)' })
  diagnostics_become(bufnr, function(d) return #d == 0 end, 'empty diagnostics')
end)

check(':PerturbLspRestart attaches a new server', function()
  local before = perturb_clients(bufnr)[1]
  vim.cmd('PerturbLspRestart')
  assert(vim.wait(5000, function()
    local now = perturb_clients(bufnr)
    return #now == 1 and now[1] ~= before
  end, 20), 'no new client: ' .. vim.inspect(perturb_clients(bufnr)))
  vim.api.nvim_buf_set_lines(bufnr, 1, 2, false, { 'print(epsilom)' })
  diagnostics_become(bufnr, function(d) return #d == 1 end, 'diagnostics from the new server')
end)

stop_all()
finish(failures > 0 and 1 or 0)
