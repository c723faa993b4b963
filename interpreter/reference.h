#pragma once
// The reference of every builtin, generated from the one builtins table: docs/reference.md
// (`perturb reference`), the REPL's `:doc NAME`, and a JSON listing for the editor generators
// (`perturb reference --json`).

#include <string>

#include "interpreter/builtins/table.h"

namespace perturb::lang {

// The whole of docs/reference.md: every builtin by group, with signature, parameters and
// defaults, its one-line doc and an example.
std::string reference_markdown();

// What a keyword of the grammar does, with a one-line example: `:doc KEYWORD` and the
// reference's keyword section. Null for a word that is not documented.
struct KeywordDoc {
  std::string what;
  std::string example;
};
const KeywordDoc* keyword_doc(const std::string& keyword);

// One builtin's long entry as plain text for a terminal (`:doc NAME`).
std::string reference_entry_text(const Builtin& builtin);

// Every builtin as JSON: [{"name", "group", "signature", "doc", "example", "planned",
// "params": [{"name", "kinds", "default", "required"}]}], plus the module names.
std::string reference_json();

}  // namespace perturb::lang
