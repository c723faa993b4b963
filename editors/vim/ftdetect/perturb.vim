" Perturb scripts end in .ptb.
autocmd BufRead,BufNewFile *.ptb setfiletype perturb
