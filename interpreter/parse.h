#pragma once
// Source text → owned AST. The only part of Perturb that sees ANTLR.

#include <unordered_map>

#include "interpreter/ast.h"
#include "interpreter/diagnostics.h"

namespace perturb::lang {

// A `# ...` comment: the parser skips them, tools that print code again (the formatter) keep
// them. `text` starts at the '#' and ends before the line break.
struct Comment {
  std::string text;
  Span span;
};

// Where a piece of syntax begins and ends: the spans of its first and last tokens. The AST keeps
// only where a node starts; the formatter also needs where it ends (to tell a comment inside a
// call from one after it) and where a block's braces are.
struct Extent {
  Span first, last;
};

struct ParseResult {
  Program program;
  DiagnosticSink errors;
  // The input ended while something was still open (a bracket, a block, a call): the REPL
  // keeps reading instead of reporting an error.
  bool incomplete = false;
  // Every comment of the source, in order.
  std::vector<Comment> comments;
  // The extent of each expression and statement of `program` (keyed by the node) and of each
  // block (keyed by its statement list: &IfStmt::then_body, &FunctionDecl::body, ...).
  std::unordered_map<const void*, Extent> extents;
};

ParseResult parse(SourcePtr source);

}  // namespace perturb::lang
