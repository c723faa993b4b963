;;; test_emacs.el --- Loads editors/emacs/perturb-mode.el in batch mode and checks it.
;; Run from the repository root: emacs --batch -Q -l tests/editors/test_emacs.el
;; For every golden script: the mode is chosen by auto-mode-alist, fontification runs without an
;; error, and declarations, keywords, strings, numbers and comments get their faces.
;; Also checks indentation of a small block. Exits 1 on a failure.

(setq debug-on-error nil)
(add-to-list 'load-path (expand-file-name "editors/emacs"))
(require 'perturb-mode)

(defvar perturb-test-failures 0)
(defvar perturb-test-checked 0)

(defun perturb-test-fail (fmt &rest args)
  (setq perturb-test-failures (1+ perturb-test-failures))
  (princ (concat "FAIL: " (apply #'format fmt args) "\n")))

(defun perturb-test-face-at (pos)
  (let ((face (get-text-property pos 'face)))
    (if (listp face) (car face) face)))

(defconst perturb-test-expect
  '(("\\_<\\(?:threat\\|attack\\|policy\\|schedule\\)\\_>[ \t]+[A-Za-z_]" . font-lock-type-face)
    ("\\_<\\(?:if\\|for\\|while\\|return\\|let\\|fn\\)\\_>" . font-lock-keyword-face)
    ("\"[^\"\n]*\"" . font-lock-string-face)
    ("#.*$" . font-lock-comment-face)))

(defun perturb-test-file (file)
  (with-temp-buffer
    (insert-file-contents file)
    (setq buffer-file-name (expand-file-name file))
    (set-auto-mode)
    (unless (eq major-mode 'perturb-mode)
      (perturb-test-fail "%s: mode is %s, not perturb-mode" file major-mode))
    (condition-case err
        (font-lock-ensure)
      (error (perturb-test-fail "%s: fontification failed: %S" file err)))
    (dolist (entry perturb-test-expect)
      (goto-char (point-min))
      (while (re-search-forward (car entry) nil t)
        (let* ((start (match-beginning 0))
               (state (save-excursion (syntax-ppss start)))
               (in-string (nth 3 state))
               (in-comment (nth 4 state)))
          ;; Only where the match does not start inside another string or comment, and not an
          ;; empty comment (a lone `#` is all delimiter).
          (unless (or in-string in-comment
                      (and (eq (cdr entry) 'font-lock-comment-face) (= (match-end 0) (1+ start))))
            (setq perturb-test-checked (1+ perturb-test-checked))
            ;; A comment's text after its delimiter; anything else at its first character.
            (let ((face (perturb-test-face-at (if (eq (cdr entry) 'font-lock-comment-face)
                                                   (1- (match-end 0))
                                                 start))))
              (unless (eq face (cdr entry))
                (perturb-test-fail "%s:%d: expected %s at %S, got %S" file
                                   (line-number-at-pos start) (cdr entry)
                                   (buffer-substring start (line-end-position)) face)))))))
    (setq buffer-file-name nil)))

(let ((files (append (directory-files-recursively "tests/golden" "\\.ptb\\'")
                     (and (file-directory-p "docs/lessons")
                          (directory-files "docs/lessons" t "\\.ptb\\'"))
                     (directory-files "examples" t "\\.ptb\\'"))))
  (dolist (file files)
    (unless (string-match-p "binary_garbage" file)
      (perturb-test-file file)))
  ;; Indentation by brace depth.
  (with-temp-buffer
    (perturb-mode)
    (insert "fn f(x) {\nif x > 1 {\nprint(x)\n}\n}\n")
    (indent-region (point-min) (point-max))
    (let ((want "fn f(x) {\n  if x > 1 {\n    print(x)\n  }\n}\n"))
      (unless (equal (buffer-string) want)
        (perturb-test-fail "indentation: got %S" (buffer-string)))))
  (princ (format "emacs: %d scripts, %d highlighted tokens checked, %d failures\n"
                 (length files) perturb-test-checked perturb-test-failures))
  (kill-emacs (if (or (> perturb-test-failures 0) (= perturb-test-checked 0)) 1 0)))
