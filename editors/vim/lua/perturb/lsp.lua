-- Neovim's built-in LSP client for Perturb: starts the language server `perturb lsp` for
-- perturb buffers (one server per project root) without nvim-lspconfig. Neovim 0.7 and later:
-- vim.lsp.start where it exists (0.8+), else vim.lsp.start_client + buf_attach_client.
--
-- ftplugin/perturb.vim calls start() for each perturb buffer when `g:perturb_lsp` is 1.
-- Settings (Vim script globals, read at each start):
--   g:perturb_lsp_cmd   the server command, a list (default {'perturb', 'lsp'})
-- Commands: :PerturbLspRestart stops the server and starts it again for every perturb buffer.
local M = {}

local DEFAULT_CMD = { 'perturb', 'lsp' }
local clients_by_root = {} -- Neovim 0.7: root folder -> client id, to share one server per root
local warned_missing = false

local function server_cmd()
  local cmd = vim.g.perturb_lsp_cmd
  if type(cmd) == 'string' then
    cmd = { cmd, 'lsp' }
  end
  if type(cmd) ~= 'table' or #cmd == 0 then
    cmd = DEFAULT_CMD
  end
  return cmd
end

-- The nearest folder above the buffer's file holding .git, else the file's own folder.
local function root_dir(bufnr)
  local file = vim.api.nvim_buf_get_name(bufnr)
  local dir = file ~= '' and vim.fn.fnamemodify(file, ':p:h') or vim.fn.getcwd()
  local git = vim.fn.finddir('.git', dir .. ';')
  if git ~= '' then
    return vim.fn.fnamemodify(git, ':p:h:h')
  end
  return dir
end

local function report_missing(cmd)
  if warned_missing then
    return
  end
  warned_missing = true
  vim.notify(string.format(
    "perturb: the language server was not started: '%s' is not an executable on PATH; "
      .. "install Perturb or set g:perturb_lsp_cmd (e.g. let g:perturb_lsp_cmd = ['/path/to/perturb', 'lsp']), "
      .. 'then :PerturbLspRestart', cmd[1]), vim.log.levels.ERROR)
end

local function config(bufnr, cmd)
  return { name = 'perturb', cmd = cmd, root_dir = root_dir(bufnr) }
end

-- Starts (or reuses) the server for buffer bufnr (default: the current one) and attaches it.
-- Returns the client id, or nil when the command is not executable (reported once).
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local cmd = server_cmd()
  if vim.fn.executable(cmd[1]) ~= 1 then
    report_missing(cmd)
    return nil
  end
  local conf = config(bufnr, cmd)
  if vim.lsp.start then
    return vim.lsp.start(conf, { bufnr = bufnr })
  end
  local id = clients_by_root[conf.root_dir]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(conf)
    clients_by_root[conf.root_dir] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

-- The ids of the running perturb clients.
function M.clients()
  local ids = {}
  -- get_clients replaced get_active_clients in Neovim 0.10.
  for _, client in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do
    if client.name == 'perturb' then
      table.insert(ids, client.id)
    end
  end
  return ids
end

-- Stops every perturb server, then starts one again for each loaded perturb buffer (the
-- settings may have changed). Waits up to a second for the old ones to exit.
function M.restart()
  local old = M.clients()
  vim.lsp.stop_client(old)
  vim.wait(1000, function()
    for _, id in ipairs(old) do
      if vim.lsp.get_client_by_id(id) then
        return false
      end
    end
    return true
  end, 20)
  clients_by_root = {}
  warned_missing = false
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].filetype == 'perturb' then
      M.start(bufnr)
    end
  end
end

vim.cmd('command! PerturbLspRestart lua require("perturb.lsp").restart()')

return M
