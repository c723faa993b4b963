#pragma once
// The REPL: a thin loop over Session, the same pipeline `perturb run` uses, with tab completion
// of names, keywords and named arguments from the builtins table, :help, :doc, :type, :load, and
// colour when it talks to a terminal.

#include <string>
#include <vector>

#include "interpreter/eval.h"

namespace perturb::lang {

// Reads inputs until :quit or end of input; returns the exit code.
int run_repl(const RunOptions& options);

// :help NAME — the signature, doc line and example of a builtin, or a list of all of them.
std::string help_text(const std::string& name);

// :doc NAME — the long entry of a builtin, as in docs/reference.md, or what a keyword does.
std::string doc_text(const std::string& name);

// The keywords of grammar/Perturb.g4 (generated at build time by cmake/keywords.cmake).
const std::vector<std::string>& grammar_keywords();

// Completions for the word `text` that ends at `line[0, end)`, as the REPL's Tab offers them:
// keywords, builtins and session names; members after `module.` or `value.`; inside a call,
// the callee's named parameters not given yet (`steps:`); REPL commands after ':'.
std::vector<std::string> completions(const std::string& line, size_t end, const std::string& text,
                                     const EnvPtr& globals);

}  // namespace perturb::lang
