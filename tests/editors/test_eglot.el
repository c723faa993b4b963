;;; test_eglot.el --- Checks that Eglot starts `perturb lsp' for perturb-mode buffers.
;; Run from the repository root:
;;   PERTURB_BIN=build/perturb emacs --batch -Q -l tests/editors/test_eglot.el
;; 1. Once Eglot is loaded, `eglot-server-programs' maps perturb-mode to `perturb-lsp-command'
;;    (read when a server starts, so a later setting applies), and Eglot's own guess for a .ptb
;;    buffer is that command with the language id "perturb".
;; 2. With PERTURB_BIN whose `perturb lsp' exists: Eglot starts it for a .ptb file and Flymake
;;    shows the diagnostic for an unknown name. Skipped (exit 77) without it.
;; Exits 77 when Eglot is not installed (Emacs 29 has it; Debian 12's Emacs 28: elpa-eglot).

(setq debug-on-error nil)
(add-to-list 'load-path (expand-file-name "editors/emacs"))
(require 'perturb-mode)

;; -Q skips Debian's site start, which puts the elpa-* packages on the load path.
(unless (locate-library "eglot")
  (dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
    (add-to-list 'load-path dir)))
(unless (require 'eglot nil t)
  (princ "skipped: Eglot is not installed (Emacs 29, or apt-get install elpa-eglot); perturb-mode's Eglot entry not tested\n")
  (kill-emacs 77))

(defvar perturb-test-failures 0)
(defvar perturb-test-dir (make-temp-file "perturb-eglot" t))

(defun perturb-test-finish (code)
  (delete-directory perturb-test-dir t)
  (kill-emacs code))

(defmacro perturb-test-check (name &rest body)
  "Run BODY; print ok NAME, or FAIL NAME and the error."
  (declare (indent 1))
  `(condition-case err
       (progn ,@body (princ (format "ok %s\n" ,name)))
     (error (setq perturb-test-failures (1+ perturb-test-failures))
            (princ (format "FAIL %s\n  %S\n" ,name err)))))

(defun perturb-test-assert (condition what &rest args)
  (unless condition (error "%s" (apply #'format what args))))

(defun perturb-test-visit (name text)
  "Visit a new file NAME holding TEXT in the scratch folder; return its buffer."
  (let ((file (expand-file-name name perturb-test-dir)))
    (with-temp-file file (insert text))
    (find-file-noselect file)))

;; Part 1 ---------------------------------------------------------------------------------------

(perturb-test-check "eglot-server-programs maps perturb-mode to perturb-lsp-command"
  (let* ((entry (assoc 'perturb-mode eglot-server-programs))
         (contact (cdr entry)))
    (perturb-test-assert entry "no perturb-mode entry in %S" eglot-server-programs)
    (perturb-test-assert (functionp contact) "the contact is not a function: %S" contact)
    (perturb-test-assert (equal (funcall contact) '("perturb" "lsp")) "default %S" (funcall contact))
    (let ((perturb-lsp-command '("/opt/perturb/bin/perturb" "lsp" "--verbose")))
      (perturb-test-assert (equal (funcall contact t) perturb-lsp-command)
                           "a changed setting is not used: %S" (funcall contact t)))))

(perturb-test-check "Eglot's guess for a .ptb buffer: perturb lsp, language id perturb"
  (with-current-buffer (perturb-test-visit "guess.ptb" "let x = 1\n")
    (perturb-test-assert (eq major-mode 'perturb-mode) "mode %s" major-mode)
    ;; (MANAGED-MODE PROJECT CLASS CONTACT LANG-ID), Eglot 1.9 and Emacs 29 alike.
    (let ((guess (eglot--guess-contact)))
      (perturb-test-assert (equal (nth 3 guess) '("perturb" "lsp")) "contact %S" (nth 3 guess))
      (perturb-test-assert (member "perturb" (flatten-tree (list (nth 4 guess))))
                           "language id %S" (nth 4 guess)))
    (kill-buffer)))

;; Part 2 ---------------------------------------------------------------------------------------

(when (> perturb-test-failures 0) (perturb-test-finish 1))
(defvar perturb-test-bin (getenv "PERTURB_BIN"))
(when (or (null perturb-test-bin) (string= perturb-test-bin ""))
  (princ "skipped: no perturb binary given (PERTURB_BIN), so Eglot was not run against `perturb lsp'\n")
  (perturb-test-finish 77))
(unless (with-temp-buffer
          (and (file-executable-p perturb-test-bin)
               (eq 0 (ignore-errors (call-process perturb-test-bin nil t nil "lsp" "--help")))
               (progn (goto-char (point-min)) (search-forward "lsp" nil t))))
  (princ (format "skipped: %s has no `lsp' command (`perturb lsp --help' failed or does not mention lsp); Eglot was checked without a server\n"
                 perturb-test-bin))
  (perturb-test-finish 77))

(defun perturb-test-wait (predicate seconds)
  "Wait up to SECONDS for PREDICATE to return non-nil, serving the server's output meanwhile."
  (let ((deadline (+ (float-time) seconds)) result)
    (while (and (not (setq result (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    result))

(perturb-test-check "Eglot starts perturb lsp and Flymake shows the unknown name"
  (let ((perturb-lsp-command (list perturb-test-bin "lsp")))
    (with-current-buffer (perturb-test-visit "unknown_name.ptb" "let epsilon = 0.03\nprint(epsilom)\n")
      (apply #'eglot (eglot--guess-contact))
      (perturb-test-assert (perturb-test-wait #'eglot-current-server 10) "no server within 10 s")
      ;; Flymake asks Eglot for its diagnostics on a timer that batch mode may not run: ask now.
      (let ((found (perturb-test-wait (lambda () (flymake-start) (flymake-diagnostics)) 10)))
        (perturb-test-assert found "no diagnostics within 10 s")
        (let* ((diagnostic (car found))
               (text (flymake-diagnostic-text diagnostic))
               (start (flymake-diagnostic-beg diagnostic)))
          (perturb-test-assert (= (length found) 1) "%d diagnostics" (length found))
          (perturb-test-assert (string-match-p "unknown name 'epsilom'" text) "message %S" text)
          (perturb-test-assert (string-match-p "did you mean 'epsilon'" text) "message %S" text)
          (perturb-test-assert (equal (list (line-number-at-pos start) (save-excursion (goto-char start) (current-column)))
                                      '(2 6))
                               "at %S" start)))
      (eglot-shutdown (eglot-current-server)))))

(perturb-test-finish (if (> perturb-test-failures 0) 1 0))
;;; test_eglot.el ends here
