" Loads editors/vim into a bare Vim (vim -es -N -u NONE) and checks, for every golden script,
" that the file type is detected, the syntax file loads without an error, and the syntax groups
" at declarations, keywords, strings, numbers and comments are the expected ones.
" Run from the repository root: vim -es -N -u NONE -i NONE -S tests/editors/test_vim.vim
" Writes its findings to $PERTURB_VIM_LOG; exits 1 (cquit) on a failure.
set nocompatible
let &runtimepath = getcwd() . '/editors/vim,' . &runtimepath
filetype plugin on
syntax on
let s:log = []
let s:failures = 0
let s:checked = 0

function! s:Fail(msg) abort
  call add(s:log, 'FAIL: ' . a:msg)
  let s:failures += 1
endfunction

function! s:GroupAt(lnum, col) abort
  return synIDattr(synID(a:lnum, a:col, 1), 'name')
endfunction

let s:expect = {
      \ '\<\%(threat\|attack\|policy\|schedule\)\>\ze\s\+\h': 'perturbDeclaration',
      \ '\<\%(if\|for\|while\|return\)\>': 'perturbConditional',
      \ '\<let\>': 'perturbStatement',
      \ '"[^"]*"': 'perturbString',
      \ '\%(^\|[^0-9A-Za-z_."]\)\zs\d\+\%(\.\d\+\)\=\>': 'perturbNumber',
      \ '#.*$': 'perturbComment',
      \ }

let s:scripts = sort(glob('tests/golden/**/*.ptb', 0, 1) + glob('docs/lessons/*.ptb', 0, 1) + glob('examples/*.ptb', 0, 1))
for s:file in s:scripts
  if s:file =~# 'binary_garbage'
    continue
  endif
  let v:errmsg = ''
  silent! execute 'edit ' . fnameescape(s:file)
  if &filetype !=# 'perturb'
    call s:Fail(s:file . ': filetype is "' . &filetype . '", not perturb')
  endif
  if !exists('b:current_syntax') || b:current_syntax !=# 'perturb'
    call s:Fail(s:file . ': the perturb syntax did not load')
  endif
  if v:errmsg !=# ''
    call s:Fail(s:file . ': ' . v:errmsg)
  endif
  for s:lnum in range(1, line('$'))
    let s:text = getline(s:lnum)
    for [s:pattern, s:group] in items(s:expect)
      let s:col = match(s:text, s:pattern)
      if s:col < 0
        continue
      endif
      " Only where the pattern is not inside a comment or string of the line's own start.
      let s:here = s:GroupAt(s:lnum, s:col + 1)
      let s:before = s:col > 0 ? s:GroupAt(s:lnum, s:col) : ''
      if s:group !=# 'perturbComment' && s:group !=# 'perturbString' && (s:here ==# 'perturbComment' || s:here ==# 'perturbString')
        continue
      endif
      if s:group ==# 'perturbString' && s:here ==# 'perturbComment'
        continue
      endif
      if s:group ==# 'perturbComment' && (s:before ==# 'perturbString' || s:here ==# 'perturbString')
        continue
      endif
      let s:checked += 1
      if s:here !=# s:group
        call s:Fail(printf('%s:%d:%d: expected %s, got %s in: %s', s:file, s:lnum, s:col + 1, s:group, s:here, s:text))
      endif
    endfor
  endfor
  bwipeout!
endfor
call add(s:log, printf('vim: %d scripts, %d highlighted tokens checked, %d failures', len(s:scripts), s:checked, s:failures))
call writefile(s:log, $PERTURB_VIM_LOG)
if s:failures > 0 || s:checked == 0
  cquit 1
endif
qall!
