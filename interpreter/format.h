#pragma once
// perturb fmt: one canonical layout of Perturb code (docs/formatting.md). The AST is printed
// again with the source's comments in place; the source text is read only for what the AST does
// not keep (blank lines, number literals and string escapes as written, one-line blocks).

#include <string>

#include "interpreter/diagnostics.h"
#include "interpreter/source.h"

namespace perturb::lang {

// A line longer than this breaks: a call, list or record then puts one item on each line.
constexpr int kFormatWidth = 100;

struct FormatResult {
  std::string text;       // the formatted source (empty when it does not parse)
  DiagnosticSink errors;  // parse errors: nothing is formatted then
};

FormatResult format_source(const SourcePtr& source);

}  // namespace perturb::lang
