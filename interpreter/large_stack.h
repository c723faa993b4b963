#pragma once
// Parsing, checking and evaluating recurse over the script's nesting, so the interpreter runs on
// a thread with a large stack: a deeply nested script or a deep recursion then ends in a
// diagnostic (the parser's nesting limits, the evaluator's call-depth limit) instead of a stack
// overflow. The command line and the fuzz targets both run scripts so.

#include <functional>

namespace perturb::lang {

// Runs `body` on a thread with a 512 MB stack (reserved, not committed: only what a script uses
// costs memory) and returns its result; runs it on the caller's thread when no such thread can be
// started.
int run_on_large_stack(std::function<int()> body);

}  // namespace perturb::lang
