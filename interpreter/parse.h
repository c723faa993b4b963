#pragma once
// Source text → owned AST. The only part of Perturb that sees ANTLR.

#include "interpreter/ast.h"
#include "interpreter/diagnostics.h"

namespace perturb::lang {

struct ParseResult {
  Program program;
  DiagnosticSink errors;
  // The input ended while something was still open (a bracket, a block, a call): the REPL
  // keeps reading instead of reporting an error.
  bool incomplete = false;
};

ParseResult parse(SourcePtr source);

}  // namespace perturb::lang
