" Editing settings for Perturb scripts: # comments, two-space indentation by braces.
if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1
setlocal commentstring=#\ %s
setlocal comments=:#
setlocal formatoptions-=t formatoptions+=croql
setlocal expandtab shiftwidth=2 softtabstop=2
setlocal autoindent smartindent cinwords=
setlocal indentkeys=0{,0},0),0],!^F,o,O
let b:undo_ftplugin = 'setlocal commentstring< comments< formatoptions< expandtab< shiftwidth< softtabstop< autoindent< smartindent< cinwords< indentkeys<'

" Neovim 0.7+: with `let g:perturb_lsp = 1` (init.vim), the language server `perturb lsp` is
" started for each Perturb buffer through Neovim's own LSP client (lua/perturb/lsp.lua); Vim
" users register it with vim-lsp instead (README.md).
if has('nvim-0.7') && get(g:, 'perturb_lsp', 0)
  lua require('perturb.lsp').start()
endif
