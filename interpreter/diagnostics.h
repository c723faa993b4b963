#pragma once
// One format for every error: `file:line:col: error: message`, the source line and a caret,
// then notes and, for runtime errors, the script traceback (innermost call last).

#include <stdexcept>
#include <string>
#include <vector>

#include "interpreter/source.h"

namespace perturb::lang {

// What kind of failure, which decides the process exit code (sysexits).
enum class ErrorClass { kScript, kRuntime, kIo, kInterrupted };

struct TraceEntry {
  std::string function;  // the called function's name
  Span call;             // where it was called
};

struct Diagnostic {
  Span span;
  std::string message;
  std::vector<std::string> notes;
  std::vector<TraceEntry> traceback;  // outermost first
  ErrorClass error_class = ErrorClass::kScript;
};

// Renders one diagnostic; `color` adds ANSI colours for terminals.
std::string render(const Diagnostic& diagnostic, bool color = false);

// Collects diagnostics of a phase so all of a file's errors are reported at once.
class DiagnosticSink {
 public:
  void error(const Span& span, std::string message, std::vector<std::string> notes = {});
  bool has_errors() const { return !diagnostics_.empty(); }
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  std::string render_all(bool color = false) const;

 private:
  std::vector<Diagnostic> diagnostics_;
};

// Thrown by the evaluator; caught by the CLI/REPL, which renders it.
class ScriptError : public std::runtime_error {
 public:
  explicit ScriptError(Diagnostic diagnostic)
      : std::runtime_error(diagnostic.message), diagnostic(std::move(diagnostic)) {}
  Diagnostic diagnostic;
};

[[noreturn]] void throw_runtime_error(const Span& span, const std::string& message,
                                      ErrorClass error_class = ErrorClass::kRuntime);

// The closest candidate by edit distance, for "did you mean"; empty when none is close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace perturb::lang
