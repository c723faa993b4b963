#pragma once
// The REPL: a thin loop over Session, the same pipeline `perturb run` uses.

#include "interpreter/eval.h"

namespace perturb::lang {

// Reads inputs until :quit or end of input; returns the exit code.
int run_repl(const RunOptions& options);

// :help NAME — the signature, doc line and example of a builtin, or a list of all of them.
std::string help_text(const std::string& name);

}  // namespace perturb::lang
