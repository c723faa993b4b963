#pragma once
// The checker's and the evaluator's targets start alike: the input parsed, then checked, every
// checker diagnostic located (fuzz_input.h).

#include <optional>

#include "fuzz/fuzz_input.h"
#include "interpreter/check.h"
#include "interpreter/parse.h"

namespace perturb::fuzz {

// The program when it parses and checks without errors, else nullopt.
inline std::optional<lang::Program> checked_program(const uint8_t* data, size_t size) {
  lang::ParseResult parsed = lang::parse(script_from(data, size));
  if (parsed.errors.has_errors()) return std::nullopt;
  lang::Checker checker;
  lang::DiagnosticSink errors;
  checker.check(parsed.program, errors);
  require_located(errors);
  // Rendering reads each span's line back out of the source: it must hold for every error.
  (void)errors.render_all(false);
  if (errors.has_errors()) return std::nullopt;
  return std::move(parsed.program);
}

}  // namespace perturb::fuzz
