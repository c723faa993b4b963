#pragma once
// Hover: what the name under a position is. A builtin's signature, parameters with defaults and
// doc (from the builtins table); a keyword's doc; a variable's kind and where it was declared;
// a module's members; a field of a value of known kind.

#include <cstddef>
#include <optional>
#include <string>

#include "interpreter/ide/analysis.h"

namespace perturb::lang::ide {

struct HoverInfo {
  std::string markdown;
  size_t begin = 0, end = 0;  // the word it describes
};

// Hover at `offset` of analysis.text (use analyze_around for text being typed).
std::optional<HoverInfo> hover(const Analysis& analysis, size_t offset);

// The text of a declaration for hover and completion details: "threat t (line 3)".
std::string describe_declaration(const Analysis& analysis, const Declaration& declaration);

}  // namespace perturb::lang::ide
