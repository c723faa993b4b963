#pragma once
// Navigation: go to definition, find references, rename of a name the document binds, and the
// document's outline. Definitions of imported modules and their members lead into the module's
// file (for the standard library, see openable_module_path).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/ide/analysis.h"

namespace perturb::lang::ide {

struct Location {
  std::string path;  // analysis.path for the document itself
  LspRange range;
};

// Where the name at `offset` is bound: a `let`, `fn`, `threat`, `attack`, `policy`, `schedule`,
// parameter or loop variable of the document, an import's module, or a module's member.
std::optional<Location> definition(const Analysis& analysis, size_t offset);

// The binding at `offset` (its declaration or any use): every place it is written, as byte
// ranges of analysis.text, in order; the declaration itself when include_declaration.
std::vector<std::pair<size_t, size_t>> references(const Analysis& analysis, size_t offset,
                                                  bool include_declaration);

struct RenameResult {
  std::string error;                              // why it cannot be renamed; empty on success
  std::vector<std::pair<size_t, size_t>> ranges;  // each replaced by the new name
};
// Renames a name the document binds (not a builtin, a keyword or a module's member).
RenameResult rename(const Analysis& analysis, size_t offset, const std::string& new_name);

enum class SymbolKind { kFunction, kVariable, kModule, kObject };

struct DocumentSymbol {
  std::string name;
  std::string detail;  // "threat", "fn(t, steps)", "std.presets"
  SymbolKind kind = SymbolKind::kVariable;
  size_t begin = 0, end = 0;             // the whole declaring line
  size_t name_begin = 0, name_end = 0;   // the name
  std::vector<DocumentSymbol> children;  // a function's parameters and locals
};
std::vector<DocumentSymbol> document_symbols(const Analysis& analysis);

}  // namespace perturb::lang::ide
