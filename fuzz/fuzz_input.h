#pragma once
// What the fuzz targets share: the input as a script, and the promise they check beyond "no
// crash": every diagnostic points into the script (no unlocated or internal error).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "interpreter/diagnostics.h"
#include "interpreter/source.h"

namespace perturb::fuzz {

inline lang::SourcePtr script_from(const uint8_t* data, size_t size) {
  return std::make_shared<lang::SourceFile>("fuzz.ptb",
                                            std::string(reinterpret_cast<const char*>(data), size));
}

// Aborts (a finding) when a diagnostic has no position in the script or says "internal error".
inline void require_located(const lang::Diagnostic& diagnostic) {
  const bool located =
      diagnostic.span.file && diagnostic.span.line >= 1 && diagnostic.span.column >= 1;
  const bool internal = diagnostic.message.rfind("internal error", 0) == 0;
  if (located && !internal) return;
  std::fprintf(stderr, "unlocated or internal diagnostic: %s\n", diagnostic.message.c_str());
  std::abort();
}

inline void require_located(const lang::DiagnosticSink& sink) {
  for (const auto& diagnostic : sink.diagnostics()) require_located(diagnostic);
}

}  // namespace perturb::fuzz
