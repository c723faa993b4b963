#pragma once
// Completion and inspection for the Jupyter kernel: the language server's analysis
// (interpreter/ide) on the cell, with the names of earlier cells known.

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

// What the name at byte offset `cursor` is, as an editor's hover says it: a builtin's signature,
// parameters and doc (at detail 1 also its whole reference entry), a keyword's doc, a name's
// kind and where it was bound; nullopt when the cursor is on nothing known.
std::optional<std::string> inspect_at(const std::string& code, size_t cursor, int detail_level,
                                      const EnvPtr& globals);

}  // namespace perturb::lang
