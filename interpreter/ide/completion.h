#pragma once
// Completion: what may be written at a position. Inside a call, the callee's named parameters
// not given yet (`PGD(linf, st` → `steps:`, `step:`); after `name.`, a module's members or the
// fields and methods of a value of known kind; otherwise the names in scope, the builtins and
// the keywords. The word before the position filters them (by prefix).

#include <cstddef>
#include <string>
#include <vector>

#include "interpreter/ide/analysis.h"

namespace perturb::lang::ide {

enum class CompletionKind { kKeyword, kFunction, kVariable, kModule, kField, kMethod, kArgument };

struct CompletionItem {
  std::string label;        // "steps:" for a named argument, else the name
  std::string insert_text;  // "steps: "
  CompletionKind kind = CompletionKind::kVariable;
  std::string detail;         // a signature or a kind
  std::string documentation;  // markdown; may be empty
};

struct Completions {
  size_t replace_begin = 0, replace_end = 0;  // the word the items replace (bytes)
  std::vector<CompletionItem> items;          // named arguments first, then by label
};

// Completions at `offset` of `text` (a file at `path`), with the caller's known names.
Completions complete(const std::string& path, const std::string& text, size_t offset,
                     const std::vector<KnownName>& known = {});

}  // namespace perturb::lang::ide
