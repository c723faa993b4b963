#pragma once
// Completion and inspection for the Jupyter kernel: the one seam between the kernel and the
// code that knows the language. For now both call the REPL's functions (repl.h); the language
// server's analysis takes their place behind these two signatures.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/eval.h"

namespace perturb::lang {

// What replaces code[start, end) (byte offsets; end is the cursor).
struct CompletionMatches {
  std::vector<std::string> matches;
  size_t start = 0;
  size_t end = 0;
};

// The completions at byte offset `cursor` of a cell: keywords, builtins and the session's names;
// members after `name.`; inside a call, the named parameters not given yet (`steps:`).
CompletionMatches complete_at(const std::string& code, size_t cursor, const EnvPtr& globals);

// The documentation of the name at byte offset `cursor` (a builtin or a keyword): its signature,
// doc line and example at detail 0, its whole reference entry at detail 1; nullopt when the
// cursor is on nothing documented.
std::optional<std::string> inspect_at(const std::string& code, size_t cursor, int detail_level);

}  // namespace perturb::lang
